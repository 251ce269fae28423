"""Accounts, their login sessions and their addresses."""
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc


class Role(StrEnum):
    """What an account may do: shop, or also run the back office (staff: part of it; owner: all of it)."""

    CUSTOMER = "customer"
    STAFF = "staff"
    OWNER = "owner"


class User(UserMixin, Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('customer', 'staff', 'owner')", name="role_known"),
        Index("ix_users_role", "role"),
        Index("ix_users_name", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive in effect.
    email: Mapped[str] = mapped_column(String(lengths.EMAIL), unique=True)
    password_hash: Mapped[str] = mapped_column(String(lengths.PASSWORD_HASH))
    name: Mapped[str] = mapped_column(String(lengths.PERSON_NAME))
    role: Mapped[str] = mapped_column(String(lengths.ROLE), default=Role.CUSTOMER)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Set by an owner: the account can no longer log in, and its sessions are gone.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the shopper follows the link emailed to the address; guest orders to it then join the account.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    addresses: Mapped[list["Address"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Address.id"
    )

    @property
    def is_admin(self) -> bool:
        """Return whether the account may enter the back office (staff or owner)."""
        return self.role in (Role.STAFF, Role.OWNER)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None

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
