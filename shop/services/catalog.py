"""Read-side catalogue queries, each a fixed number of SQL statements.

Flags are compared with "= true", not "IS true": Postgres can serve only the former from an index.
"""
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy.orm import aliased, joinedload, selectinload

from shop.extensions import db
from shop.models import (
    Category,
    Product,
    ProductImage,
    ProductOption,
    ProductSearch,
    ProductSlugRedirect,
    ProductVariant,
)


@dataclass
class ProductCard:
    """What a product listing shows for one product."""

    product: Product
    min_price_cents: int
    compare_at_cents: int | None
    in_stock: bool
    image: ProductImage | None
    hover_image: ProductImage | None  # the second photo, shown while the pointer is over the card
    rating_count: int = 0  # visible reviews
    rating_total: int = 0  # their stars added up

    @property
    def rating_average(self) -> float | None:
        """Return the average stars for display (never for money or sorting), or None without reviews."""
        return self.rating_total / self.rating_count if self.rating_count else None


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def top_categories() -> list[Category]:
    """Return the active top-level categories for navigation (an inactive one hides everything under it)."""
    return [category for category in all_categories() if category.parent_id is None and category.is_active]


def all_categories() -> list[Category]:
    """Return every category in sibling order, read once per request.

    The header's menu, the home page's tiles, the breadcrumbs and the category page all need the
    tree; a shop has tens of categories, so one read serves them all.
    """
    if has_request_context() and "catalog_categories" in g:
        return g.catalog_categories
    categories = list(db.session.scalars(sa.select(Category).order_by(Category.position, Category.name, Category.id)))
    if has_request_context():
        g.catalog_categories = categories
    return categories


@dataclass
class CategoryTile:
    """A top-level category on the home page with the picture that stands for it."""

    category: Category
    image: ProductImage | None  # None when the category has its own picture (image_key) or nothing to show


def category_tiles() -> list[CategoryTile]:
    """Return the visible top-level categories, each with a product photo from its branch.

    A category's own picture wins; else the photo of its newest product, looking in the category
    itself first and then down its branch.
    """
    visible = [category for category in all_categories() if category.is_active]
    tops = [category for category in visible if category.parent_id is None]
    branches = {top.id: _descendant_ids(top.id, visible) for top in tops if not top.image_key}
    pictures = _category_pictures([category_id for branch in branches.values() for category_id in branch])
    tiles = []
    for top in tops:
        branch = branches.get(top.id, [])
        image = next((pictures[category_id] for category_id in branch if category_id in pictures), None)
        tiles.append(CategoryTile(top, image))
    return tiles


def _category_pictures(category_ids: list[int]) -> dict[int, ProductImage]:
    """Return the first photo of the newest active product with photos in each category, in one query.

    Newest by id, which an index gives without sorting the category's products: ranking them with a
    window function (featured first, then newest) made the home page several times slower at
    10,000 products.
    """
    if not category_ids:
        return {}
    newest_with_photo = (
        sa.select(Product.id)
        .where(Product.category_id == Category.id, Product.is_active == sa.true(),
               sa.exists().where(ProductImage.product_id == Product.id))
        .order_by(Product.id.desc())
        .limit(1)
        .correlate(Category)
        .scalar_subquery()
    )
    picked = (
        sa.select(Category.id.label("category_id"), newest_with_photo.label("product_id"))
        # Skipping empty categories (often the top-level ones) first: for them, Postgres would walk
        # every product newest-first looking for one.
        .where(Category.id.in_(category_ids),
               sa.exists().where(Product.category_id == Category.id, Product.is_active == sa.true()))
        .subquery()
    )
    photo = aliased(ProductImage)
    first_photo = (
        sa.select(photo.id)
        .where(photo.product_id == picked.c.product_id)
        .order_by(photo.position, photo.id)
        .limit(1)
        .correlate(picked)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(picked.c.category_id, ProductImage).join(ProductImage, ProductImage.id == first_photo)
    )
    return {category_id: image for category_id, image in rows}


@dataclass
class CategoryFamily:
    category: Category
    ancestors: list[Category]  # root first
    children: list[Category]
    subtree_ids: list[int]  # the category and all its descendants

    @property
    def trail(self) -> list["Crumb"]:
        """Return the ancestors as breadcrumb steps, each linked (a hidden one would hide this page too)."""
        return [Crumb(ancestor, True) for ancestor in self.ancestors]


def category_family(slug: str) -> CategoryFamily | None:
    """Return a category shoppers may see with its ancestors, children and subtree, from the category tree.

    A category that is inactive, or under an inactive one, is hidden (None); so are the inactive
    branches below a visible one, and their products.
    """
    categories = all_categories()
    by_id = {category.id: category for category in categories}
    category = next((c for c in categories if c.slug == slug), None)
    if category is None:
        return None
    ancestors: list[Category] = []
    parent_id = category.parent_id
    while parent_id in by_id and by_id[parent_id] not in ancestors:
        ancestors.insert(0, by_id[parent_id])
        parent_id = by_id[parent_id].parent_id
    if not all(c.is_active for c in [*ancestors, category]):
        return None
    visible = [c for c in categories if c.is_active]
    children = sorted(
        (c for c in visible if c.parent_id == category.id), key=lambda c: (c.position, c.name)
    )
    return CategoryFamily(category, ancestors, children, _descendant_ids(category.id, visible))


def _descendant_ids(root_id: int, categories: list[Category]) -> list[int]:
    children_of: dict[int, list[int]] = {}
    for category in categories:
        if category.parent_id is not None:
            children_of.setdefault(category.parent_id, []).append(category.id)
    found, frontier = [root_id], [root_id]
    while frontier:
        frontier = [
            child for parent in frontier for child in children_of.get(parent, []) if child not in found
        ]
        found.extend(frontier)
    return found


def cards(products: list[Product]) -> list[ProductCard]:
    """Build cards for a page of products with two more queries: prices and stock, then images."""
    ids = [product.id for product in products]
    if not ids:
        return []
    summary = {
        row.product_id: row
        for row in db.session.execute(
            sa.select(
                ProductVariant.product_id,
                sa.func.min(ProductVariant.price_cents).label("min_price"),
                sa.func.max(ProductVariant.compare_at_cents).label("compare_at"),
                sa.func.max(ProductVariant.stock).label("max_stock"),
                sa.func.max(ProductSearch.rating_count).label("rating_count"),
                sa.func.max(ProductSearch.rating_total).label("rating_total"),
            )
            .outerjoin(ProductSearch, ProductSearch.product_id == ProductVariant.product_id)
            .where(ProductVariant.product_id.in_(ids), ProductVariant.is_active == sa.true())
            .group_by(ProductVariant.product_id)
        )
    }
    images = leading_images(ids, 2)
    cards = []
    for product in products:
        row = summary.get(product.id)
        if row is None:
            continue  # a product without active variants cannot be bought, so it is not listed
        cards.append(
            ProductCard(
                product=product,
                min_price_cents=row.min_price,
                compare_at_cents=row.compare_at if row.compare_at and row.compare_at > row.min_price else None,
                in_stock=(row.max_stock or 0) > 0,
                image=next(iter(images.get(product.id, [])), None),
                hover_image=next(iter(images.get(product.id, [])[1:]), None),
                rating_count=row.rating_count or 0,
                rating_total=row.rating_total or 0,
            )
        )
    return cards


def first_images(product_ids) -> dict[int, ProductImage]:
    """Return each product's first image, in one query."""
    return {product_id: images[0] for product_id, images in leading_images(product_ids, 1).items()}


def leading_images(product_ids, count: int) -> dict[int, list[ProductImage]]:
    """Return each product's first count images in order, in one query."""
    ids = list(set(product_ids))
    if not ids:
        return {}
    ranked = (
        sa.select(
            ProductImage.id,
            sa.func.row_number().over(
                partition_by=ProductImage.product_id, order_by=(ProductImage.position, ProductImage.id)
            ).label("rank"),
        )
        .where(ProductImage.product_id.in_(ids))
        .subquery()
    )
    images = db.session.scalars(
        sa.select(ProductImage)
        .join(ranked, ranked.c.id == ProductImage.id)
        .where(ranked.c.rank <= count)
        .order_by(ProductImage.product_id, ProductImage.position, ProductImage.id)
    )
    leading: dict[int, list[ProductImage]] = {}
    for image in images:
        leading.setdefault(image.product_id, []).append(image)
    return leading


def contains_pattern(term: str) -> str:
    """Return an ILIKE pattern matching the term anywhere, its wildcards escaped (use escape="\\")."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def featured_products(limit: int = 8) -> list[ProductCard]:
    """Return featured active products, newest first."""
    products = list(
        db.session.scalars(
            sa.select(Product)
            .where(Product.is_featured == sa.true(), Product.is_active == sa.true())
            .options(selectinload(Product.brand))
            .order_by(Product.created_at.desc(), Product.id.desc())
            .limit(limit)
        )
    )
    return cards(products)


def product_detail(slug: str) -> Product | None:
    """Return an active product with its brand, variants, options, specifications and images loaded.

    Its inactive variants are loaded too: the page shows only the active ones.
    """
    return db.session.scalar(
        sa.select(Product)
        .where(Product.slug == slug, Product.is_active == sa.true())
        .options(
            joinedload(Product.brand),
            selectinload(Product.variants),
            selectinload(Product.images),
            selectinload(Product.options).selectinload(ProductOption.values),
            selectinload(Product.specifications),
        )
    )


@dataclass
class Crumb:
    """One step of a breadcrumb trail: a category, and whether shoppers may open its page."""

    category: Category
    visible: bool


def category_trail(category_id: int) -> list[Crumb]:
    """Return the path from the top-level category down to the given one, from the category tree.

    A category whose own or an ancestor's page is hidden (inactive) is named but not linked.
    """
    by_id = {category.id: category for category in all_categories()}
    path: list[Category] = []
    current = by_id.get(category_id)
    while current is not None and current not in path:
        path.insert(0, current)
        current = by_id.get(current.parent_id) if current.parent_id is not None else None
    trail, visible = [], True
    for category in path:
        visible = visible and category.is_active
        trail.append(Crumb(category, visible))
    return trail


def renamed_product_slug(old_slug: str) -> str | None:
    """Return the current slug of the active product that used to have old_slug, or None."""
    return db.session.scalar(
        sa.select(Product.slug)
        .join(ProductSlugRedirect, ProductSlugRedirect.product_id == Product.id)
        .where(ProductSlugRedirect.old_slug == old_slug, Product.is_active == sa.true())
    )


def related_products(product: Product, limit: int) -> list[Product]:
    """Return up to `limit` other active products in stock: of the same category first, then of the same brand.

    Newest first by id, which the category and brand indexes give in order: each half stops at
    `limit` products instead of sorting a large category. An active variant in stock also means the
    product is listed (it has a price), so the search row's price need not be read.
    """
    in_stock = sa.exists().where(
        ProductVariant.product_id == Product.id, ProductVariant.is_active == sa.true(), ProductVariant.stock > 0
    )

    def newest(condition, rank: int):
        return sa.select(Product.id, sa.literal(rank).label("rank")).where(
            condition, Product.id != product.id, Product.is_active == sa.true(), in_stock
        ).order_by(Product.id.desc()).limit(limit).subquery()

    halves = [newest(Product.category_id == product.category_id, 0)]
    if product.brand_id is not None:
        halves.append(newest(sa.and_(Product.brand_id == product.brand_id,
                                     Product.category_id != product.category_id), 1))
    chosen = sa.union_all(*(sa.select(half) for half in halves)).subquery()
    return list(db.session.scalars(
        sa.select(Product)
        .join(chosen, chosen.c.id == Product.id)
        .options(joinedload(Product.brand))
        .order_by(chosen.c.rank, Product.id.desc())
        .limit(limit)
    ))


def active_products(ids: list[int]) -> list[Product]:
    """Return the active products among ids, in the order of ids, with their brands; no query for none."""
    if not ids:
        return []
    found = {
        item.id: item
        for item in db.session.scalars(
            sa.select(Product).where(Product.id.in_(ids), Product.is_active == sa.true())
            .options(joinedload(Product.brand))
        )
    }
    return [found[product_id] for product_id in ids if product_id in found]
