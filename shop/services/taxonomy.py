"""Categories and brands: the back office's use cases for how the catalogue is organised."""
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from shop.database import rows_changed, write_transaction
from shop.extensions import db
from shop.models import Brand, Category, Product, User, lengths
from shop.services import NotFound, ShopError, audit, images, search_index
from shop.services.catalog import Page
from shop.services.ordering import move_one_place
from shop.services.slugs import is_valid_slug, slugify, unique_slug
from shop.text import storable

MAX_DESCRIPTION = 20_000
BRAND_SORTS = {"name": "Name, A to Z", "name_desc": "Name, Z to A", "products": "Most products", "newest": "Newest"}
BRAND_PRODUCT_FILTERS = {"": "Any", "with": "Has products", "without": "No products"}
CATEGORY_STATUSES = {"": "Any status", "active": "Active", "inactive": "Inactive"}
# What the audit log and the flash messages call each field.
FIELD_LABELS = {
    "name": "name", "slug": "slug", "parent_id": "parent", "description": "description", "seo_title": "SEO title",
    "meta_description": "meta description", "is_active": "active flag", "image_key": "image", "logo_key": "logo",
}


class FieldRefusal(ShopError):
    """A refusal about one form field: the page shows the message next to that field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class CategoryFields:
    name: str
    slug: str  # "" makes one from the name
    parent_id: int | None
    description: str = ""
    seo_title: str = ""
    meta_description: str = ""
    is_active: bool = True


@dataclass
class BrandFields:
    name: str
    slug: str  # "" makes one from the name
    description: str = ""


@dataclass
class Saved:
    """What a create or edit did: the row's name now, and the labels of the fields it changed."""

    id: int
    name: str
    changed: list[str]


@dataclass
class TreeRow:
    category: Category
    depth: int
    path: list[str]  # the ancestors' names, root first
    product_count: int  # products filed in this category itself
    subtree_product_count: int  # ...and in every category under it
    hidden_by_parent: bool  # active itself, but an ancestor is not, so shoppers cannot see it
    is_first: bool  # among its siblings, for the move up/down buttons
    is_last: bool


@dataclass
class BrandRow:
    brand: Brand
    product_count: int


# --- Categories -------------------------------------------------------------------------------


def category_tree(term: str = "", status: str = "") -> list[TreeRow]:
    """Return the categories in tree order with product counts (two queries), those matching term and status."""
    categories = list(db.session.scalars(sa.select(Category).order_by(Category.position, Category.name, Category.id)))
    counts = dict(db.session.execute(
        sa.select(Product.category_id, sa.func.count()).group_by(Product.category_id)).all())
    children_of = _children_of(categories)
    walked = list(_walk(categories, children_of))
    subtree_counts: dict[int, int] = {}
    for category, ancestors in walked:
        own = counts.get(category.id, 0)
        for holder in [*ancestors, category]:
            subtree_counts[holder.id] = subtree_counts.get(holder.id, 0) + own
    rows: list[TreeRow] = []
    for category, ancestors in walked:
        siblings = children_of.get(category.parent_id if ancestors else None, [])
        rows.append(TreeRow(
            category=category, depth=len(ancestors), path=[ancestor.name for ancestor in ancestors],
            product_count=counts.get(category.id, 0), subtree_product_count=subtree_counts[category.id],
            hidden_by_parent=category.is_active and not all(ancestor.is_active for ancestor in ancestors),
            is_first=bool(siblings) and siblings[0] is category, is_last=bool(siblings) and siblings[-1] is category,
        ))
    needle = term.casefold()
    return [
        row for row in rows
        if needle in row.category.name.casefold()
        and (status == "" or row.category.is_active == (status == "active"))
    ]


def _children_of(categories: list[Category]) -> dict[int | None, list[Category]]:
    """Group categories (already in sibling order) by parent; a parent that is missing counts as the top."""
    ids = {category.id for category in categories}
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        parent = category.parent_id if category.parent_id in ids else None
        children.setdefault(parent, []).append(category)
    return children


def _walk(categories: list[Category], children_of) -> Iterator[tuple[Category, list[Category]]]:
    """Yield (category, its ancestors) depth first, each sibling group in position order."""
    seen: set[int] = set()
    stack: list[tuple[Category, list[Category]]] = [(category, []) for category in reversed(children_of.get(None, []))]
    while stack:
        category, ancestors = stack.pop()
        if category.id in seen:
            continue
        seen.add(category.id)
        yield category, ancestors
        stack.extend((child, [*ancestors, category]) for child in reversed(children_of.get(category.id, [])))


def parent_choices(category_id: int | None = None) -> list[tuple[int, str]]:
    """Return (id, indented name) of every category the given one may move under: not itself or its descendants."""
    categories = list(db.session.scalars(sa.select(Category).order_by(Category.position, Category.name, Category.id)))
    choices = []
    for category, ancestors in _walk(categories, _children_of(categories)):
        if category_id is not None and any(c.id == category_id for c in [*ancestors, category]):
            continue
        choices.append((category.id, "\u2014 " * len(ancestors) + category.name))
    return choices


def category_for_edit(category_id: int) -> Category | None:
    """Return the category to edit, or None."""
    return db.session.get(Category, category_id)


def create_category(actor: User, fields: CategoryFields, image: FileStorage | None = None) -> Saved:
    """Add a category at the end of its parent's children; an uploaded image is stored with it."""
    with _new_picture(image, "image") as picture, write_transaction():
        values = _category_values(fields, exclude_id=None)
        _check_parent(None, values["parent_id"])
        category = Category(**values, position=_next_position(values["parent_id"]),
                            image_key=picture.key if picture else None)
        db.session.add(category)
        _flush_unique("slug", "That slug was taken a moment ago; please choose another.")
        changes = audit.changed_fields({}, _category_state(category))
        audit.record(actor, "category.create", "category", category.id, f"Created category {category.name}",
                     changes)
        saved = Saved(category.id, category.name, _labels(changes))
    return saved


def update_category(actor: User, category_id: int, fields: CategoryFields, image: FileStorage | None = None,
                    remove_image: bool = False) -> Saved:
    """Change a category: its fields, its parent (refusing cycles) and its image."""
    with _new_picture(image, "image") as picture, write_transaction():
        values = _category_values(fields, exclude_id=category_id)
        category = db.session.get(Category, category_id)
        if category is None:
            raise NotFound()
        before = _category_state(category)
        old_key = category.image_key
        if values["parent_id"] != category.parent_id:
            _check_parent(category, values["parent_id"])
            old_parent = category.parent_id
            category.position = _next_position(values["parent_id"])
            category.parent_id = values["parent_id"]
            db.session.flush()
            _renumber(old_parent)
        for name, value in values.items():
            setattr(category, name, value)
        _swap_picture(category, "image_key", picture, remove_image)
        saved = _audited_update(actor, "category", category, before, _category_state)
        new_key = category.image_key
    if old_key and old_key != new_key:
        images.delete_files([old_key])
    return saved


def move_category(actor: User, category_id: int, direction: str) -> tuple[str, bool]:
    """Move a category one place up or down among its siblings; return its name and whether it moved."""
    if direction not in ("up", "down"):
        raise ShopError("Choose whether to move the category up or down.")
    with write_transaction():
        category = db.session.get(Category, category_id)
        if category is None:
            raise NotFound()
        _lock_tree()
        siblings = _siblings(category.parent_id)
        before = category.position
        if not move_one_place(siblings, category, direction):
            return category.name, False
        audit.record(actor, "category.reorder", "category", category.id,
                     f"Moved category {category.name} {direction} among its siblings",
                     {"position": [before, category.position]})
        return category.name, True


@dataclass
class DeleteCheck:
    category: Category
    product_count: int
    child_count: int

    @property
    def refusal(self) -> str | None:
        """Return why the category cannot be deleted yet, or None when it can."""
        parts = [_plural(self.product_count, "product", "products"),
                 _plural(self.child_count, "subcategory", "subcategories")]
        held = " and ".join(part for part in parts if part)
        return f"{self.category.name} still has {held}; move or delete them first." if held else None


def category_delete_check(category_id: int) -> DeleteCheck | None:
    """Return the category with how many products and subcategories still hold it, or None if it is gone."""
    category = db.session.get(Category, category_id)
    if category is None:
        return None
    return _delete_check(category)


def _delete_check(category: Category) -> DeleteCheck:
    products, children = db.session.execute(sa.select(
        sa.select(sa.func.count()).where(Product.category_id == category.id).scalar_subquery(),
        sa.select(sa.func.count()).where(Category.parent_id == category.id).scalar_subquery(),
    )).one()
    return DeleteCheck(category, products, children)


def delete_category(actor: User, category_id: int) -> str:
    """Delete a category that holds no products and no subcategories; return its name."""
    with write_transaction():
        category = db.session.get(Category, category_id)
        if category is None:
            raise NotFound()
        _lock_tree()
        refusal = _delete_check(category).refusal
        if refusal:
            raise ShopError(refusal)
        name, key, parent_id = category.name, category.image_key, category.parent_id
        state = _category_state(category)
        audit.record(actor, "category.delete", "category", category.id, f"Deleted category {name}",
                     {field: [value, None] for field, value in state.items()})
        db.session.delete(category)
        # A product or subcategory added since the check makes the database refuse (RESTRICT).
        _flush_unique(None, f"{name} was given products or subcategories a moment ago; it was not deleted.")
        _renumber(parent_id)
    images.delete_files([key])
    return name


def _category_values(fields: CategoryFields, exclude_id: int | None) -> dict:
    name = _clean("name", fields.name, "name", lengths.CATEGORY_NAME, required=True)
    return {
        "name": name,
        "slug": _slug(Category, fields.slug, name, exclude_id, lengths.CATEGORY_SLUG, "category"),
        "parent_id": fields.parent_id,
        "description": _clean("description", fields.description, "description", MAX_DESCRIPTION, multiline=True),
        "seo_title": _clean("seo_title", fields.seo_title, "SEO title", lengths.SEO_TITLE),
        "meta_description": _clean("meta_description", fields.meta_description, "meta description",
                                   lengths.META_DESCRIPTION),
        "is_active": bool(fields.is_active),
    }


def _category_state(category: Category) -> dict:
    return {field: getattr(category, field) for field in (
        "name", "slug", "parent_id", "description", "seo_title", "meta_description", "is_active", "image_key")}


def _lock_tree() -> dict[int, int | None]:
    """Return every category's parent, locking the rows on Postgres so concurrent moves cannot make a cycle."""
    # SQLite ignores FOR UPDATE; its BEGIN IMMEDIATE already lets one writer at a time in.
    rows = db.session.execute(sa.select(Category.id, Category.parent_id).order_by(Category.id).with_for_update())
    return dict(rows.all())


def _check_parent(category: Category | None, parent_id: int | None) -> None:
    """Refuse a parent that is gone, or (for a move) the category itself or one of its descendants."""
    if parent_id is None:
        return
    parents = _lock_tree()
    if parent_id not in parents:
        raise FieldRefusal("parent_id", "That parent category no longer exists; choose another.")
    if category is None:
        return
    parent = db.session.get(Category, parent_id)
    assert parent is not None
    if parent.id == category.id:
        raise FieldRefusal("parent_id", f"{category.name} cannot move under itself.")
    ancestor_id: int | None = parent.id
    seen: set[int] = set()
    while ancestor_id is not None and ancestor_id not in seen:
        if ancestor_id == category.id:
            raise FieldRefusal("parent_id", f"{category.name} cannot move under {parent.name}: "
                                            f"{parent.name} is one of its own subcategories.")
        seen.add(ancestor_id)
        ancestor_id = parents.get(ancestor_id)


def _siblings(parent_id: int | None) -> list[Category]:
    condition = Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id
    return list(db.session.scalars(
        sa.select(Category).where(condition).order_by(Category.position, Category.name, Category.id)))


def _next_position(parent_id: int | None) -> int:
    condition = Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id
    highest = db.session.scalar(sa.select(sa.func.max(Category.position)).where(condition))
    return 0 if highest is None else highest + 1


def _renumber(parent_id: int | None) -> None:
    """Number the children of a parent 0, 1, 2... in their current order (after one left)."""
    for position, sibling in enumerate(_siblings(parent_id)):
        if sibling.position != position:
            sibling.position = position


# --- Brands -----------------------------------------------------------------------------------


def brand_list(term: str, sort: str, page: int, per_page: int, products: str = "") -> Page:
    """Return one page of brands matching the term (and ?products= with/without), with product counts: two queries."""
    conditions = [Brand.name.icontains(term, autoescape=True)] if term else []
    if products in ("with", "without"):
        has_products = sa.exists().where(Product.brand_id == Brand.id)
        conditions.append(has_products if products == "with" else ~has_products)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Brand).where(*conditions)) or 0
    page = min(page, max(1, -(-total // per_page)))
    counts = (sa.select(Product.brand_id, sa.func.count().label("products"))
              .where(Product.brand_id.is_not(None)).group_by(Product.brand_id).subquery())
    product_count = sa.func.coalesce(counts.c.products, 0)
    order = {
        "name": (Brand.name.asc(), Brand.id.asc()),
        "name_desc": (Brand.name.desc(), Brand.id.desc()),
        "products": (product_count.desc(), Brand.name.asc(), Brand.id.asc()),
        "newest": (Brand.id.desc(),),
    }.get(sort, (Brand.name.asc(), Brand.id.asc()))
    rows = db.session.execute(
        sa.select(Brand, product_count).outerjoin(counts, counts.c.brand_id == Brand.id).where(*conditions)
        .order_by(*order).limit(per_page).offset((page - 1) * per_page)
    )
    return Page(items=[BrandRow(brand, count) for brand, count in rows], page=page, per_page=per_page, total=total)


def brand_for_edit(brand_id: int) -> Brand | None:
    """Return the brand to edit, or None."""
    return db.session.get(Brand, brand_id)


def brand_product_count(brand_id: int) -> int:
    """Return how many products (active or not) carry the brand."""
    return db.session.scalar(sa.select(sa.func.count()).where(Product.brand_id == brand_id)) or 0


def create_brand(actor: User, fields: BrandFields, logo: FileStorage | None = None) -> Saved:
    """Add a brand; an uploaded logo is stored with it."""
    with _new_picture(logo, "logo") as picture, write_transaction():
        brand = Brand(**_brand_values(fields, exclude_id=None), logo_key=picture.key if picture else None)
        db.session.add(brand)
        _flush_unique("slug", "That slug was taken a moment ago; please choose another.")
        changes = audit.changed_fields({}, _brand_state(brand))
        audit.record(actor, "brand.create", "brand", brand.id, f"Created brand {brand.name}", changes)
        saved = Saved(brand.id, brand.name, _labels(changes))
    return saved


def update_brand(actor: User, brand_id: int, fields: BrandFields, logo: FileStorage | None = None,
                 remove_logo: bool = False) -> Saved:
    """Change a brand's name, slug, description or logo."""
    with _new_picture(logo, "logo") as picture, write_transaction():
        values = _brand_values(fields, exclude_id=brand_id)
        brand = db.session.get(Brand, brand_id)
        if brand is None:
            raise NotFound()
        before = _brand_state(brand)
        old_key = brand.logo_key
        for name, value in values.items():
            setattr(brand, name, value)
        _swap_picture(brand, "logo_key", picture, remove_logo)
        saved = _audited_update(actor, "brand", brand, before, _brand_state)
        new_key = brand.logo_key
    if old_key and old_key != new_key:
        images.delete_files([old_key])
    return saved


def delete_brand(actor: User, brand_id: int) -> tuple[str, int]:
    """Delete a brand; its products stay, with no brand. Return its name and how many products lost it."""
    with write_transaction():
        brand = db.session.get(Brand, brand_id)
        if brand is None:
            raise NotFound()
        # The foreign key would set NULL by itself; doing it here counts the products for the message.
        search_index.mark_products(db.session.scalars(sa.select(Product.id).where(Product.brand_id == brand_id)))
        detached = rows_changed(sa.update(Product).where(Product.brand_id == brand_id).values(brand_id=None))
        name, key = brand.name, brand.logo_key
        changes: dict = {field: [value, None] for field, value in _brand_state(brand).items()}
        changes["products"] = [detached, 0]
        audit.record(actor, "brand.delete", "brand", brand_id,
                     f"Deleted brand {name}; {_plural(detached, 'product', 'products') or 'no products'} lost it",
                     changes)
        db.session.delete(brand)
    images.delete_files([key])
    return name, detached


def _brand_values(fields: BrandFields, exclude_id: int | None) -> dict:
    name = _clean("name", fields.name, "name", lengths.BRAND_NAME, required=True)
    return {
        "name": name,
        "slug": _slug(Brand, fields.slug, name, exclude_id, lengths.BRAND_SLUG, "brand"),
        "description": _clean("description", fields.description, "description", MAX_DESCRIPTION, multiline=True),
    }


def _brand_state(brand: Brand) -> dict:
    return {field: getattr(brand, field) for field in ("name", "slug", "description", "logo_key")}


# --- Shared -----------------------------------------------------------------------------------


def _clean(field: str, value: str | None, label: str, max_length: int, required: bool = False,
           multiline: bool = False) -> str:
    """Return the text trimmed, or refuse it: missing when required, too long, or holding control characters."""
    text = (value or "").strip()
    if required and not text:
        raise FieldRefusal(field, f"Please enter the {label}.")
    if len(text) > max_length:
        raise FieldRefusal(field, f"The {label} can be at most {max_length} characters long.")
    if not storable(text, multiline):
        raise FieldRefusal(field, f"The {label} contains characters we cannot store.")
    return text


def _slug(model, wanted: str, name: str, exclude_id: int | None, max_length: int, fallback: str) -> str:
    """Return the slug the admin typed if it is valid and free, else one made from the name."""
    wanted = (wanted or "").strip()
    if not wanted:
        # Room for the "-2", "-3" that unique_slug may add.
        return unique_slug(model.slug, slugify(name, max_length - 8) or fallback, exclude_id)
    if len(wanted) > max_length:
        raise FieldRefusal("slug", f"The slug can be at most {max_length} characters long.")
    if not is_valid_slug(wanted):
        raise FieldRefusal("slug", "A slug has lower-case letters and digits, joined by single hyphens "
                                   "(e.g. dome-tents).")
    query = sa.select(model.name).where(model.slug == wanted)
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    holder = db.session.scalar(query)
    if holder is not None:
        raise FieldRefusal("slug", f"The slug {wanted} is already used by {holder}; choose another.")
    return wanted


def _flush_unique(field: str | None, message: str) -> None:
    """Flush; a constraint a concurrent writer got to first becomes a refusal (the transaction rolls back)."""
    try:
        db.session.flush()
    except IntegrityError as error:
        raise (FieldRefusal(field, message) if field else ShopError(message)) from error


def _swap_picture(row: Category | Brand, attribute: str, picture: images.StoredPicture | None,
                  remove: bool) -> None:
    """Point the row at its new picture, or at none when the admin asked to remove it."""
    if picture:
        setattr(row, attribute, picture.key)
    elif remove:
        setattr(row, attribute, None)


def _audited_update(actor: User, kind: str, row: Category | Brand, before: dict,
                    state: Callable[[Any], dict]) -> Saved:
    """Write the changed row (refusing a slug taken meanwhile), audit what changed, and say what did."""
    _flush_unique("slug", "That slug was taken a moment ago; please choose another.")
    changes = audit.changed_fields(before, state(row))
    if changes:
        audit.record(actor, f"{kind}.update", kind, row.id,
                     f"Changed {', '.join(_labels(changes))} of {kind} {row.name}", changes)
    return Saved(row.id, row.name, _labels(changes))


@contextmanager
def _new_picture(upload: FileStorage | None, field: str) -> Iterator[images.StoredPicture | None]:
    """Store an uploaded picture before the transaction; remove its files again if the change fails."""
    if not isinstance(upload, FileStorage) or not upload.filename:
        yield None
        return
    try:
        picture = images.save_picture(upload)
    except ShopError as refusal:
        raise FieldRefusal(field, str(refusal)) from refusal
    try:
        yield picture
    except BaseException:
        images.delete_files([picture.key])
        raise


def _labels(changes: dict) -> list[str]:
    return [FIELD_LABELS.get(field, field) for field in changes]


def _plural(count: int, one: str, many: str) -> str:
    if count == 0:
        return ""
    return f"{count} {one if count == 1 else many}"
