"""Categories, brands, products, their variants and images."""
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc

DEFAULT_LABEL = "Default"
MAX_OPTIONS = 3  # a variant is one combination of at most three option values


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
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    seo_title: Mapped[str] = mapped_column(String(lengths.SEO_TITLE), default="")
    meta_description: Mapped[str] = mapped_column(String(lengths.META_DESCRIPTION), default="")
    # The stored picture's key (see shop/services/images.py); None when the category has none.
    image_key: Mapped[str | None] = mapped_column(String(lengths.MEDIA_KEY))

    parent: Mapped["Category | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Category"]] = relationship(
        back_populates="parent", order_by="Category.position"
    )


class Brand(Model):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(lengths.BRAND_NAME))
    slug: Mapped[str] = mapped_column(String(lengths.BRAND_SLUG), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    logo_key: Mapped[str | None] = mapped_column(String(lengths.MEDIA_KEY))


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
    seo_title: Mapped[str] = mapped_column(String(lengths.SEO_TITLE), default="")
    meta_description: Mapped[str] = mapped_column(String(lengths.META_DESCRIPTION), default="")
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
    options: Mapped[list["ProductOption"]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductOption.position"
    )
    specifications: Mapped[list["ProductSpecification"]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductSpecification.position"
    )


class ProductOption(Model):
    """An option the owner names for a product (Size, Colour...); position 0 fills each variant's option1."""

    __tablename__ = "product_options"
    __table_args__ = (
        UniqueConstraint("product_id", "position", name="uq_product_options_product_id_position"),
        CheckConstraint(f"position >= 0 AND position < {MAX_OPTIONS}", name="position_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(lengths.OPTION_NAME))

    product: Mapped[Product] = relationship(back_populates="options")
    values: Mapped[list["ProductOptionValue"]] = relationship(
        back_populates="option", cascade="all, delete-orphan", order_by="ProductOptionValue.position"
    )


class ProductOptionValue(Model):
    """One value of an option, in the order the owner wants it shown (S, M, L)."""

    __tablename__ = "product_option_values"
    __table_args__ = (
        UniqueConstraint("option_id", "value", name="uq_product_option_values_option_id_value"),
        Index("ix_product_option_values_option_id_position", "option_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("product_options.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(String(lengths.OPTION_VALUE))
    position: Mapped[int] = mapped_column(Integer, default=0)

    option: Mapped[ProductOption] = relationship(back_populates="values")


class ProductSpecification(Model):
    """A name/value line of the product page's specifications, e.g. Material: Oak."""

    __tablename__ = "product_specifications"
    __table_args__ = (Index("ix_product_specifications_product_id_position", "product_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(lengths.SPEC_NAME))
    value: Mapped[str] = mapped_column(String(lengths.SPEC_VALUE))

    product: Mapped[Product] = relationship(back_populates="specifications")


class ProductSlugRedirect(Model):
    """A slug the product had before: its old links redirect to the current one."""

    __tablename__ = "product_slug_redirects"

    id: Mapped[int] = mapped_column(primary_key=True)
    old_slug: Mapped[str] = mapped_column(String(lengths.SLUG), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class ProductVariant(Model):
    __tablename__ = "product_variants"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        # Listings ask for each product's cheapest active variant: one seek, no row visited.
        Index("ix_product_variants_product_id_active_price", "product_id", "is_active", "price_cents"),
        # "In stock" on listings and their facet counts: answered from the index alone.
        Index("ix_product_variants_product_id_active_stock", "product_id", "is_active", "stock"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(lengths.SKU), unique=True)
    # The variant's value for the product's options at positions 0, 1 and 2; "" where it has none.
    option1: Mapped[str] = mapped_column(String(lengths.OPTION_VALUE), default="")
    option2: Mapped[str] = mapped_column(String(lengths.OPTION_VALUE), default="")
    option3: Mapped[str] = mapped_column(String(lengths.OPTION_VALUE), default="")
    price_cents: Mapped[int] = mapped_column(Integer)
    compare_at_cents: Mapped[int | None] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # A combination the owner switched off: kept (orders and the ledger point at it), never sold.
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    image_id: Mapped[int | None] = mapped_column(ForeignKey("product_images.id", ondelete="SET NULL"))
    # Set when a low-stock email went out for this variant, cleared once stock rises above the threshold
    # again: one email per crossing, not one per sale.
    low_stock_alerted: Mapped[bool] = mapped_column(Boolean, default=False)

    product: Mapped[Product] = relationship(back_populates="variants")
    image: Mapped["ProductImage | None"] = relationship(foreign_keys=[image_id])

    @property
    def option_values(self) -> tuple[str, str, str]:
        return (self.option1, self.option2, self.option3)

    @property
    def label(self) -> str:
        """Return the human name of the option values, e.g. "M / Blue"."""
        return " / ".join(value for value in self.option_values if value) or DEFAULT_LABEL


class ProductImage(Model):
    __tablename__ = "product_images"
    __table_args__ = (Index("ix_product_images_product_id_position", "product_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    # The file a page shows when the image has no renditions (the demo's pictures, older uploads).
    filename: Mapped[str] = mapped_column(String(lengths.FILENAME))
    alt: Mapped[str] = mapped_column(String(lengths.IMAGE_ALT), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Set for uploads: the renditions' common key (see shop/services/images.py) and the full size's pixels.
    key: Mapped[str | None] = mapped_column(String(lengths.MEDIA_KEY), unique=True)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)

    product: Mapped[Product] = relationship(back_populates="images", foreign_keys=[product_id])
