"""Emails queued in the same transaction as the change that causes them."""
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc


class OutboxEmail(Model):
    __tablename__ = "outbox_emails"
    __table_args__ = (Index("ix_outbox_emails_sent_at_next_attempt_at", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(lengths.EMAIL))
    subject: Mapped[str] = mapped_column(String(lengths.SUBJECT))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
