"""The back office's product use cases: the list, create and edit, options and variants, delete, bulk status."""
import itertools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from shop.database import write_transaction
from shop.extensions import db
from shop.models import (
    Brand,
    Category,
    OrderItem,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    ProductSlugRedirect,
    ProductSpecification,
    ProductVariant,
    StockMovement,
    StockReason,
    User,
    lengths,
)
from shop.models.catalog import DEFAULT_LABEL, MAX_OPTIONS
from shop.money import format_money
from shop.services import NotFound, ShopError, audit
from shop.services.admin_overview import low_stock_threshold
from shop.services.catalog import Page, contains_pattern, first_images
from shop.services.images import delete_files
from shop.services.slugs import is_valid_slug, slugify, unique_slug
from shop.text import storable

MAX_VALUES_PER_OPTION = 30
MAX_COMBINATIONS = 100  # every combination is a row of the variants editor
MAX_SPECIFICATIONS = 50
MAX_INITIAL_STOCK = 1_000_000
MAX_BULK = 500
FALLBACK_SLUG = "product"

SORTS = {
    "name": "Name",
    "newest": "Newest",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
    "stock": "Stock: lowest first",
}
STATUSES = {"": "Any status", "active": "Active", "inactive": "Inactive"}
STOCK_FILTERS = {"": "Any stock", "low": "Low stock", "out": "Out of stock"}

ValueTuple = tuple[str, str, str]


class InvalidProduct(ShopError):
    """Input the form could not judge alone was refused; errors maps form field names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Nothing was saved: please correct the marked fields.")
        self.errors = errors


@dataclass
class ProductFields:
    """What the product form submits; options are (name, values) for positions 0, 1, 2."""

    name: str
    slug: str  # "" to make one from the name
    description: str
    category_id: int
    brand_id: int | None
    is_featured: bool
    is_active: bool
    seo_title: str = ""
    meta_description: str = ""
    specifications: list[tuple[str, str]] = field(default_factory=list)
    options: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class VariantRow:
    """One combination of the variants editor as submitted."""

    values: ValueTuple
    enabled: bool
    sku: str = ""
    price_cents: int | None = None
    compare_at_cents: int | None = None
    image_id: int | None = None
    initial_stock: int = 0


@dataclass
class GridRow:
    """A combination of option values and the variant that sells it, if any."""

    index: int
    values: ValueTuple
    variant: ProductVariant | None

    @property
    def label(self) -> str:
        return " / ".join(value for value in self.values if value) or DEFAULT_LABEL

    @property
    def enabled(self) -> bool:
        return self.variant is not None and self.variant.is_active


@dataclass
class ProductFilters:
    term: str = ""
    category_id: int | None = None
    brand_id: int | None = None
    status: str = ""
    stock: str = ""
    sort: str = "name"


@dataclass
class ProductRow:
    """What the admin list shows for one product; prices and stock count its active variants."""

    product: Product
    image: ProductImage | None
    skus: list[str]
    min_price_cents: int | None
    max_price_cents: int | None
    total_stock: int
    low_stock: bool


@dataclass
class DeleteResult:
    deleted: bool  # False: the product had been ordered, so it was deactivated instead
    name: str


def _money(cents: int | None) -> str:
    return format_money(cents, current_app.config["CURRENCY"]) if cents is not None else "none"




def category_choices() -> list[tuple[int, str]]:
    """Return every category as (id, "Parent › Child"), in tree order, from one query."""
    categories = list(db.session.execute(sa.select(Category.id, Category.parent_id, Category.name, Category.position)))
    children: dict[int | None, list] = {}
    for row in categories:
        children.setdefault(row.parent_id, []).append(row)
    known = {row.id for row in categories}
    roots = [row for row in categories if row.parent_id is None or row.parent_id not in known]
    choices: list[tuple[int, str]] = []
    seen: set[int] = set()

    def walk(rows, prefix: str) -> None:
        for row in sorted(rows, key=lambda r: (r.position, r.name.lower(), r.id)):
            if row.id in seen:
                continue
            seen.add(row.id)
            label = f"{prefix} › {row.name}" if prefix else row.name
            choices.append((row.id, label))
            walk(children.get(row.id, []), label)

    walk(roots, "")
    return choices


def brand_choices() -> list[tuple[int, str]]:
    """Return every brand as (id, name), by name."""
    return [(row.id, row.name) for row in db.session.execute(sa.select(Brand.id, Brand.name).order_by(Brand.name))]


def _subtree_ids(root_id: int) -> list[int]:
    rows = list(db.session.execute(sa.select(Category.id, Category.parent_id)))
    children: dict[int, list[int]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row.id)
    found, frontier = [root_id], [root_id]
    while frontier:
        frontier = [child for parent in frontier for child in children.get(parent, []) if child not in found]
        found.extend(frontier)
    return found


def _active_variants():
    return sa.select(ProductVariant.id).where(ProductVariant.product_id == Product.id,
                                               ProductVariant.is_active.is_(True))


def list_products(filters: ProductFilters, page: int, per_page: int) -> Page:
    """Return one page of products as ProductRows, in a fixed number of queries whatever the page size."""
    conditions = []
    if filters.term:
        pattern = contains_pattern(filters.term)
        conditions.append(sa.or_(
            Product.name.ilike(pattern, escape="\\"),
            sa.exists(sa.select(ProductVariant.id).where(ProductVariant.product_id == Product.id,
                                                         ProductVariant.sku.ilike(pattern, escape="\\"))),
        ))
    if filters.category_id is not None:
        conditions.append(Product.category_id.in_(_subtree_ids(filters.category_id)))
    if filters.brand_id is not None:
        conditions.append(Product.brand_id == filters.brand_id)
    if filters.status:
        conditions.append(Product.is_active.is_(filters.status == "active"))
    if filters.stock == "low":
        conditions.append(sa.exists(_active_variants().where(ProductVariant.stock <= low_stock_threshold())))
    elif filters.stock == "out":
        conditions.append(~sa.exists(_active_variants().where(ProductVariant.stock > 0)))
    condition = sa.and_(sa.true(), *conditions)

    total = db.session.scalar(sa.select(sa.func.count()).select_from(Product).where(condition)) or 0
    page = min(page, max(1, -(-total // per_page)))
    min_price = (sa.select(sa.func.min(ProductVariant.price_cents))
                 .where(ProductVariant.product_id == Product.id, ProductVariant.is_active.is_(True))
                 .correlate(Product).scalar_subquery())
    total_stock = (sa.select(sa.func.coalesce(sa.func.sum(ProductVariant.stock), 0))
                   .where(ProductVariant.product_id == Product.id, ProductVariant.is_active.is_(True))
                   .correlate(Product).scalar_subquery())
    order_by = {
        "name": (sa.func.lower(Product.name), Product.id),
        "newest": (Product.created_at.desc(), Product.id.desc()),
        "price_asc": (min_price.asc().nulls_last(), Product.id),
        "price_desc": (min_price.desc().nulls_last(), Product.id.desc()),
        "stock": (total_stock.asc(), Product.id),
    }.get(filters.sort, (sa.func.lower(Product.name), Product.id))
    products = list(db.session.scalars(
        sa.select(Product).where(condition)
        .options(joinedload(Product.category), joinedload(Product.brand))
        .order_by(*order_by).limit(per_page).offset((page - 1) * per_page)
    ))
    ids = [product.id for product in products]
    variants: dict[int, list[ProductVariant]] = {}
    if ids:
        for variant in db.session.scalars(
            sa.select(ProductVariant).where(ProductVariant.product_id.in_(ids), ProductVariant.is_active.is_(True))
            .order_by(ProductVariant.product_id, ProductVariant.position, ProductVariant.id)
        ):
            variants.setdefault(variant.product_id, []).append(variant)
    images = first_images(ids)
    threshold = low_stock_threshold()
    rows = []
    for product in products:
        own = variants.get(product.id, [])
        prices = [variant.price_cents for variant in own]
        rows.append(ProductRow(
            product=product, image=images.get(product.id), skus=[variant.sku for variant in own],
            min_price_cents=min(prices) if prices else None, max_price_cents=max(prices) if prices else None,
            total_stock=sum(variant.stock for variant in own),
            low_stock=any(variant.stock <= threshold for variant in own),
        ))
    return Page(items=rows, page=page, per_page=per_page, total=total)


def product_for_edit(product_id: int) -> Product:
    """Return a product with its options, specifications, variants and images loaded; NotFound if none."""
    product = db.session.scalar(
        sa.select(Product).where(Product.id == product_id).options(
            selectinload(Product.options).selectinload(ProductOption.values),
            selectinload(Product.specifications), selectinload(Product.variants), selectinload(Product.images),
            joinedload(Product.category), joinedload(Product.brand),
        )
    )
    if product is None:
        raise NotFound("That product does not exist.")
    return product


def option_lists(product: Product) -> list[list[str]]:
    """Return the values of each of the product's options, in position order."""
    return [[value.value for value in option.values] for option in sorted(product.options, key=lambda o: o.position)]


def _combinations(value_lists: Sequence[Sequence[str]]) -> list[ValueTuple]:
    combos = []
    for combo in itertools.product(*value_lists):
        padded = (*combo, "", "", "")[:MAX_OPTIONS]
        combos.append((padded[0], padded[1], padded[2]))
    return combos


def variant_grid(product: Product) -> list[GridRow]:
    """Return every combination of the product's option values with the variant that sells it, if any.

    Where several variants share a combination (one retired, one added later) the active one wins.
    """
    by_values: dict[ValueTuple, ProductVariant] = {}
    for variant in sorted(product.variants, key=lambda v: (v.is_active, v.id)):
        by_values[variant.option_values] = variant
    return [GridRow(index, values, by_values.get(values))
            for index, values in enumerate(_combinations(option_lists(product)))]


def retired_variants(product: Product) -> list[ProductVariant]:
    """Return the inactive variants no combination of the current options shows (kept for order history)."""
    shown = {row.variant.id for row in variant_grid(product) if row.variant is not None}
    return [variant for variant in product.variants if variant.id not in shown]


def products_named(ids: Iterable[int]) -> list[Product]:
    """Return the products with these ids, by name."""
    wanted = list(set(ids))[:MAX_BULK]
    if not wanted:
        return []
    return list(db.session.scalars(sa.select(Product).where(Product.id.in_(wanted)).order_by(Product.name)))


def was_ordered(product_id: int) -> bool:
    """Return whether any order item points at one of the product's variants."""
    return db.session.scalar(sa.select(sa.exists(
        sa.select(OrderItem.id).join(ProductVariant, ProductVariant.id == OrderItem.variant_id)
        .where(ProductVariant.product_id == product_id)
    ))) or False




def _check_fields(fields: ProductFields, product_id: int | None) -> str:
    """Check what needs the database (and the shape of the options); return the slug to store."""
    errors: dict[str, str] = {}
    if not fields.name or len(fields.name) > lengths.PRODUCT_NAME or not storable(fields.name):
        errors["name"] = "Please enter a name (at most 200 characters)."
    if db.session.get(Category, fields.category_id) is None:
        errors["category"] = "Please choose a category."
    if fields.brand_id is not None and db.session.get(Brand, fields.brand_id) is None:
        errors["brand"] = "That brand no longer exists."
    _check_options(fields.options, errors)
    if len(fields.specifications) > MAX_SPECIFICATIONS:
        errors["specifications"] = f"A product can have at most {MAX_SPECIFICATIONS} specifications."
    slug = fields.slug
    if slug:
        if len(slug) > lengths.SLUG or not is_valid_slug(slug):
            errors["slug"] = "Use lower-case letters, digits and single hyphens, e.g. alpine-tent-2p."
        else:
            holder = db.session.scalar(sa.select(Product).where(Product.slug == slug))
            if holder is not None and holder.id != product_id:
                errors["slug"] = f"That slug is already used by “{holder.name}”."
    elif "name" not in errors:
        slug = unique_slug(Product.slug, slugify(fields.name) or FALLBACK_SLUG, exclude_id=product_id)
    if errors:
        raise InvalidProduct(errors)
    return slug


def _check_options(options: list[tuple[str, list[str]]], errors: dict[str, str]) -> None:
    if len(options) > MAX_OPTIONS:
        errors["option1_name"] = f"A product has at most {MAX_OPTIONS} options."
        return
    names: set[str] = set()
    combinations = 1
    for position, (name, values) in enumerate(options, start=1):
        if not name or len(name) > lengths.OPTION_NAME or not storable(name):
            errors[f"option{position}_name"] = "Please name the option (at most 40 characters)."
        elif name.lower() in names:
            errors[f"option{position}_name"] = "Two options have this name."
        names.add(name.lower())
        if not values:
            errors[f"option{position}_values"] = "Please list the option's values, separated by commas."
        elif len(values) > MAX_VALUES_PER_OPTION:
            errors[f"option{position}_values"] = f"An option has at most {MAX_VALUES_PER_OPTION} values."
        elif len({value.lower() for value in values}) != len(values):
            errors[f"option{position}_values"] = "Each value may appear only once."
        elif any(not value or len(value) > lengths.OPTION_VALUE or not storable(value) for value in values):
            errors[f"option{position}_values"] = "Each value needs 1 to 40 characters."
        combinations *= max(1, len(values))
    if combinations > MAX_COMBINATIONS and not errors:
        errors["option1_values"] = (f"These options make {combinations} combinations; "
                                    f"a product can have at most {MAX_COMBINATIONS}.")




def _snapshot(product: Product) -> dict:
    return {
        "name": product.name, "slug": product.slug, "description": product.description,
        "category_id": product.category_id, "brand_id": product.brand_id, "is_featured": product.is_featured,
        "is_active": product.is_active, "seo_title": product.seo_title,
        "meta_description": product.meta_description,
        "specifications": [[spec.name, spec.value] for spec in product.specifications],
        "options": [[option.name, [value.value for value in option.values]] for option in product.options],
    }


def _set_slug(product: Product, slug: str) -> None:
    """Give the product the slug, keeping its old one as a redirect; a slug taken again stops redirecting."""
    db.session.execute(sa.delete(ProductSlugRedirect).where(ProductSlugRedirect.old_slug == slug))
    if product.slug and product.slug != slug:
        db.session.add(ProductSlugRedirect(old_slug=product.slug, product_id=product.id))
    product.slug = slug


def _apply_fields(product: Product, fields: ProductFields, slug: str) -> None:
    product.name = fields.name
    product.description = fields.description
    product.category_id = fields.category_id
    product.brand_id = fields.brand_id
    product.is_featured = fields.is_featured
    product.is_active = fields.is_active
    product.seo_title = fields.seo_title
    product.meta_description = fields.meta_description
    product.specifications = [ProductSpecification(position=position, name=name, value=value)
                              for position, (name, value) in enumerate(fields.specifications)]
    _set_slug(product, slug)


def _apply_options(product: Product, options: list[tuple[str, list[str]]]) -> None:
    existing = {option.position: option for option in product.options}
    kept = []
    for position, (name, values) in enumerate(options):
        option = existing.get(position) or ProductOption(position=position)
        option.name = name
        old = {value.value: value for value in option.values}
        option.values = [old.get(value) or ProductOptionValue(value=value) for value in values]
        for index, value_row in enumerate(option.values):
            value_row.position = index
        kept.append(option)
    product.options = kept


def _used_variant_ids(ids: Iterable[int]) -> set[int]:
    wanted = list(ids)
    if not wanted:
        return set()
    ordered = sa.select(OrderItem.variant_id).where(OrderItem.variant_id.in_(wanted))
    moved = sa.select(StockMovement.variant_id).where(StockMovement.variant_id.in_(wanted))
    return {variant_id for variant_id in db.session.scalars(sa.union(ordered, moved)) if variant_id is not None}


def _retire(product: Product, variants: list[ProductVariant], used: set[int]) -> list[str]:
    """Deactivate the variants that were ordered or moved stock, delete the others; describe each."""
    described = []
    for variant in variants:
        if variant.id in used:
            if variant.is_active:
                variant.is_active = False
                described.append(f"deactivated {variant.label} ({variant.sku}), kept for its history")
        else:
            product.variants.remove(variant)
            db.session.delete(variant)
            described.append(f"deleted {variant.label} ({variant.sku})")
    return described


def _retire_invalid_variants(product: Product) -> list[str]:
    valid = set(_combinations(option_lists(product)))
    stale = [variant for variant in product.variants if variant.option_values not in valid]
    return _retire(product, stale, _used_variant_ids(variant.id for variant in stale))


@contextmanager
def _unless_raced() -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        # Another admin took the same slug or SKU between our check and our commit (Postgres).
        raise ShopError("Another change was saved at the same moment; nothing was saved. Please try again.") from None


def create_product(actor: User, fields: ProductFields) -> Product:
    """Create a product with its options and specifications; its variants are set on the variants page."""
    with _unless_raced(), write_transaction():
        slug = _check_fields(fields, None)
        product = Product(slug="")
        db.session.add(product)
        _apply_fields(product, fields, slug)
        _apply_options(product, fields.options)
        db.session.flush()
        audit.record(actor, "product.create", "product", product.id, f"Created product {product.name} ({slug}).",
                     audit.changed_fields({}, _snapshot(product)))
    return product


def update_product(actor: User, product_id: int, fields: ProductFields) -> str:
    """Save the product's fields, options and specifications; return what changed, in words."""
    with _unless_raced(), write_transaction():
        product = product_for_edit(product_id)
        slug = _check_fields(fields, product_id)
        before = _snapshot(product)
        _apply_fields(product, fields, slug)
        _apply_options(product, fields.options)
        db.session.flush()
        retired = _retire_invalid_variants(product)
        changes = audit.changed_fields(before, _snapshot(product))
        words = _describe_product_changes(changes)
        summary = f"{product.name}: " + ", ".join(words) if words else f"No changes to {product.name}"
        if retired:
            summary += "; variants: " + "; ".join(retired)
            changes["variants"] = [None, retired]
        summary += "."
        if changes:
            audit.record(actor, "product.update", "product", product.id, summary, changes)
        if not any(variant.is_active for variant in product.variants):
            summary += " It has no variant on sale: choose its combinations on the variants page."
    return summary


FIELD_LABELS = {
    "name": "name", "description": "description", "category_id": "category", "brand_id": "brand",
    "seo_title": "SEO title", "meta_description": "meta description", "specifications": "specifications",
    "options": "options",
}


def _describe_product_changes(changes: dict[str, list]) -> list[str]:
    words = []
    for name, (old, new) in changes.items():
        if name == "slug":
            words.append(f"slug {old} → {new} (the old address redirects)")
        elif name == "is_active":
            words.append("activated" if new else "deactivated")
        elif name == "is_featured":
            words.append("featured" if new else "no longer featured")
        else:
            words.append(f"changed {FIELD_LABELS.get(name, name)}")
    return words


def save_variants(actor: User, product_id: int, rows: list[VariantRow]) -> str:
    """Enable, edit and retire the product's combinations; new ones get their initial stock in the ledger."""
    with _unless_raced(), write_transaction():
        product = product_for_edit(product_id)
        grid = variant_grid(product)
        if [row.values for row in rows] != [row.values for row in grid]:
            raise ShopError("The product's options changed since this page was loaded. Please check the list again.")
        _check_variant_rows(product, grid, rows)
        changes: dict[str, list] = {}
        words: list[str] = []
        to_retire = []
        for grid_row, row in zip(grid, rows, strict=True):
            variant = grid_row.variant
            if not row.enabled:
                if variant is not None and variant.is_active:
                    to_retire.append(variant)
                continue
            assert row.price_cents is not None
            if variant is None:
                variant = ProductVariant(
                    product_id=product.id, sku=row.sku, option1=row.values[0], option2=row.values[1],
                    option3=row.values[2], price_cents=row.price_cents, compare_at_cents=row.compare_at_cents,
                    image_id=row.image_id, stock=row.initial_stock, position=grid_row.index, is_active=True,
                )
                product.variants.append(variant)
                db.session.flush()
                if row.initial_stock:
                    db.session.add(StockMovement(variant_id=variant.id, delta=row.initial_stock,
                                                 reason=StockReason.RECEIVED, actor_id=actor.id,
                                                 note="initial stock"))
                changes[f"{row.sku}.created"] = [None, {"price_cents": row.price_cents,
                                                        "compare_at_cents": row.compare_at_cents,
                                                        "stock": row.initial_stock}]
                words.append(f"added {grid_row.label} ({row.sku}) at {_money(row.price_cents)}"
                             f" with {row.initial_stock} in stock")
                continue
            old_sku = variant.sku
            before = {"sku": old_sku, "price_cents": variant.price_cents,
                      "compare_at_cents": variant.compare_at_cents, "image_id": variant.image_id,
                      "is_active": variant.is_active}
            after = {"sku": row.sku, "price_cents": row.price_cents, "compare_at_cents": row.compare_at_cents,
                     "image_id": row.image_id, "is_active": True}
            variant_changes = audit.changed_fields(before, after)
            if not variant_changes:
                continue
            variant.sku, variant.price_cents, variant.compare_at_cents = row.sku, row.price_cents, row.compare_at_cents
            variant.image_id, variant.is_active, variant.position = row.image_id, True, grid_row.index
            changes.update({f"{old_sku}.{name}": values for name, values in variant_changes.items()})
            words.append(_describe_variant_change(grid_row.label, old_sku, variant_changes))
        db.session.flush()
        words += _retire(product, to_retire, _used_variant_ids(variant.id for variant in to_retire))
        if not words:
            return f"No changes to the variants of {product.name}."
        summary = f"Variants of {product.name}: " + "; ".join(words) + "."
        audit.record(actor, "product.variants", "product", product.id, summary, changes)
    return summary


def _describe_variant_change(label: str, sku: str, changes: dict[str, list]) -> str:
    parts = []
    for name, (old, new) in changes.items():
        if name == "price_cents":
            parts.append(f"price {_money(old)} → {_money(new)}")
        elif name == "compare_at_cents":
            parts.append(f"compare-at price {_money(old)} → {_money(new)}")
        elif name == "is_active":
            parts.append("enabled again")
        elif name == "image_id":
            parts.append("image changed")
        else:
            parts.append(f"SKU {old} → {new}")
    return f"{label} ({sku}): " + ", ".join(parts)


def _check_variant_rows(product: Product, grid: list[GridRow], rows: list[VariantRow]) -> None:
    errors: dict[str, str] = {}
    image_ids = {image.id for image in product.images}
    enabled = [(grid_row, row) for grid_row, row in zip(grid, rows, strict=True) if row.enabled]
    if not enabled:
        errors["variants"] = "Enable at least one combination: a product needs one to be sold."
    wanted_skus = [row.sku for _, row in enabled if row.sku]
    holders = {variant.sku: variant for variant in db.session.scalars(
        sa.select(ProductVariant).options(joinedload(ProductVariant.product))
        .where(ProductVariant.sku.in_(wanted_skus)))} if wanted_skus else {}
    seen: set[str] = set()
    for grid_row, row in enabled:
        prefix = f"variants-{grid_row.index}-"
        own_id = grid_row.variant.id if grid_row.variant is not None else None
        holder = holders.get(row.sku)
        if not row.sku or len(row.sku) > lengths.SKU or not storable(row.sku) or row.sku != row.sku.strip():
            errors[prefix + "sku"] = "Please enter a SKU (at most 64 characters)."
        elif row.sku in seen:
            errors[prefix + "sku"] = "Two combinations have this SKU."
        elif holder is not None and holder.id != own_id:
            owner = "this product" if holder.product_id == product.id else f"“{holder.product.name}”"
            errors[prefix + "sku"] = f"This SKU is already used by {owner} ({holder.label})."
        seen.add(row.sku)
        if row.price_cents is None:
            errors[prefix + "price"] = "Please enter a price."
        elif row.compare_at_cents is not None and row.compare_at_cents <= row.price_cents:
            errors[prefix + "compare_at"] = "The compare-at price must be higher than the price, or blank."
        if row.image_id is not None and row.image_id not in image_ids:
            errors[prefix + "image"] = "Choose one of this product's images."
        if grid_row.variant is None and not 0 <= row.initial_stock <= MAX_INITIAL_STOCK:
            errors[prefix + "initial_stock"] = f"Enter a whole number from 0 to {MAX_INITIAL_STOCK:,}."
    if errors:
        raise InvalidProduct(errors)


def set_products_active(actor: User, product_ids: Iterable[int], active: bool) -> list[str]:
    """Activate or deactivate the products; return the names of those whose status changed."""
    wanted = list(set(product_ids))[:MAX_BULK]
    changed = []
    with write_transaction():
        if not wanted:
            return []
        for product in db.session.scalars(sa.select(Product).where(Product.id.in_(wanted)).order_by(Product.name)):
            if product.is_active == active:
                continue
            product.is_active = active
            changed.append(product.name)
            verb = "Activated" if active else "Deactivated"
            audit.record(actor, "product.activate" if active else "product.deactivate", "product", product.id,
                         f"{verb} product {product.name}.", {"is_active": [not active, active]})
    return changed


def delete_product(actor: User, product_id: int) -> DeleteResult:
    """Delete a product never ordered, with its image files; one that was ordered is deactivated instead."""
    with write_transaction():
        product = product_for_edit(product_id)
        name = product.name
        if was_ordered(product_id):
            if product.is_active:
                product.is_active = False
                audit.record(actor, "product.deactivate", "product", product.id,
                             f"Deactivated product {name} instead of deleting it: it has been ordered.",
                             {"is_active": [True, False]})
            return DeleteResult(deleted=False, name=name)
        keys = [image.key for image in product.images if image.key]
        audit.record(actor, "product.delete", "product", product.id, f"Deleted product {name} ({product.slug}).",
                     {"name": [name, None], "skus": [[variant.sku for variant in product.variants], None],
                      "prices": [[variant.price_cents for variant in product.variants], None]})
        db.session.delete(product)
    delete_files(keys)
    return DeleteResult(deleted=True, name=name)
