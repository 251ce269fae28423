"""Checkout details and pricing: lines from the database, shipping, coupons and tax in integer cents."""
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from shop.extensions import db
from shop.models import Coupon, CouponKind, Product, ProductVariant, ShippingMethod, TaxRate, lengths
from shop.models.base import now_utc
from shop.money import format_money
from shop.services import ShopError

BASIS_POINTS = 10_000


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

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


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
            stock=variant.stock,
        )
        for variant, product_name in rows
    ]
    found = {line.variant_id for line in lines}
    return lines, sorted(variant_id for variant_id in cart if variant_id not in found)


def active_shipping_methods() -> list[ShippingMethod]:
    """Return the shipping methods a shopper can choose, in display order."""
    return list(db.session.scalars(
        sa.select(ShippingMethod).where(ShippingMethod.is_active.is_(True))
        .order_by(ShippingMethod.position, ShippingMethod.id)
    ))


def shipping_cost(method: ShippingMethod, goods_cents: int) -> int:
    """Return the method's price, or nothing once the goods reach its free-over threshold."""
    if method.free_over_cents is not None and goods_cents >= method.free_over_cents:
        return 0
    return method.price_cents


def find_coupon(code: str, subtotal_cents: int, now: datetime | None = None) -> Coupon:
    """Return the usable coupon for a code typed in any case, or raise ShopError saying why not."""
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
    if subtotal_cents < coupon.min_subtotal_cents:
        currency = current_app.config["CURRENCY"]
        raise ShopError(
            f"The coupon {coupon.code} needs a subtotal of at least "
            f"{format_money(coupon.min_subtotal_cents, currency)}."
        )
    return coupon


def coupon_discount(coupon: Coupon, subtotal_cents: int) -> int:
    """Return the discount in cents, never more than the subtotal."""
    if coupon.kind == CouponKind.PERCENT:
        percent = min(max(coupon.value, 0), 100)
        return round_half_up(subtotal_cents * percent, 100)
    return min(coupon.value, subtotal_cents)


def tax_rate_bp(country: str) -> int:
    """Return the active tax rate for a country in basis points (0 when none is configured)."""
    if not country:
        return 0
    rate = db.session.scalar(
        sa.select(TaxRate.rate_bp).where(TaxRate.country == country.upper(), TaxRate.is_active.is_(True))
    )
    return rate or 0


def price_lines(lines: list[PricedLine], method: ShippingMethod | None, coupon: Coupon | None,
                rate_bp: int, currency: str) -> Quote:
    """Compute the totals from priced lines: discount, then shipping on the discounted goods, then tax.

    Tax is added on top of the discounted goods and the shipping, rounded half up once per order.
    """
    subtotal = sum(line.line_total_cents for line in lines)
    discount = coupon_discount(coupon, subtotal) if coupon else 0
    goods = subtotal - discount
    shipping = shipping_cost(method, goods) if method and lines else 0
    tax = round_half_up((goods + shipping) * rate_bp, BASIS_POINTS)
    return Quote(
        currency=currency, lines=lines, subtotal_cents=subtotal, shipping_cents=shipping,
        discount_cents=discount, tax_cents=tax, total_cents=goods + shipping + tax,
        shipping_method=method, coupon=coupon,
    )


def quote_cart(cart: dict[int, int], shipping_method_id: int | None, coupon_code: str = "",
               country: str = "", methods: list[ShippingMethod] | None = None) -> Quote:
    """Price a cart from the database; raise ShopError for an unknown shipping method.

    A coupon that cannot be used is left out of the totals, with the reason in coupon_error.
    """
    lines, unavailable = load_lines(cart)
    methods = active_shipping_methods() if methods is None else methods
    method = next((m for m in methods if m.id == shipping_method_id), None)
    if shipping_method_id is not None and method is None:
        raise ShopError("Please choose one of the shipping methods offered.")
    subtotal = sum(line.line_total_cents for line in lines)
    coupon = coupon_error = None
    if coupon_code.strip():
        try:
            coupon = find_coupon(coupon_code, subtotal)
        except ShopError as error:
            coupon_error = str(error)
    quote = price_lines(lines, method, coupon, tax_rate_bp(country), current_app.config["CURRENCY"])
    quote.unavailable = unavailable
    quote.coupon_error = coupon_error
    return quote


def preview_quote(cart: dict[int, int], shipping_method_id: object, coupon_code: str, country: object,
                  methods: list[ShippingMethod]) -> Quote:
    """Price the cart as the checkout form stands, before it is valid.

    A shipping method not offered falls back to the first one, and a country that is not a
    two-letter code to no tax, so the summary always shows a total.
    """
    offered = {method.id for method in methods}
    method_id = shipping_method_id if shipping_method_id in offered else (methods[0].id if methods else None)
    country_code = country if isinstance(country, str) and len(country) == 2 and country.isalpha() else ""
    return quote_cart(cart, method_id, coupon_code, country_code, methods)
