"""Shoppers' carts, saved-for-later items and wishlists, kept with their accounts across devices."""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.models.base import UTCDateTime, now_utc
from shop.models.catalog import Product, ProductVariant


class CartLine(Model):
    """A line of a logged-in shopper's cart; the session holds the working copy, this one follows the account."""

    __tablename__ = "cart_lines"
    __table_args__ = (UniqueConstraint("user_id", "variant_id", name="uq_cart_lines_user_variant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("product_variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    # The unit price the shopper last saw, for "the price changed" after logging in elsewhere.
    seen_price_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)


class SavedItem(Model):
    __tablename__ = "saved_items"
    __table_args__ = (UniqueConstraint("user_id", "variant_id", name="uq_saved_items_user_variant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("product_variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    variant: Mapped[ProductVariant] = relationship()


class WishlistItem(Model):
    __tablename__ = "wishlist_items"
    __table_args__ = (
        UniqueConstraint("user_id", "product_id", name="uq_wishlist_items_user_product"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    product: Mapped[Product] = relationship()
