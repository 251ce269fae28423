"""The ledger of every stock movement."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc


class StockReason(StrEnum):
    """Why stock moved: each order's reservation, sale and return, in the ledger's words."""

    RESERVE = "reserve"  # placed: taken from stock while waiting for payment
    LATE_SALE = "late sale"  # paid after the reservation ran out: taken again
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    PAYMENT_FAILED = "payment failed"
    REFUND = "refund"
    # An admin's adjustment, and why; OTHER needs a note.
    RECEIVED = "received"
    DAMAGED = "damaged"
    RECOUNT = "recount"
    OTHER = "other"
    IMPORT = "import"  # a catalogue CSV import set the stock


ADJUSTMENT_REASONS = (StockReason.RECEIVED, StockReason.DAMAGED, StockReason.RECOUNT, StockReason.OTHER)


class StockMovement(Model):
    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_variant_id_id", "variant_id", "id"),
        Index("ix_stock_movements_order_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("product_variants.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    # Negative takes stock away (reservation), positive gives it back (release, restock).
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[StockReason] = mapped_column(Enum(
        StockReason, name="reason", native_enum=False, create_constraint=True, length=lengths.STOCK_REASON,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members]))
    # The admin who adjusted or imported; None for what shoppers' orders moved.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
