"""Orders and their item snapshots."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc


class OrderStatus(StrEnum):
    PENDING = "pending"  # placed, stock reserved, waiting for payment
    PAID = "paid"  # paid, and not everything has shipped yet
    SHIPPED = "shipped"  # every unit not refunded has left in a shipment
    DELIVERED = "delivered"
    CANCELLED = "cancelled"  # by the shopper or an admin, or its payment failed; stock released
    EXPIRED = "expired"  # reservation ran out unpaid; stock released


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PROCESSING = "processing"  # async method (e.g. bank debit) not settled yet
    PAID = "paid"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially refunded"
    REFUNDED = "refunded"


# Payment states in which the shop holds some of the shopper's money.
MONEY_TAKEN = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


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
        Index("ix_orders_payment_status_created_at", "payment_status", "created_at"),
        Index("ix_orders_ship_name", "ship_name"),
        # Sales reports and the dashboard read paid orders by the day they were paid.
        Index("ix_orders_paid_at", "paid_at"),
        # The recovery sweep finds expired orders whose shopper asked for a reminder.
        Index("ix_orders_recovery_due", "recovery_consent", "recovery_sent_at", "status"),
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
    # The tax as it stood when the order was placed: later rate changes never touch a placed order.
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    tax_label: Mapped[str] = mapped_column(String(lengths.TAX_LABEL), default="")
    # True when the prices shown included the tax (tax_cents is then part of the subtotal, not added).
    tax_included: Mapped[bool] = mapped_column(Boolean, default=False)

    ship_name: Mapped[str] = mapped_column(String(lengths.PERSON_NAME), default="")
    ship_line1: Mapped[str] = mapped_column(String(lengths.ADDRESS_LINE), default="")
    ship_line2: Mapped[str] = mapped_column(String(lengths.ADDRESS_LINE), default="")
    ship_city: Mapped[str] = mapped_column(String(lengths.CITY), default="")
    ship_region: Mapped[str] = mapped_column(String(lengths.REGION), default="")
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
    # Gapless and in payment order: taken from the invoice counter in the payment's transaction.
    invoice_number: Mapped[int | None] = mapped_column(Integer, unique=True)
    # Whether the paid order counted a use of its coupon, which cancelling before shipping gives back.
    coupon_use_counted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The sum of refunds that succeeded, kept with each one so lists need no join.
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)
    # The shopper ticked "Email me a reminder if I don't finish"; never set without that tick.
    recovery_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    recovery_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list["OrderItem"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )

    @property
    def stock_reserved(self) -> bool:
        """Return whether the order holds reserved stock (not yet sold, not yet released)."""
        return self.reserved_until is not None

    @property
    def remaining_cents(self) -> int:
        """Return how much of the payment has not been refunded."""
        return self.total_cents - self.refunded_cents

    @property
    def invoice_label(self) -> str:
        return f"INV-{self.invoice_number:06d}" if self.invoice_number else ""


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


class ActorKind(StrEnum):
    """Who moved an order: the shopper, an admin, the payment provider's webhook, or the shop itself."""

    CUSTOMER = "customer"
    ADMIN = "admin"
    WEBHOOK = "webhook"
    SYSTEM = "system"  # sweeps, reconciliation, the checkout's own bookkeeping


class OrderEventKind(StrEnum):
    STATUS = "status"  # a transition of the order or its payment
    NOTE = "note"  # an admin's internal note
    SHIPMENT = "shipment"
    REFUND = "refund"  # a refund asked for, or its outcome
    EMAIL = "email"  # an email sent again by hand


class OrderEvent(Model):
    """One line of an order's history: what changed, from what to what, who did it and why."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order_id_id", "order_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    kind: Mapped[OrderEventKind] = mapped_column(_checked(OrderEventKind, "kind"))
    from_status: Mapped[str] = mapped_column(String(lengths.STATUS), default="")
    to_status: Mapped[str] = mapped_column(String(lengths.STATUS), default="")
    from_payment_status: Mapped[str] = mapped_column(String(lengths.STATUS), default="")
    to_payment_status: Mapped[str] = mapped_column(String(lengths.STATUS), default="")
    actor_kind: Mapped[ActorKind] = mapped_column(_checked(ActorKind, "actor_kind"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Kept as written, like the audit log's: the history still names an admin whose account is gone.
    actor_email: Mapped[str] = mapped_column(String(lengths.EMAIL), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class Shipment(Model):
    """A parcel that left with some of an order's units, and how to track it."""

    __tablename__ = "shipments"
    __table_args__ = (Index("ix_shipments_order_id", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    carrier: Mapped[str] = mapped_column(String(lengths.CARRIER), default="")
    tracking_number: Mapped[str] = mapped_column(String(lengths.TRACKING_NUMBER), default="")
    tracking_url: Mapped[str] = mapped_column(String(lengths.URL), default="")
    # The ship form's one-time token: a double submit finds this shipment instead of sending another.
    request_token: Mapped[str | None] = mapped_column(String(lengths.PLACEMENT_TOKEN), unique=True)
    actor_email: Mapped[str] = mapped_column(String(lengths.EMAIL), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    items: Mapped[list["ShipmentItem"]] = relationship(cascade="all, delete-orphan", order_by="ShipmentItem.id")


class ShipmentItem(Model):
    __tablename__ = "shipment_items"
    __table_args__ = (
        Index("ix_shipment_items_shipment_id", "shipment_id"),
        Index("ix_shipment_items_order_item_id", "order_item_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)

    order_item: Mapped[OrderItem] = relationship()


class RefundStatus(StrEnum):
    """Stripe's refund states; the shop counts money as returned only once one has SUCCEEDED."""

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


# Refunds that still hold part of the remaining amount: asked for and not (yet) refused.
OPEN_REFUND_STATUSES = (RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION)


class Refund(Model):
    """Money given back on an order: by amount, or for some units (optionally back to stock)."""

    __tablename__ = "refunds"
    __table_args__ = (
        Index("ix_refunds_order_id", "order_id"),
        Index("ix_refunds_status_created_at", "status", "created_at"),
        Index("ix_refunds_settled_at", "settled_at"),  # refunds in a report's date range
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    amount_cents: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RefundStatus] = mapped_column(_checked(RefundStatus, "status"), default=RefundStatus.PENDING)
    # Why the provider refused it, in words an admin can act on.
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    provider: Mapped[str] = mapped_column(String(lengths.PAYMENT_PROVIDER), default="")
    provider_refund_id: Mapped[str | None] = mapped_column(String(lengths.REFERENCE), unique=True)
    # The refund form's one-time token: two clicks, or two admins sending the same form, refund once.
    request_token: Mapped[str | None] = mapped_column(String(lengths.PLACEMENT_TOKEN), unique=True)
    restock: Mapped[bool] = mapped_column(Boolean, default=False)
    # A cancellation's refund: when it succeeds the order becomes cancelled.
    cancels_order: Mapped[bool] = mapped_column(Boolean, default=False)
    actor_kind: Mapped[ActorKind] = mapped_column(_checked(ActorKind, "actor_kind"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str] = mapped_column(String(lengths.EMAIL), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list["RefundItem"]] = relationship(cascade="all, delete-orphan", order_by="RefundItem.id")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REFUND_STATUSES


class RefundItem(Model):
    __tablename__ = "refund_items"
    __table_args__ = (
        Index("ix_refund_items_refund_id", "refund_id"),
        Index("ix_refund_items_order_item_id", "order_item_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id", ondelete="CASCADE"))
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)

    order_item: Mapped[OrderItem] = relationship()


class Counter(Model):
    """A named number handed out without gaps: the row lock queues concurrent takers."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
