"""Orders and their item snapshots."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc


class OrderStatus(StrEnum):
    PENDING = "pending"  # placed, stock reserved, waiting for payment
    PAID = "paid"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"  # shopper cancelled or payment failed; stock released
    EXPIRED = "expired"  # reservation ran out; stock released
    REFUNDED = "refunded"


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PROCESSING = "processing"  # async method (e.g. bank debit) not settled yet
    PAID = "paid"
    FAILED = "failed"
    REFUNDED = "refunded"


def _checked(enum: type[StrEnum], name: str) -> Enum:
    """Store a StrEnum as its value in a VARCHAR(20) that a CHECK constraint keeps to the known values."""
    return Enum(enum, name=name, native_enum=False, create_constraint=True, length=lengths.STATUS,
                validate_strings=True,
                values_callable=lambda members: [member.value for member in members])


class Order(Model):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_user_id_created_at", "user_id", "created_at"),
        Index("ix_orders_status_reserved_until", "status", "reserved_until"),
        Index("ix_orders_created_at", "created_at"),
        Index("ix_orders_email", "email"),
        Index("ix_orders_needs_attention_created_at", "needs_attention", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(lengths.ORDER_NUMBER), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(lengths.EMAIL))
    status: Mapped[OrderStatus] = mapped_column(_checked(OrderStatus, "status"), default=OrderStatus.PENDING)
    payment_status: Mapped[PaymentStatus] = mapped_column(_checked(PaymentStatus, "payment_status"),
                                                          default=PaymentStatus.UNPAID)
    currency: Mapped[str] = mapped_column(String(lengths.CURRENCY_CODE))
    subtotal_cents: Mapped[int] = mapped_column(Integer, default=0)
    shipping_cents: Mapped[int] = mapped_column(Integer, default=0)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(Integer, default=0)

    ship_name: Mapped[str] = mapped_column(String(lengths.PERSON_NAME), default="")
    ship_line1: Mapped[str] = mapped_column(String(lengths.ADDRESS_LINE), default="")
    ship_line2: Mapped[str] = mapped_column(String(lengths.ADDRESS_LINE), default="")
    ship_city: Mapped[str] = mapped_column(String(lengths.CITY), default="")
    ship_postal_code: Mapped[str] = mapped_column(String(lengths.POSTAL_CODE), default="")
    ship_country: Mapped[str] = mapped_column(String(lengths.COUNTRY_CODE), default="")
    ship_phone: Mapped[str] = mapped_column(String(lengths.PHONE), default="")
    shipping_method_name: Mapped[str] = mapped_column(String(lengths.SHIPPING_METHOD_NAME), default="")
    coupon_code: Mapped[str | None] = mapped_column(String(lengths.COUPON_CODE))

    payment_provider: Mapped[str] = mapped_column(String(lengths.PAYMENT_PROVIDER), default="")
    payment_reference: Mapped[str | None] = mapped_column(String(lengths.REFERENCE), unique=True)
    # The checkout form's one-time token: a double submit finds this order instead of placing another.
    placement_token: Mapped[str | None] = mapped_column(String(lengths.PLACEMENT_TOKEN), unique=True)
    # Set while the order holds reserved stock; a sweep releases it once this time has passed.
    reserved_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    attention_reason: Mapped[str] = mapped_column(Text, default="")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list["OrderItem"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )

    @property
    def stock_reserved(self) -> bool:
        """Return whether the order holds reserved stock (not yet sold, not yet released)."""
        return self.reserved_until is not None


class OrderItem(Model):
    __tablename__ = "order_items"
    __table_args__ = (
        Index("ix_order_items_order_id", "order_id"),
        Index("ix_order_items_variant_id", "variant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    # Kept when the variant is later deleted: the snapshot columns carry the history.
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_variants.id", ondelete="SET NULL")
    )
    product_name: Mapped[str] = mapped_column(String(lengths.PRODUCT_NAME))
    variant_name: Mapped[str] = mapped_column(String(lengths.VARIANT_NAME))
    sku: Mapped[str] = mapped_column(String(lengths.SKU))
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="items")

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity
