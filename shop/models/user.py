"""Accounts, their login sessions and their addresses."""
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive in effect.
    email: Mapped[str] = mapped_column(String(lengths.EMAIL), unique=True)
    password_hash: Mapped[str] = mapped_column(String(lengths.PASSWORD_HASH))
    name: Mapped[str] = mapped_column(String(lengths.PERSON_NAME))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    addresses: Mapped[list["Address"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Address.id"
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class Address(Model):
    __tablename__ = "addresses"
    __table_args__ = (Index("ix_addresses_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(lengths.PERSON_NAME))
    line1: Mapped[str] = mapped_column(String(lengths.ADDRESS_LINE))
    line2: Mapped[str] = mapped_column(String(lengths.ADDRESS_LINE), default="")
    city: Mapped[str] = mapped_column(String(lengths.CITY))
    region: Mapped[str] = mapped_column(String(lengths.REGION), default="")
    postal_code: Mapped[str] = mapped_column(String(lengths.POSTAL_CODE))
    country: Mapped[str] = mapped_column(String(lengths.COUNTRY_CODE))
    phone: Mapped[str] = mapped_column(String(lengths.PHONE), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship(back_populates="addresses")


class UserSession(Model):
    """One login of an account; the session cookie names it, and it ends when the row is deleted."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id_created_at", "user_id", "created_at"),)

    # A random token, carried only in the signed session cookie.
    id: Mapped[str] = mapped_column(String(lengths.SESSION_ID), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
