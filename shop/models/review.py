"""Shoppers' ratings and reviews of the products they bought."""
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc
from shop.models.catalog import Product
from shop.models.user import User


class Review(Model):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("product_id", "user_id", name="uq_reviews_product_user"),  # one per shopper and product
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating_one_to_five"),
        # The product page lists the visible ones newest first.
        Index("ix_reviews_product_hidden_created", "product_id", "is_hidden", "created_at"),
        Index("ix_reviews_user_id", "user_id"),
        Index("ix_reviews_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(lengths.REVIEW_TITLE))
    body: Mapped[str] = mapped_column(Text, default="")  # plain text, at most lengths.REVIEW_BODY characters
    # Shown under the reviewer's name; copied at writing so a later rename does not rewrite old reviews.
    author_name: Mapped[str] = mapped_column(String(lengths.PERSON_NAME))
    # Hidden by an admin: kept (and still the reviewer's one review) but shown to no one and not counted.
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    product: Mapped[Product] = relationship()
    user: Mapped[User] = relationship()
