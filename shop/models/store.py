"""What the owner sets from the admin instead of the environment: store settings and content pages."""
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc


class StoreSetting(Model):
    """One setting the owner changed; a setting without a row takes its SHOP_* default."""

    __tablename__ = "store_settings"

    name: Mapped[str] = mapped_column(String(lengths.SETTING_NAME), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ContentPage(Model):
    """An information page the owner writes in Markdown: About, Shipping & returns, Terms, ..."""

    __tablename__ = "content_pages"
    __table_args__ = (Index("ix_content_pages_published_position", "is_published", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(lengths.PAGE_SLUG), unique=True)
    title: Mapped[str] = mapped_column(String(lengths.PAGE_TITLE))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown, rendered and sanitised on display
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)
    show_in_footer: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)


class EmailOptOut(Model):
    """An address that asked, by a link in an email, not to get one kind of email again."""

    __tablename__ = "email_opt_outs"

    email: Mapped[str] = mapped_column(String(lengths.EMAIL), primary_key=True)
    topic: Mapped[str] = mapped_column(String(lengths.OPT_OUT_TOPIC), primary_key=True)  # e.g. "recovery"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
