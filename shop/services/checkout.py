"""Checkout details and pricing: lines from the database, shipping, coupons and tax in integer cents."""
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from shop.extensions import db
from shop.models import (
    Category,
    Coupon,
    CouponKind,
    Order,
    OrderStatus,
    PaymentStatus,
    Product,
    ProductVariant,
    ShippingMethod,
    ShippingZone,
    TaxRate,
    lengths,
)
from shop.models.base import now_utc
from shop.models.commerce import coupon_categories, coupon_products
from shop.money import format_money
from shop.services import ShopError, store_settings

BASIS_POINTS = 10_000
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class CheckoutDetails:
    """What the shopper typed on the checkout page, already validated by the form."""

    email: str
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    shipping_method_id: int
    line2: str = ""
    region: str = ""  # a listed country's code ("OR"), else the county or region typed, if any
    phone: str = ""
    coupon_code: str = ""
    recovery_consent: bool = False  # the shopper ticked "Email me a reminder if I don't finish"


@dataclass(frozen=True)
class PricedLine:
    """One cart line priced from the database."""

    variant_id: int
    product_name: str
    variant_name: str
    sku: str
    unit_price_cents: int
    quantity: int
    stock: int
    product_id: int = 0

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


@dataclass(frozen=True)
class TaxRule:
    """The tax an address pays: its rate, the label shown, and how the shop enters prices."""

    rate_bp: int = 0
    label: str = ""
    included: bool = False  # prices already contain the tax, so it is shown as "includes", never added
    shipping_taxed: bool = True

    @property
    def percent(self) -> str:
        """Return the rate in percent without trailing zeros ("8.25", "20")."""
        return percent(self.rate_bp)


NO_TAX = TaxRule()


@dataclass(frozen=True)
class CouponUse:
    """A coupon that applies to the cart, and which of its lines it discounts (None: every line)."""

    coupon: Coupon
    eligible_variant_ids: frozenset[int] | None = None

    def covers(self, line: PricedLine) -> bool:
        return self.eligible_variant_ids is None or line.variant_id in self.eligible_variant_ids


@dataclass
class Quote:
    """An order's price, computed on the server."""

    currency: str
    lines: list[PricedLine]
    subtotal_cents: int
    shipping_cents: int
    discount_cents: int
    tax_cents: int
    total_cents: int
    shipping_method: ShippingMethod | None = None
    coupon: Coupon | None = None
    unavailable: list[int] = field(default_factory=list)
    coupon_error: str | None = None  # why the typed coupon was left out of the totals
    tax: TaxRule = NO_TAX
    # The shipping methods offered for the address the quote was made for, in display order.
    methods: list[ShippingMethod] = field(default_factory=list)


def percent(rate_bp: int) -> str:
    """Return basis points as a percentage without trailing zeros: 825 -> "8.25", 2000 -> "20"."""
    whole, hundredths = divmod(rate_bp, 100)
    return f"{whole}.{hundredths:02d}".rstrip("0").rstrip(".")


def round_half_up(numerator: int, denominator: int) -> int:
    """Divide non-negative integers, rounding halves up (no floats near money)."""
    return (2 * numerator + denominator) // (2 * denominator)


def load_lines(cart: dict[int, int]) -> tuple[list[PricedLine], list[int]]:
    """Price the cart's lines from the database in one query; return (lines, unavailable ids).

    Lines come back in ascending variant id, the order stock is reserved in.
    """
    if not cart:
        return [], []
    rows = db.session.execute(
        sa.select(ProductVariant, Product.name)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(ProductVariant.id.in_(list(cart)), Product.is_active.is_(True), ProductVariant.is_active.is_(True))
        .order_by(ProductVariant.id)
    ).all()
    lines = [
        PricedLine(
            variant_id=variant.id, product_name=product_name, variant_name=variant.label,
            sku=variant.sku, unit_price_cents=variant.price_cents, quantity=cart[variant.id],
            stock=variant.stock, product_id=variant.product_id,
        )
        for variant, product_name in rows
    ]
    found = {line.variant_id for line in lines}
    return lines, sorted(variant_id for variant_id in cart if variant_id not in found)


def active_shipping_methods() -> list[ShippingMethod]:
    """Return every shipping method a shopper can choose somewhere, in display order."""
    return list(db.session.scalars(
        sa.select(ShippingMethod).where(ShippingMethod.is_active.is_(True))
        .order_by(ShippingMethod.position, ShippingMethod.id)
    ))


def shipping_methods_for(country: str, region: str = "") -> list[ShippingMethod]:
    """Return the active methods offered at an address, in display order, in one query.

    A method is offered where it has no zones at all, in a zone naming the whole country, or in
    one naming the address's region. Before a country is chosen every active method is listed,
    so the shopper sees what there is; placing the order checks the address.
    """
    if not country:
        return active_shipping_methods()
    zoned = sa.select(ShippingZone.id).where(ShippingZone.shipping_method_id == ShippingMethod.id)
    here = zoned.where(ShippingZone.country == country.upper(),
                       ShippingZone.region.in_(["", region] if region else [""]))
    return list(db.session.scalars(
        sa.select(ShippingMethod)
        .where(ShippingMethod.is_active.is_(True), sa.or_(~zoned.exists(), here.exists()))
        .order_by(ShippingMethod.position, ShippingMethod.id)
    ))


def shipping_cost(method: ShippingMethod, goods_cents: int) -> int:
    """Return the method's price, or nothing once the goods reach its free-over threshold."""
    if method.free_over_cents is not None and goods_cents >= method.free_over_cents:
        return 0
    return method.price_cents


def find_coupon(code: str, now: datetime | None = None) -> Coupon:
    """Return the coupon for a code typed in any case if it is active, current and not used up; else raise ShopError."""
    normalized = code.strip().upper()
    coupon = db.session.scalar(sa.select(Coupon).where(Coupon.code == normalized)) if normalized else None
    if coupon is None or not coupon.is_active:
        raise ShopError(f"The coupon code “{code.strip()[:lengths.COUPON_CODE]}” is not valid.")
    now = now or now_utc()
    if coupon.starts_at is not None and now < coupon.starts_at:
        raise ShopError(f"The coupon {coupon.code} is not valid yet.")
    if coupon.ends_at is not None and now >= coupon.ends_at:
        raise ShopError(f"The coupon {coupon.code} has expired.")
    if coupon.usage_limit is not None and coupon.times_used >= coupon.usage_limit:
        raise ShopError(f"The coupon {coupon.code} has been used up.")
    return coupon


def eligible_variant_ids(coupon: Coupon, lines: list[PricedLine]) -> frozenset[int] | None:
    """Return the lines' variant ids the coupon discounts, or None when it is not restricted (one query).

    A product is eligible when the coupon names it, or names its category or any category above
    it: a coupon for "Clothing" covers "Clothing > Scarves".
    """
    restricted = sa.or_(
        sa.select(coupon_categories.c.category_id).where(coupon_categories.c.coupon_id == coupon.id).exists(),
        sa.select(coupon_products.c.product_id).where(coupon_products.c.coupon_id == coupon.id).exists(),
    )
    chosen = (sa.select(coupon_categories.c.category_id.label("id"))
              .where(coupon_categories.c.coupon_id == coupon.id).cte("covered", recursive=True))
    children = sa.select(Category.id).join(chosen, Category.parent_id == chosen.c.id)
    covered = chosen.union(children)
    eligible = sa.or_(
        Product.category_id.in_(sa.select(covered.c.id)),
        sa.select(coupon_products.c.product_id).where(
            coupon_products.c.coupon_id == coupon.id, coupon_products.c.product_id == Product.id).exists(),
    )
    rows = db.session.execute(
        sa.select(Product.id, eligible, restricted).where(Product.id.in_({line.product_id for line in lines}))
    ).all()
    if not rows or not rows[0][2]:
        return None
    products = {product_id for product_id, is_eligible, _ in rows if is_eligible}
    return frozenset(line.variant_id for line in lines if line.product_id in products)


def eligible_subtotal(lines: list[PricedLine], use: CouponUse) -> int:
    """Return the subtotal of the lines the coupon discounts."""
    return sum(line.line_total_cents for line in lines if use.covers(line))


def coupon_uses_by(code: str, email: str, user_id: int | None, releasing: Collection[int] = ()) -> int:
    """Count one shopper's orders that used the coupon: paid ones still counting it, and unpaid ones holding it.

    A shopper is their account and the email typed at checkout, so logging out to order again
    as a guest with the same email counts too. Unpaid orders in `releasing` (this browser's, which
    placing a new order cancels first) are not counted.
    """
    shopper = Order.email == email.strip().lower()
    if user_id is not None:
        shopper = sa.or_(shopper, Order.user_id == user_id)
    holding = sa.and_(Order.status == OrderStatus.PENDING, Order.reserved_until.is_not(None))
    if releasing:
        holding = sa.and_(holding, sa.or_(Order.id.not_in(list(releasing)),
                                          Order.payment_status != PaymentStatus.UNPAID))
    return db.session.scalar(
        sa.select(sa.func.count(Order.id)).where(
            Order.coupon_code == code, shopper, sa.or_(Order.coupon_use_counted.is_(True), holding))
    ) or 0


def check_customer_limit(coupon: Coupon, email: str, user_id: int | None, releasing: Collection[int] = ()) -> None:
    """Raise ShopError when this shopper has used the coupon as often as it allows each customer."""
    limit = coupon.per_customer_limit
    if limit is None or not (email or user_id):
        return
    if coupon_uses_by(coupon.code, email, user_id, releasing) >= limit:
        times = "once" if limit == 1 else f"{limit} times"
        raise ShopError(f"The coupon {coupon.code} can be used {times} per customer, and you have already used it.")


def apply_coupon(code: str, lines: list[PricedLine], email: str = "", user_id: int | None = None,
                 releasing: Collection[int] = (), now: datetime | None = None) -> CouponUse:
    """Return the coupon typed and the lines it discounts, or raise ShopError saying why it cannot be used.

    The minimum subtotal is measured on the lines the coupon discounts: a "$10 off $50 of
    shoes" coupon needs $50 of shoes, whatever else is in the cart.
    """
    coupon = find_coupon(code, now)
    use = CouponUse(coupon, eligible_variant_ids(coupon, lines) if lines else None)
    if use.eligible_variant_ids is not None and not use.eligible_variant_ids:
        raise ShopError(f"The coupon {coupon.code} does not apply to anything in your cart.")
    if eligible_subtotal(lines, use) < coupon.min_subtotal_cents:
        minimum = format_money(coupon.min_subtotal_cents, current_app.config["CURRENCY"])
        if use.eligible_variant_ids is None:
            raise ShopError(f"The coupon {coupon.code} needs a subtotal of at least {minimum}.")
        raise ShopError(f"The coupon {coupon.code} needs at least {minimum} of the items it applies to.")
    check_customer_limit(coupon, email, user_id, releasing)
    return use


def coupon_discount(coupon: Coupon, subtotal_cents: int) -> int:
    """Return the discount in cents on the subtotal it applies to, never more than that subtotal."""
    if coupon.kind == CouponKind.PERCENT:
        share = min(max(coupon.value, 0), 100)
        return round_half_up(subtotal_cents * share, 100)
    return min(coupon.value, subtotal_cents)


def tax_rule(country: str, region: str = "") -> TaxRule:
    """Return the tax for an address: its region's active rate, else its country's, with the shop's tax settings."""
    included = bool(store_settings.get("prices_include_tax"))
    shipping_taxed = bool(store_settings.get("tax_shipping"))
    if not country:
        return TaxRule(included=included, shipping_taxed=shipping_taxed)
    # A region's rate sorts before the country's ("" is the smallest string), so it wins when both exist.
    rate = db.session.scalar(
        sa.select(TaxRate).where(
            TaxRate.country == country.upper(), TaxRate.region.in_(["", region] if region else [""]),
            TaxRate.is_active.is_(True),
        ).order_by(TaxRate.region.desc()).limit(1)
    )
    if rate is None:
        return TaxRule(included=included, shipping_taxed=shipping_taxed)
    return TaxRule(rate.rate_bp, rate.label or "Tax", included, shipping_taxed)


def tax_due(goods_cents: int, shipping_cents: int, tax: TaxRule) -> int:
    """Return the tax on the goods (and shipping when taxed), rounded half up once per order.

    Prices that include the tax hold rate / (1 + rate) of it; prices without it get rate added.
    """
    base = goods_cents + (shipping_cents if tax.shipping_taxed else 0)
    if tax.included:
        return round_half_up(base * tax.rate_bp, BASIS_POINTS + tax.rate_bp)
    return round_half_up(base * tax.rate_bp, BASIS_POINTS)


def price_lines(lines: list[PricedLine], method: ShippingMethod | None, use: CouponUse | None,
                tax: TaxRule, currency: str) -> Quote:
    """Compute the totals from priced lines: discount, then shipping on the discounted goods, then tax.

    The discount comes off the lines the coupon covers; a free-shipping coupon zeroes the
    shipping. Tax is added on top unless prices include it, when the total stays as it is.
    """
    subtotal = sum(line.line_total_cents for line in lines)
    discount = coupon_discount(use.coupon, eligible_subtotal(lines, use)) if use else 0
    goods = subtotal - discount
    free_shipping = use is not None and use.coupon.free_shipping
    shipping = shipping_cost(method, goods) if method and lines and not free_shipping else 0
    tax_cents = tax_due(goods, shipping, tax)
    return Quote(
        currency=currency, lines=lines, subtotal_cents=subtotal, shipping_cents=shipping,
        discount_cents=discount, tax_cents=tax_cents,
        total_cents=goods + shipping + (0 if tax.included else tax_cents),
        shipping_method=method, coupon=use.coupon if use else None, tax=tax,
    )


def not_offered_message(method_id: object) -> str:
    """Say that the chosen shipping method does not reach the address, naming it when it exists."""
    # Ids are 32-bit integers; a larger number typed into the form names no method and must not reach the driver.
    name = db.session.scalar(sa.select(ShippingMethod.name).where(ShippingMethod.id == method_id)) \
        if isinstance(method_id, int) and 0 < method_id <= MAX_ID else None
    if name:
        return f"{name} is not offered for this address. Please choose one of the shipping methods shown."
    return "Please choose one of the shipping methods offered."


def quote_cart(cart: dict[int, int], shipping_method_id: int | None, coupon_code: str = "", country: str = "",
               *, region: str = "", email: str = "", user_id: int | None = None, releasing: Collection[int] = (),
               methods: list[ShippingMethod] | None = None) -> Quote:
    """Price a cart for an address from the database; raise ShopError for a method not offered there.

    A coupon that cannot be used is left out of the totals, with the reason in coupon_error.
    """
    lines, unavailable = load_lines(cart)
    methods = shipping_methods_for(country, region) if methods is None else methods
    method = next((m for m in methods if m.id == shipping_method_id), None)
    if shipping_method_id is not None and method is None:
        raise ShopError(not_offered_message(shipping_method_id))
    use = coupon_error = None
    if coupon_code.strip():
        try:
            use = apply_coupon(coupon_code, lines, email, user_id, releasing)
        except ShopError as error:
            coupon_error = str(error)
    quote = price_lines(lines, method, use, tax_rule(country, region), current_app.config["CURRENCY"])
    quote.unavailable = unavailable
    quote.coupon_error = coupon_error
    quote.methods = methods
    return quote


def preview_quote(cart: dict[int, int], shipping_method_id: object, coupon_code: str, country: object,
                  region: str = "", email: object = "", user_id: int | None = None,
                  releasing: Collection[int] = ()) -> Quote:
    """Price the cart as the checkout form stands, before it is valid, offering the address's methods.

    A shipping method not offered falls back to the first one, and a country that is not a
    two-letter code to no tax, so the summary always shows a total. The unpaid orders this
    browser placed (`releasing`) leave a per-customer coupon limit alone: placing cancels them first.
    """
    country_code = country if isinstance(country, str) and len(country) == 2 and country.isalpha() else ""
    methods = shipping_methods_for(country_code, region)
    offered = {method.id for method in methods}
    method_id = shipping_method_id if shipping_method_id in offered else (methods[0].id if methods else None)
    shopper_email = email.strip().lower() if isinstance(email, str) else ""
    return quote_cart(cart, method_id, coupon_code, country_code, region=region, email=shopper_email,
                      user_id=user_id, releasing=releasing, methods=methods)
