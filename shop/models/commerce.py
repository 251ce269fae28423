"""Shipping methods, coupons and tax rates that price an order."""
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc
from shop.models.catalog import Category, Product


class ShippingMethod(Model):
    __tablename__ = "shipping_methods"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(lengths.SHIPPING_METHOD_NAME))
    price_cents: Mapped[int] = mapped_column(Integer)
    # Shipping is free when the subtotal reaches this amount.
    free_over_cents: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    # Where the method is offered; a method without zones is offered everywhere.
    zones: Mapped[list["ShippingZone"]] = relationship(
        back_populates="method", cascade="all, delete-orphan", order_by="ShippingZone.id"
    )


class ShippingZone(Model):
    """A country, or one region of it, where a shipping method is offered."""

    __tablename__ = "shipping_zones"
    __table_args__ = (
        UniqueConstraint("shipping_method_id", "country", "region", name="uq_shipping_zones_method_place"),
        Index("ix_shipping_zones_country_region", "country", "region"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipping_method_id: Mapped[int] = mapped_column(ForeignKey("shipping_methods.id", ondelete="CASCADE"))
    country: Mapped[str] = mapped_column(String(lengths.COUNTRY_CODE))
    # "" covers the whole country; otherwise the region as addresses store it ("OR").
    region: Mapped[str] = mapped_column(String(lengths.REGION), default="")

    method: Mapped[ShippingMethod] = relationship(back_populates="zones")


class CouponKind:
    PERCENT = "percent"
    FIXED = "fixed"


coupon_categories = Table(
    "coupon_categories", Model.metadata,
    Column("coupon_id", ForeignKey("coupons.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_coupon_categories_category_id", "category_id"),
)

coupon_products = Table(
    "coupon_products", Model.metadata,
    Column("coupon_id", ForeignKey("coupons.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_coupon_products_product_id", "product_id"),
)


class Coupon(Model):
    __tablename__ = "coupons"
    # Zero is allowed for a coupon that only makes shipping free.
    __table_args__ = (CheckConstraint("value >= 0", name="value_not_negative"),)

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
    # Uses by one shopper (an account, or one email address for guests); None is no limit.
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    free_shipping: Mapped[bool] = mapped_column(Boolean, default=False)
    # Counted on paid orders only.
    times_used: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    # When either list has entries, the discount applies only to lines in those categories or products.
    categories: Mapped[list[Category]] = relationship(secondary=coupon_categories, order_by="Category.name")
    products: Mapped[list[Product]] = relationship(secondary=coupon_products, order_by="Product.name")


class TaxRate(Model):
    __tablename__ = "tax_rates"
    __table_args__ = (UniqueConstraint("country", "region", name="uq_tax_rates_country_region"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(lengths.COUNTRY_CODE))
    # "" is the country's rate; a region's rate ("CA" in the US) replaces it for addresses there.
    region: Mapped[str] = mapped_column(String(lengths.REGION), default="")
    label: Mapped[str] = mapped_column(String(lengths.TAX_LABEL), default="Tax")
    # Basis points: 2000 is 20 %.
    rate_bp: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
