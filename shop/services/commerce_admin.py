"""Coupons, shipping methods and tax rates: the owner's use cases for the rules that price an order."""
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from shop.checkout.countries import COUNTRIES, REGIONS, country_name, region_name
from shop.database import write_transaction
from shop.extensions import db
from shop.models import (
    MONEY_TAKEN,
    Category,
    Coupon,
    CouponKind,
    Order,
    Product,
    ShippingMethod,
    ShippingZone,
    TaxRate,
    User,
    coupon_categories,
    coupon_products,
    lengths,
)
from shop.money import MAX_AMOUNT, format_money, parse_money
from shop.services import NotFound, ShopError, audit, store_settings
from shop.services.catalog import Page
from shop.services.ordering import move_one_place
from shop.services.taxonomy import FieldRefusal, Saved
from shop.text import storable

COUPON_KINDS = {CouponKind.PERCENT: "Percentage off", CouponKind.FIXED: "Fixed amount off"}
COUPON_STATUSES = {"": "Any status", "active": "Active", "scheduled": "Not started yet", "expired": "Expired",
                   "inactive": "Deactivated"}
COUPON_SORTS = {"newest": "Newest", "code": "Code, A to Z", "uses": "Most used", "revenue": "Most revenue"}
TAX_STATUSES = {"": "Any status", "active": "Active", "inactive": "Deactivated"}
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]*\Z")
MAX_LIMIT = 1_000_000  # uses of one coupon: far beyond any campaign, well within an integer column
MAX_ZONES = 300
MAX_RATE_BP = 10_000  # 100 %
PRODUCT_MATCHES = 30  # products the coupon form's search offers at once
MAX_RESTRICTIONS = 500  # categories or products one coupon may name


def _require_owner(actor: User) -> None:
    # The admin gate already keeps staff out; the money rules refuse them here too, whoever calls.
    if not actor.is_owner:
        raise ShopError("Only an owner can change coupons, shipping and tax.")


def _currency() -> str:
    return current_app.config["CURRENCY"]


def _flush_unique(field_name: str, message: str) -> None:
    """Flush; a unique value a concurrent writer took first becomes a refusal next to the field."""
    try:
        db.session.flush()
    except IntegrityError as error:
        raise FieldRefusal(field_name, message) from error


def _label(text: str, field_name: str, what: str, max_length: int) -> str:
    text = (text or "").strip()
    if not text:
        raise FieldRefusal(field_name, f"Please enter the {what}.")
    if len(text) > max_length:
        raise FieldRefusal(field_name, f"The {what} can be at most {max_length} characters long.")
    if not storable(text):
        raise FieldRefusal(field_name, f"The {what} contains characters we cannot store.")
    return text


def _limit(value: int | None, field_name: str, what: str) -> int | None:
    if value is None:
        return None
    if not 1 <= value <= MAX_LIMIT:
        raise FieldRefusal(field_name, f"The {what} must be a whole number from 1 to {MAX_LIMIT:,}, or empty "
                                       "for no limit.")
    return value


def _money(cents: int | None, field_name: str, what: str) -> int | None:
    if cents is not None and not 0 <= cents <= MAX_AMOUNT:
        raise FieldRefusal(field_name, f"The {what} can be at most {format_money(MAX_AMOUNT, _currency())}.")
    return cents


# --- Places: countries, and the regions of the countries whose addresses list them -------------------


def place_code(country: str, region: str) -> str:
    """Return how the forms write a place: "GB", or "US-CA" for a region."""
    return f"{country}-{region}" if region else country


def place_name(country: str, region: str) -> str:
    """Return a place in words: "United Kingdom", or "California, United States"."""
    return f"{region_name(country, region)}, {country_name(country)}" if region else country_name(country)


def parse_place(code: str, field_name: str) -> tuple[str, str]:
    """Return (country, region) for "GB" or "US-CA", refusing codes the shop does not know."""
    code = code.strip().upper()
    country, _, region = code.partition("-")
    if country not in COUNTRIES:
        raise FieldRefusal(field_name, f"“{code[:12]}” is not a country code the shop knows (use two letters, "
                                       "such as GB or US).")
    if not region:
        return country, ""
    if country not in REGIONS:
        raise FieldRefusal(field_name, f"{country_name(country)} has no regions to choose from; use {country} for "
                                       "the whole country (only the United States, Canada and Australia have them).")
    if region not in REGIONS[country]:
        raise FieldRefusal(field_name, f"“{code[:12]}” is not a region of {country_name(country)} (for example "
                                       f"{country}-{next(iter(REGIONS[country]))}).")
    return country, region


def place_choices() -> list[tuple[str, str]]:
    """Return every place a tax rate can cover, as (code, name): each country, and each listed region after it."""
    choices = []
    for country, name in sorted(COUNTRIES.items(), key=lambda item: item[1]):
        choices.append((country, name))
        choices.extend((place_code(country, code), f"{name}: {region}") for code, region in
                       REGIONS.get(country, {}).items())
    return choices


# --- Coupons ----------------------------------------------------------------------------------------


@dataclass
class CouponFields:
    code: str
    kind: str
    amount: str  # as typed: a whole percent, or a sum of money
    free_shipping: bool = False
    min_subtotal_cents: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None  # the last day it works
    usage_limit: int | None = None
    per_customer_limit: int | None = None
    category_ids: list[int] = field(default_factory=list)
    product_ids: list[int] = field(default_factory=list)


@dataclass
class CouponRow:
    coupon: Coupon
    uses: int  # paid orders that carry the code
    revenue_cents: int  # their totals less what was refunded
    restricted: bool  # the discount applies to some categories or products only


COUPON_LABELS = {
    "code": "code", "kind": "kind", "value": "amount", "free_shipping": "free shipping",
    "min_subtotal_cents": "minimum subtotal", "starts_at": "start date", "ends_at": "end date",
    "usage_limit": "usage limit", "per_customer_limit": "per-customer limit", "categories": "categories",
    "products": "products", "is_active": "active flag",
}


def coupon_status(coupon: Coupon, now: datetime | None = None) -> str:
    """Return "inactive", "scheduled", "expired", "used up" or "active" as a shopper would find the coupon now."""
    now = now or datetime.now(UTC)
    if not coupon.is_active:
        return "inactive"
    if coupon.starts_at is not None and now < coupon.starts_at:
        return "scheduled"
    if coupon.ends_at is not None and now >= coupon.ends_at:
        return "expired"
    if coupon.usage_limit is not None and coupon.times_used >= coupon.usage_limit:
        return "used up"
    return "active"


def last_day(coupon: Coupon) -> date | None:
    """Return the last day (UTC) a coupon works: the day before the moment it ends."""
    return (coupon.ends_at - timedelta(days=1)).date() if coupon.ends_at else None


def coupon_list(term: str, status: str, sort: str, page: int, per_page: int) -> Page:
    """Return a page of coupons with their uses and revenue from paid orders, summed in SQL: two statements."""
    now = datetime.now(UTC)
    conditions: list[Any] = [Coupon.code.icontains(term.upper(), autoescape=True)] if term else []
    started = sa.or_(Coupon.starts_at.is_(None), Coupon.starts_at <= now)
    not_ended = sa.or_(Coupon.ends_at.is_(None), Coupon.ends_at > now)
    by_status: dict[str, list[Any]] = {
        "active": [Coupon.is_active.is_(True), started, not_ended],
        "scheduled": [Coupon.is_active.is_(True), Coupon.starts_at > now],
        "expired": [Coupon.is_active.is_(True), Coupon.ends_at <= now],
        "inactive": [Coupon.is_active.is_(False)],
    }
    conditions += by_status.get(status, [])
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Coupon).where(*conditions)) or 0
    page = min(page, max(1, -(-total // per_page)))
    sales = (sa.select(Order.coupon_code.label("code"), sa.func.count().label("uses"),
                       sa.func.sum(Order.total_cents - Order.refunded_cents).label("revenue"))
             .where(Order.coupon_code.is_not(None), Order.payment_status.in_(MONEY_TAKEN))
             .group_by(Order.coupon_code).subquery())
    uses = sa.func.coalesce(sales.c.uses, 0)
    revenue = sa.func.coalesce(sales.c.revenue, 0)
    order = {
        "code": (Coupon.code.asc(),),
        "uses": (uses.desc(), Coupon.code.asc()),
        "revenue": (revenue.desc(), Coupon.code.asc()),
    }.get(sort, (Coupon.created_at.desc(), Coupon.id.desc()))
    restricted = sa.or_(sa.exists().where(coupon_categories.c.coupon_id == Coupon.id),
                        sa.exists().where(coupon_products.c.coupon_id == Coupon.id))
    rows = db.session.execute(
        sa.select(Coupon, uses, revenue, restricted).outerjoin(sales, sales.c.code == Coupon.code).where(*conditions)
        .order_by(*order).limit(per_page).offset((page - 1) * per_page)
    )
    return Page(items=[CouponRow(coupon, count, int(cents), bool(limited)) for coupon, count, cents, limited in rows],
                page=page, per_page=per_page, total=total)


def coupon_for_edit(coupon_id: int) -> Coupon | None:
    """Return the coupon with its categories and products, or None."""
    return db.session.scalar(sa.select(Coupon).where(Coupon.id == coupon_id).options(
        selectinload(Coupon.categories), selectinload(Coupon.products)))


def coupon_category_choices() -> list[tuple[int, str]]:
    """Return every category as (id, "Parent › Child") in name order, for the coupon's restriction list."""
    categories = list(db.session.execute(sa.select(Category.id, Category.name, Category.parent_id)))
    by_id = {category_id: (name, parent_id) for category_id, name, parent_id in categories}

    def path(category_id: int) -> str:
        names: list[str] = []
        seen: set[int] = set()
        current: int | None = category_id
        while current in by_id and current not in seen:
            seen.add(current)
            name, parent = by_id[current]
            names.append(name)
            current = parent
        return " › ".join(reversed(names))

    return sorted(((category_id, path(category_id)) for category_id in by_id), key=lambda item: item[1].casefold())


def coupon_product_choices(selected_ids: Iterable[int], search: str) -> tuple[list[Product], list[Product]]:
    """Return the chosen products, and up to 30 others whose name or slug holds the search text: one statement each."""
    selected_ids = list(dict.fromkeys(selected_ids))[:MAX_RESTRICTIONS]
    chosen = list(db.session.scalars(sa.select(Product).where(Product.id.in_(selected_ids)).order_by(Product.name)
                                     )) if selected_ids else []
    search = search.strip()[:100]
    matches: list[Product] = []
    if search:
        query = (sa.select(Product).where(sa.or_(Product.name.icontains(search, autoescape=True),
                                                 Product.slug.icontains(search, autoescape=True)))
                 .order_by(Product.name, Product.id).limit(PRODUCT_MATCHES))
        if selected_ids:
            query = query.where(Product.id.not_in(selected_ids))
        matches = list(db.session.scalars(query))
    return chosen, matches


def create_coupon(actor: User, fields: CouponFields) -> Saved:
    """Add a coupon; a code that exists already is refused next to the field."""
    _require_owner(actor)
    with write_transaction():
        values = _coupon_values(fields, exclude_id=None)
        categories, products = values.pop("categories"), values.pop("products")
        coupon = Coupon(**values, categories=categories, products=products)
        db.session.add(coupon)
        _flush_unique("code", f"The code {coupon.code} was taken a moment ago; choose another.")
        changes = audit.changed_fields({}, _coupon_state(coupon))
        audit.record(actor, "coupon.create", "coupon", coupon.id, f"Created coupon {coupon.code}", changes)
        return Saved(coupon.id, coupon.code, _labels(changes, COUPON_LABELS))


def update_coupon(actor: User, coupon_id: int, fields: CouponFields) -> Saved:
    """Change a coupon's rules; its code only while no order carries it (orders name their coupon by code)."""
    _require_owner(actor)
    with write_transaction():
        coupon = db.session.scalar(sa.select(Coupon).where(Coupon.id == coupon_id).with_for_update())
        if coupon is None:
            raise NotFound()
        values = _coupon_values(fields, exclude_id=coupon_id)
        if values["code"] != coupon.code and db.session.scalar(
                sa.select(Order.id).where(Order.coupon_code == coupon.code).limit(1)) is not None:
            raise FieldRefusal("code", f"Orders already name the code {coupon.code}, so it cannot change: "
                                       "deactivate this coupon and create one with the new code instead.")
        before = _coupon_state(coupon)
        for name, value in values.items():
            setattr(coupon, name, value)
        _flush_unique("code", f"The code {coupon.code} was taken a moment ago; choose another.")
        changes = audit.changed_fields(before, _coupon_state(coupon))
        if changes:
            audit.record(actor, "coupon.update", "coupon", coupon.id,
                         f"Changed {', '.join(_labels(changes, COUPON_LABELS))} of coupon {coupon.code}", changes)
        return Saved(coupon.id, coupon.code, _labels(changes, COUPON_LABELS))


def set_coupon_active(actor: User, coupon_id: int, active: bool) -> tuple[str, bool]:
    """Deactivate a coupon (shoppers can no longer use it) or activate it again; return its code and if it changed."""
    _require_owner(actor)
    with write_transaction():
        coupon = db.session.scalar(sa.select(Coupon).where(Coupon.id == coupon_id).with_for_update())
        if coupon is None:
            raise NotFound()
        if coupon.is_active == active:
            return coupon.code, False
        coupon.is_active = active
        audit.record(actor, "coupon.activate" if active else "coupon.deactivate", "coupon", coupon.id,
                     f"{'Activated' if active else 'Deactivated'} coupon {coupon.code}",
                     {"is_active": [not active, active]})
        return coupon.code, True


def _coupon_values(fields: CouponFields, exclude_id: int | None) -> dict[str, Any]:
    code = _label(fields.code, "code", "code", lengths.COUPON_CODE).upper()
    if not CODE_PATTERN.match(code):
        raise FieldRefusal("code", "A code has letters, digits, hyphens and underscores, with no spaces "
                                   "(e.g. SPRING-10).")
    clash = sa.select(Coupon.id).where(Coupon.code == code)
    if exclude_id is not None:
        clash = clash.where(Coupon.id != exclude_id)
    if db.session.scalar(clash) is not None:
        raise FieldRefusal("code", f"Another coupon already has the code {code}; choose another.")
    if fields.kind not in COUPON_KINDS:
        raise FieldRefusal("kind", "Choose a percentage or a fixed amount.")
    value = _coupon_value(fields.kind, fields.amount)
    if value == 0 and not fields.free_shipping:
        raise FieldRefusal("amount", "A coupon that takes nothing off must at least make shipping free.")
    if fields.starts_on and fields.ends_on and fields.ends_on < fields.starts_on:
        raise FieldRefusal("ends_on", "The last day cannot be before the first day.")
    return {
        "code": code, "kind": fields.kind, "value": value, "free_shipping": bool(fields.free_shipping),
        "min_subtotal_cents": _money(fields.min_subtotal_cents, "min_subtotal", "minimum subtotal") or 0,
        "starts_at": _day_start(fields.starts_on),
        # A coupon works through its last day: it ends when the next day begins.
        "ends_at": _day_start(fields.ends_on + timedelta(days=1)) if fields.ends_on else None,
        "usage_limit": _limit(fields.usage_limit, "usage_limit", "usage limit"),
        "per_customer_limit": _limit(fields.per_customer_limit, "per_customer_limit", "per-customer limit"),
        "categories": _rows(Category, fields.category_ids, "category_ids", "categories"),
        "products": _rows(Product, fields.product_ids, "product_ids", "products"),
    }


def _coupon_value(kind: str, amount: str) -> int:
    amount = (amount or "").strip()
    if not amount:
        raise FieldRefusal("amount", "Please enter how much the coupon takes off (0 for a free-shipping coupon).")
    if kind == CouponKind.PERCENT:
        number = amount.removesuffix("%").strip()
        if not (number.isascii() and number.isdigit() and len(number) <= 3 and int(number) <= 100):
            raise FieldRefusal("amount", "A percentage is a whole number from 0 to 100.")
        return int(number)
    try:
        return parse_money(amount, _currency())
    except ValueError as error:
        raise FieldRefusal("amount", str(error)) from None


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


def _rows(model, ids: list[int], field_name: str, what: str) -> list:
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_RESTRICTIONS:
        raise FieldRefusal(field_name, f"A coupon can name at most {MAX_RESTRICTIONS} {what}.")
    if not ids:
        return []
    rows = list(db.session.scalars(sa.select(model).where(model.id.in_(ids)).order_by(model.name)))
    if len(rows) != len(ids):
        raise FieldRefusal(field_name, f"Some of the chosen {what} no longer exist; choose again.")
    return rows


def _coupon_state(coupon: Coupon) -> dict[str, Any]:
    return {
        "code": coupon.code, "kind": coupon.kind, "value": coupon.value, "free_shipping": coupon.free_shipping,
        "min_subtotal_cents": coupon.min_subtotal_cents,
        "starts_at": coupon.starts_at.isoformat() if coupon.starts_at else None,
        "ends_at": coupon.ends_at.isoformat() if coupon.ends_at else None,
        "usage_limit": coupon.usage_limit, "per_customer_limit": coupon.per_customer_limit,
        "categories": sorted(category.name for category in coupon.categories),
        "products": sorted(product.name for product in coupon.products),
        "is_active": coupon.is_active,
    }


# --- Shipping methods -------------------------------------------------------------------------------


@dataclass
class ShippingFields:
    name: str
    price_cents: int | None
    free_over_cents: int | None = None
    places: str = ""  # codes separated by commas or lines: "GB, FR, US-CA"; empty is everywhere


@dataclass
class ShippingRow:
    method: ShippingMethod
    is_first: bool
    is_last: bool


SHIPPING_LABELS = {"name": "name", "price_cents": "price", "free_over_cents": "free-over threshold",
                   "zones": "where it is offered", "is_active": "active flag"}


def shipping_list(page: int, per_page: int) -> Page:
    """Return a page of shipping methods in checkout order, zones loaded with them: two statements."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(ShippingMethod)) or 0
    page = min(page, max(1, -(-total // per_page)))
    methods = list(db.session.scalars(
        sa.select(ShippingMethod).options(selectinload(ShippingMethod.zones))
        .order_by(ShippingMethod.position, ShippingMethod.id).limit(per_page).offset((page - 1) * per_page)))
    first = (page - 1) * per_page
    rows = [ShippingRow(method, first + index == 0, first + index == total - 1) for index, method in enumerate(methods)]
    return Page(items=rows, page=page, per_page=per_page, total=total)


def shipping_method_for_edit(method_id: int) -> ShippingMethod | None:
    """Return the shipping method with its zones, or None."""
    return db.session.scalar(sa.select(ShippingMethod).where(ShippingMethod.id == method_id)
                             .options(selectinload(ShippingMethod.zones)))


def active_shipping_count() -> int:
    """Return how many shipping methods checkout may offer."""
    return db.session.scalar(sa.select(sa.func.count()).where(ShippingMethod.is_active.is_(True))) or 0


def zones_text(method: ShippingMethod) -> str:
    """Return a method's zones as the form writes them: "GB, US-CA"."""
    return ", ".join(place_code(zone.country, zone.region) for zone in method.zones)


def parse_places(text: str) -> list[tuple[str, str]]:
    """Return the (country, region) pairs typed as codes separated by commas, spaces or lines, without repeats."""
    codes = [code for code in re.split(r"[\s,;]+", text or "") if code]
    if len(codes) > MAX_ZONES:
        raise FieldRefusal("places", f"A method can list at most {MAX_ZONES} places.")
    places = list(dict.fromkeys(parse_place(code, "places") for code in codes))
    # A whole country already covers its regions.
    countries = {country for country, region in places if not region}
    return [(country, region) for country, region in places if not region or country not in countries]


def create_shipping_method(actor: User, fields: ShippingFields) -> Saved:
    """Add a shipping method, offered last."""
    _require_owner(actor)
    with write_transaction():
        values = _shipping_values(fields)
        places = values.pop("places")
        highest = db.session.scalar(sa.select(sa.func.max(ShippingMethod.position)))
        method = ShippingMethod(**values, position=0 if highest is None else highest + 1,
                                zones=[ShippingZone(country=country, region=region) for country, region in places])
        db.session.add(method)
        db.session.flush()
        changes = audit.changed_fields({}, _shipping_state(method))
        audit.record(actor, "shipping_method.create", "shipping_method", method.id,
                     f"Created shipping method {method.name}", changes)
        return Saved(method.id, method.name, _labels(changes, SHIPPING_LABELS))


def update_shipping_method(actor: User, method_id: int, fields: ShippingFields) -> Saved:
    """Change a shipping method's name, prices and where it is offered."""
    _require_owner(actor)
    with write_transaction():
        method = db.session.scalar(sa.select(ShippingMethod).where(ShippingMethod.id == method_id)
                                   .options(selectinload(ShippingMethod.zones)).with_for_update())
        if method is None:
            raise NotFound()
        values = _shipping_values(fields)
        places = values.pop("places")
        before = _shipping_state(method)
        for name, value in values.items():
            setattr(method, name, value)
        kept = {(zone.country, zone.region): zone for zone in method.zones}
        method.zones = [kept.get(place) or ShippingZone(country=place[0], region=place[1]) for place in places]
        db.session.flush()
        changes = audit.changed_fields(before, _shipping_state(method))
        if changes:
            audit.record(actor, "shipping_method.update", "shipping_method", method.id,
                         f"Changed {', '.join(_labels(changes, SHIPPING_LABELS))} of shipping method {method.name}",
                         changes)
        return Saved(method.id, method.name, _labels(changes, SHIPPING_LABELS))


def move_shipping_method(actor: User, method_id: int, direction: str) -> tuple[str, bool]:
    """Move a method one place up or down in the order checkout offers them; return its name and whether it moved."""
    _require_owner(actor)
    if direction not in ("up", "down"):
        raise ShopError("Choose whether to move the method up or down.")
    with write_transaction():
        # Every method is locked, in one order, so two moves at once cannot leave positions tangled.
        methods = list(db.session.scalars(sa.select(ShippingMethod).order_by(ShippingMethod.position,
                                                                             ShippingMethod.id).with_for_update()))
        method = next((row for row in methods if row.id == method_id), None)
        if method is None:
            raise NotFound()
        before = method.position
        if not move_one_place(methods, method, direction):
            return method.name, False
        audit.record(actor, "shipping_method.reorder", "shipping_method", method.id,
                     f"Moved shipping method {method.name} {direction}", {"position": [before, method.position]})
        return method.name, True


def set_shipping_method_active(actor: User, method_id: int, active: bool) -> tuple[str, bool]:
    """Stop offering a shipping method at checkout, or offer it again; return its name and whether it changed."""
    _require_owner(actor)
    with write_transaction():
        method = db.session.scalar(sa.select(ShippingMethod).where(ShippingMethod.id == method_id).with_for_update())
        if method is None:
            raise NotFound()
        if method.is_active == active:
            return method.name, False
        method.is_active = active
        audit.record(actor, "shipping_method.activate" if active else "shipping_method.deactivate",
                     "shipping_method", method.id,
                     f"{'Activated' if active else 'Deactivated'} shipping method {method.name}",
                     {"is_active": [not active, active]})
        return method.name, True


def _shipping_values(fields: ShippingFields) -> dict[str, Any]:
    if fields.price_cents is None:
        raise FieldRefusal("price", "Please enter the price (0 for free shipping).")
    return {
        "name": _label(fields.name, "name", "name", lengths.SHIPPING_METHOD_NAME),
        "price_cents": _money(fields.price_cents, "price", "price"),
        "free_over_cents": _money(fields.free_over_cents, "free_over", "free-over threshold"),
        "places": parse_places(fields.places),
    }


def _shipping_state(method: ShippingMethod) -> dict[str, Any]:
    return {"name": method.name, "price_cents": method.price_cents, "free_over_cents": method.free_over_cents,
            "zones": [place_code(zone.country, zone.region) for zone in method.zones], "is_active": method.is_active}


# --- Tax rates --------------------------------------------------------------------------------------


@dataclass
class TaxFields:
    place: str  # "GB", or "US-CA" for a region
    label: str
    percent: str  # as typed: "8.25"


TAX_LABELS = {"country": "country", "region": "region", "label": "label", "rate_bp": "rate", "is_active": "active flag"}


def tax_list(country: str, status: str, page: int, per_page: int) -> Page:
    """Return a page of tax rates by country, the country's own rate before its regions': two statements."""
    conditions: list[Any] = [TaxRate.country == country] if country else []
    if status in ("active", "inactive"):
        conditions.append(TaxRate.is_active.is_(status == "active"))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(TaxRate).where(*conditions)) or 0
    page = min(page, max(1, -(-total // per_page)))
    rates = list(db.session.scalars(sa.select(TaxRate).where(*conditions)
                                    .order_by(TaxRate.country, TaxRate.region, TaxRate.id)
                                    .limit(per_page).offset((page - 1) * per_page)))
    return Page(items=rates, page=page, per_page=per_page, total=total)


def tax_rate_for_edit(rate_id: int) -> TaxRate | None:
    """Return the tax rate, or None."""
    return db.session.get(TaxRate, rate_id)


def percent_text(rate_bp: int) -> str:
    """Return basis points as the percent an owner types: 825 -> "8.25", 2000 -> "20"."""
    whole, hundredths = divmod(rate_bp, 100)
    return f"{whole}.{hundredths:02d}".rstrip("0").rstrip(".") if hundredths else str(whole)


def parse_percent(text: str) -> int:
    """Return a percent typed with up to two decimals ("8.25", "20 %") in basis points, or refuse it."""
    number = (text or "").strip().removesuffix("%").strip().replace(",", ".")
    whole, dot, fraction = number.partition(".")
    if not number or not (whole or "0").isascii() or not (whole or "0").isdigit() or len(whole) > 3 \
            or (dot and not (fraction.isascii() and fraction.isdigit())) or len(fraction) > 2:
        raise FieldRefusal("percent", "Enter the rate as a percent with at most two decimals, such as 8.25.")
    rate_bp = int(whole or "0") * 100 + int(fraction.ljust(2, "0") or "0")
    if rate_bp > MAX_RATE_BP:
        raise FieldRefusal("percent", "A tax rate is at most 100 %.")
    return rate_bp


def create_tax_rate(actor: User, fields: TaxFields) -> Saved:
    """Add a tax rate for a country, or for one region of it; a place with a rate already is refused."""
    _require_owner(actor)
    with write_transaction():
        values = _tax_values(fields, exclude_id=None)
        rate = TaxRate(**values)
        db.session.add(rate)
        _flush_unique("place", f"{place_name(rate.country, rate.region)} was given a rate a moment ago.")
        changes = audit.changed_fields({}, _tax_state(rate))
        name = place_name(rate.country, rate.region)
        audit.record(actor, "tax_rate.create", "tax_rate", rate.id,
                     f"Created tax rate {rate.label} {percent_text(rate.rate_bp)} % for {name}", changes)
        return Saved(rate.id, name, _labels(changes, TAX_LABELS))


def update_tax_rate(actor: User, rate_id: int, fields: TaxFields) -> Saved:
    """Change a tax rate; placed orders keep the rate they were charged."""
    _require_owner(actor)
    with write_transaction():
        rate = db.session.scalar(sa.select(TaxRate).where(TaxRate.id == rate_id).with_for_update())
        if rate is None:
            raise NotFound()
        values = _tax_values(fields, exclude_id=rate_id)
        before = _tax_state(rate)
        for name, value in values.items():
            setattr(rate, name, value)
        name = place_name(rate.country, rate.region)
        _flush_unique("place", f"{name} was given a rate a moment ago.")
        changes = audit.changed_fields(before, _tax_state(rate))
        if changes:
            audit.record(actor, "tax_rate.update", "tax_rate", rate.id,
                         f"Changed {', '.join(_labels(changes, TAX_LABELS))} of the tax rate for {name}", changes)
        return Saved(rate.id, name, _labels(changes, TAX_LABELS))


def set_tax_rate_active(actor: User, rate_id: int, active: bool) -> tuple[str, bool]:
    """Stop charging a tax rate, or charge it again; return its place's name and whether it changed."""
    _require_owner(actor)
    with write_transaction():
        rate = db.session.scalar(sa.select(TaxRate).where(TaxRate.id == rate_id).with_for_update())
        if rate is None:
            raise NotFound()
        name = place_name(rate.country, rate.region)
        if rate.is_active == active:
            return name, False
        rate.is_active = active
        audit.record(actor, "tax_rate.activate" if active else "tax_rate.deactivate", "tax_rate", rate.id,
                     f"{'Activated' if active else 'Deactivated'} the tax rate for {name}",
                     {"is_active": [not active, active]})
        return name, True


def save_tax_settings(actor: User, prices_include_tax: bool, tax_shipping: bool) -> dict[str, list[Any]]:
    """Store whether prices are entered including tax and whether shipping is taxed; return what changed."""
    _require_owner(actor)
    return store_settings.save(actor, {"prices_include_tax": bool(prices_include_tax),
                                       "tax_shipping": bool(tax_shipping)})


def _tax_values(fields: TaxFields, exclude_id: int | None) -> dict[str, Any]:
    country, region = parse_place(fields.place or "", "place")
    clash = sa.select(TaxRate.id).where(TaxRate.country == country, TaxRate.region == region)
    if exclude_id is not None:
        clash = clash.where(TaxRate.id != exclude_id)
    if db.session.scalar(clash) is not None:
        raise FieldRefusal("place", f"{place_name(country, region)} already has a tax rate: edit that one instead.")
    return {"country": country, "region": region, "label": _label(fields.label, "label", "label", lengths.TAX_LABEL),
            "rate_bp": parse_percent(fields.percent)}


def _tax_state(rate: TaxRate) -> dict[str, Any]:
    return {"country": rate.country, "region": rate.region, "label": rate.label, "rate_bp": rate.rate_bp,
            "is_active": rate.is_active}


def _labels(changes: dict, labels: dict[str, str]) -> list[str]:
    return [labels.get(name, name) for name in changes]
