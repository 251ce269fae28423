"""Categories, brands, products, their variants and images."""
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc

DEFAULT_LABEL = "Default"


def item_name(product_name: str, variant_label: str) -> str:
    """Return how a shopper recognises a variant, e.g. "Alpine Tent (2P)"; a lone variant adds nothing."""
    if variant_label in ("", DEFAULT_LABEL):
        return product_name
    return f"{product_name} ({variant_label})"


class Category(Model):
    __tablename__ = "categories"
    __table_args__ = (Index("ix_categories_parent_id_position", "parent_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(lengths.CATEGORY_NAME))
    slug: Mapped[str] = mapped_column(String(lengths.CATEGORY_SLUG), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped["Category | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Category"]] = relationship(
        back_populates="parent", order_by="Category.position"
    )


class Brand(Model):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(lengths.BRAND_NAME))
    slug: Mapped[str] = mapped_column(String(lengths.BRAND_SLUG), unique=True)


class Product(Model):
    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_category_active", "category_id", "is_active"),
        Index("ix_products_featured_active", "is_featured", "is_active"),
        Index("ix_products_brand_id", "brand_id"),
        Index("ix_products_created_at", "created_at"),
        Index("ix_products_name", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(lengths.SLUG), unique=True)
    name: Mapped[str] = mapped_column(String(lengths.PRODUCT_NAME))
    description: Mapped[str] = mapped_column(Text, default="")
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_featured: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    brand: Mapped[Brand | None] = relationship()
    category: Mapped[Category] = relationship()
    variants: Mapped[list["ProductVariant"]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductVariant.position"
    )
    images: Mapped[list["ProductImage"]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductImage.position"
    )


class ProductVariant(Model):
    __tablename__ = "product_variants"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        Index("ix_product_variants_product_id_price", "product_id", "price_cents"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(lengths.SKU), unique=True)
    size: Mapped[str] = mapped_column(String(lengths.OPTION_VALUE), default="")
    colour: Mapped[str] = mapped_column(String(lengths.OPTION_VALUE), default="")
    price_cents: Mapped[int] = mapped_column(Integer)
    compare_at_cents: Mapped[int | None] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)

    product: Mapped[Product] = relationship(back_populates="variants")

    @property
    def label(self) -> str:
        """Return the human name of the option values, e.g. "M / Blue"."""
        return " / ".join(value for value in (self.size, self.colour) if value) or DEFAULT_LABEL


class ProductImage(Model):
    __tablename__ = "product_images"
    __table_args__ = (Index("ix_product_images_product_id_position", "product_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(lengths.FILENAME))
    alt: Mapped[str] = mapped_column(String(lengths.IMAGE_ALT), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    product: Mapped[Product] = relationship(back_populates="images")
