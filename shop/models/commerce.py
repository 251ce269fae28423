"""Shipping methods, coupons and tax rates that price an order."""
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime


class ShippingMethod(Model):
    __tablename__ = "shipping_methods"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(lengths.SHIPPING_METHOD_NAME))
    price_cents: Mapped[int] = mapped_column(Integer)
    # Shipping is free when the subtotal reaches this amount.
    free_over_cents: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class CouponKind:
    PERCENT = "percent"
    FIXED = "fixed"


class Coupon(Model):
    __tablename__ = "coupons"
    __table_args__ = (CheckConstraint("value > 0", name="value_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored upper-cased; shoppers type codes in any case.
    code: Mapped[str] = mapped_column(String(lengths.COUPON_CODE), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    # Whole percent for PERCENT, cents for FIXED.
    value: Mapped[int] = mapped_column(Integer)
    min_subtotal_cents: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    # Counted on paid orders only.
    times_used: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class TaxRate(Model):
    __tablename__ = "tax_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(lengths.COUNTRY_CODE), unique=True)
    # Basis points: 2000 is 20 %.
    rate_bp: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
