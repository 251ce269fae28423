"""Payment provider events, recorded once each."""
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc


class PaymentEvent(Model):
    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # UNIQUE: a second delivery of the same event cannot be applied twice.
    event_id: Mapped[str] = mapped_column(String(lengths.REFERENCE), unique=True)
    type: Mapped[str] = mapped_column(String(lengths.EVENT_TYPE))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
