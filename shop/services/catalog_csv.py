"""The catalogue as CSV: a streamed export, and an import that is checked in full, previewed, then applied at once.

One row per variant. Rows of one product are grouped by product_slug; the product's own columns
must agree on every row of it. An import creates or updates by SKU and never deletes: variants
and products missing from the file are left as they are.
"""
import csv
import io
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from shop.database import write_transaction
from shop.extensions import db
from shop.models import (
    AuditRecord,
    Brand,
    Category,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    ProductVariant,
    StockMovement,
    StockReason,
    User,
    lengths,
)
from shop.models.base import now_utc
from shop.models.catalog import MAX_OPTIONS
from shop.money import minor_units_per_major, parse_money
from shop.services import NotFound, ShopError, search_index
from shop.services.catalog_admin import MAX_COMBINATIONS, MAX_VALUES_PER_OPTION
from shop.services.slugs import is_valid_slug, slugify, unique_slug
from shop.text import storable

COLUMNS = (
    "sku", "product_name", "product_slug", "description", "category_path", "brand", "is_active", "is_featured",
    "seo_title", "meta_description", "option1_name", "option1_value", "option2_name", "option2_value",
    "option3_name", "option3_value", "price", "compare_at_price", "stock", "variant_active", "image_files",
)
EXPORT_ONLY = frozenset({"image_files"})  # written for reference; an import ignores it
REQUIRED_COLUMNS = tuple(column for column in COLUMNS if column not in EXPORT_ONLY)
OPTION_NAME_COLUMNS = tuple(f"option{number}_name" for number in range(1, MAX_OPTIONS + 1))
OPTION_VALUE_COLUMNS = tuple(f"option{number}_value" for number in range(1, MAX_OPTIONS + 1))
# The product's own columns: every row of one product must say the same.
PRODUCT_COLUMNS = ("product_name", "description", "category_path", "brand", "is_active", "is_featured",
                   "seo_title", "meta_description", *OPTION_NAME_COLUMNS)
PATH_SEPARATOR = " > "
IMAGE_SEPARATOR = "|"

# A spreadsheet runs a cell that starts with one of these as a formula; the export puts a quote first.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"

MAX_ROWS = 100_000
MAX_DESCRIPTION = 20_000
MAX_STOCK = 10**9 - 1
MAX_PROBLEMS = 1000  # the preview lists this many; the rest are counted
TRUE_WORDS = frozenset({"yes", "y", "true", "1"})
FALSE_WORDS = frozenset({"no", "n", "false", "0"})
BATCH = 500  # products per export batch, keys per IN (...) lookup


UPLOAD_FOLDER = "imports"
UPLOAD_MAX_AGE_SECONDS = 24 * 3600
UPLOAD_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


# -- cells ---------------------------------------------------------------------------------------------------------

def escape_cell(value: str) -> str:
    """Return the cell as written to a file: a quote first when a spreadsheet would run it as a formula.

    A cell that already starts with a quote followed by a formula character or another quote gets
    one more, so unescape_cell gives back exactly what was exported.
    """
    if value.startswith(FORMULA_STARTS) or (value.startswith(QUOTE) and value[1:2] in (*FORMULA_STARTS, QUOTE)):
        return QUOTE + value
    return value


def unescape_cell(value: str) -> str:
    """Return a cell as read from a file, without the quote escape_cell put before a formula."""
    if value.startswith(QUOTE) and value[1:2] and value[1:2] in (*FORMULA_STARTS, QUOTE):
        return value[1:]
    return value


def format_amount(cents: int | None, currency: str) -> str:
    """Return minor units as the decimal a person types, with the currency's decimals ("19.90", "1250")."""
    if cents is None:
        return ""
    if minor_units_per_major(currency) == 1:
        return str(cents)
    major, minor = divmod(cents, 100)
    return f"{major}.{minor:02d}"


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


# -- export --------------------------------------------------------------------------------------------------------

def export_filename(today: date | None = None) -> str:
    """Return the download's file name, e.g. catalogue-2026-11-30.csv."""
    return f"catalogue-{(today or now_utc().date()).isoformat()}.csv"


def catalogue_size() -> tuple[int, int]:
    """Return how many products and variants the catalogue has (the export's products and rows)."""
    products, variants = db.session.execute(
        sa.select(sa.func.count(sa.distinct(ProductVariant.product_id)), sa.func.count(ProductVariant.id))).one()
    return products, variants


def export_chunks() -> Iterator[str]:
    """Yield the catalogue as CSV text, a batch of products at a time, so memory stays flat however large it is.

    The first chunk starts with a byte-order mark: Excel then reads the file as UTF-8.
    """
    currency = current_app.config["CURRENCY"]
    paths = _category_paths()
    brands: dict[int, str] = {row.id: row.name for row in db.session.execute(sa.select(Brand.id, Brand.name))}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield "\ufeff" + _drain(buffer)
    last_id = 0
    while True:
        products = db.session.execute(
            sa.select(Product.id, Product.slug, Product.name, Product.description, Product.category_id,
                      Product.brand_id, Product.is_active, Product.is_featured, Product.seo_title,
                      Product.meta_description)
            .where(Product.id > last_id).order_by(Product.id).limit(BATCH)
        ).all()
        if not products:
            return
        last_id = products[-1].id
        ids = [product.id for product in products]
        variants = _grouped(db.session.execute(
            sa.select(ProductVariant.product_id, ProductVariant.sku, ProductVariant.option1, ProductVariant.option2,
                      ProductVariant.option3, ProductVariant.price_cents, ProductVariant.compare_at_cents,
                      ProductVariant.stock, ProductVariant.is_active)
            .where(ProductVariant.product_id.in_(ids)).order_by(ProductVariant.position, ProductVariant.id)))
        options = _grouped(db.session.execute(
            sa.select(ProductOption.product_id, ProductOption.name)
            .where(ProductOption.product_id.in_(ids)).order_by(ProductOption.position)))
        images = _grouped(db.session.execute(
            sa.select(ProductImage.product_id, ProductImage.filename)
            .where(ProductImage.product_id.in_(ids)).order_by(ProductImage.position, ProductImage.id)))
        for product in products:
            names = [option.name for option in options.get(product.id, [])][:MAX_OPTIONS]
            names += [""] * (MAX_OPTIONS - len(names))
            image_files = IMAGE_SEPARATOR.join(image.filename for image in images.get(product.id, []))
            for variant in variants.get(product.id, []):
                values = (variant.option1, variant.option2, variant.option3)
                texts = [
                    variant.sku, product.name, product.slug, product.description,
                    paths.get(product.category_id, ""), brands.get(product.brand_id, "") if product.brand_id else "",
                ]
                flags = [_yes_no(product.is_active), _yes_no(product.is_featured)]
                seo = [product.seo_title, product.meta_description]
                option_cells = [cell for pair in zip(names, values, strict=True) for cell in pair]
                writer.writerow([
                    *map(escape_cell, texts), *flags, *map(escape_cell, seo), *map(escape_cell, option_cells),
                    format_amount(variant.price_cents, currency), format_amount(variant.compare_at_cents, currency),
                    str(variant.stock), _yes_no(variant.is_active), escape_cell(image_files),
                ])
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _grouped(result: sa.Result) -> dict[int, list[Any]]:
    """Group rows whose first column is a product id by that id, keeping their order."""
    groups: dict[int, list[Any]] = {}
    for row in result:
        groups.setdefault(row[0], []).append(row)
    return groups


def _category_paths() -> dict[int, str]:
    """Return every category's path from the top, e.g. {7: "Clothing > Tops"}."""
    rows = {row.id: row for row in db.session.execute(sa.select(Category.id, Category.parent_id, Category.name))}
    paths: dict[int, str] = {}
    for category_id in rows:
        names, current, seen = [], rows.get(category_id), set()
        while current is not None and current.id not in seen:  # a cycle would never end
            seen.add(current.id)
            names.append(current.name)
            current = rows.get(current.parent_id) if current.parent_id else None
        paths[category_id] = PATH_SEPARATOR.join(reversed(names))
    return paths


# -- parsing -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (line 1 is the header; 0 the whole file) and what."""

    line: int
    column: str
    message: str


@dataclass
class Row:
    """One variant row as read from the file; a value that could not be read is None."""

    line: int
    sku: str
    product_slug: str
    product_name: str
    description: str
    category_path: tuple[str, ...]
    brand: str
    is_active: bool | None
    is_featured: bool | None
    seo_title: str
    meta_description: str
    option_names: tuple[str, ...]
    option_values: tuple[str, str, str]
    price_cents: int | None
    compare_at_cents: int | None
    stock: int | None
    variant_active: bool | None

    def product_value(self, column: str) -> Any:
        """Return the value of one of the product's own columns, as compared across its rows."""
        if column in OPTION_NAME_COLUMNS:
            index = OPTION_NAME_COLUMNS.index(column)
            return self.option_names[index] if index < len(self.option_names) else ""
        return getattr(self, column)


@dataclass
class ParsedFile:
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def parse_csv(data: bytes, currency: str) -> ParsedFile:
    """Read the file's rows, noting every problem the file shows without the database.

    That is each cell's format, length and presence, SKUs given twice, and a product whose rows disagree.
    """
    parsed = ParsedFile()
    text = _decode(data, parsed.problems)
    if text is None:
        return parsed
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if _known_columns(first_line, ";") > _known_columns(first_line, ",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as error:
        parsed.problems.append(Problem(1, "", f"The header cannot be read: {error}."))
        return parsed
    columns = _check_header(header, parsed.problems)
    if columns is None:
        return parsed
    reader_line = reader.line_num
    try:
        for cells in reader:
            line, reader_line = reader_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # spreadsheets leave empty rows at the end
            if len(parsed.rows) == MAX_ROWS:
                parsed.problems.append(Problem(line, "", f"A file can have at most {MAX_ROWS:,} rows; "
                                                         "split it into several files."))
                break
            if len(cells) != len(columns):
                parsed.problems.append(Problem(line, "", f"This line has {len(cells)} cells; the header has "
                                                         f"{len(columns)}."))
                continue
            values = {column: unescape_cell(cell) for column, cell in zip(columns, cells, strict=True)}
            parsed.rows.append(_read_row(line, values, currency, decimal_comma=delimiter == ";",
                                         problems=parsed.problems))
    except csv.Error as error:
        parsed.problems.append(Problem(reader.line_num, "", f"This line cannot be read as CSV: {error}."))
    _check_across_rows(parsed)
    return parsed


def _decode(data: bytes, problems: list[Problem]) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.append(Problem(0, "", "The file is UTF-16 text. Save it as \"CSV UTF-8\" and upload it again."))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        problems.append(Problem(line, "", "This line is not UTF-8 text. Save the file as \"CSV UTF-8\" "
                                          "(other encodings are not accepted) and upload it again."))
        return None
    if not text.strip():
        problems.append(Problem(0, "", "The file is empty."))
        return None
    return text


def _known_columns(line: str, delimiter: str) -> int:
    return sum(1 for name in line.split(delimiter) if name.strip().strip('"').lower() in COLUMNS)


def _check_header(header: list[str] | None, problems: list[Problem]) -> list[str] | None:
    """Return the header's column names, or None after noting what is wrong with it."""
    names = [name.strip().lower() for name in header or []]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:10])
        problems.append(Problem(1, "", f"Unknown columns: {shown}. The columns are: {', '.join(COLUMNS)}."))
    repeated = sorted({name for name in names if names.count(name) > 1 and name in COLUMNS})
    if repeated:
        problems.append(Problem(1, "", f"Columns named more than once: {', '.join(repeated)}."))
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        problems.append(Problem(1, "", f"Missing columns: {', '.join(missing)}."))
    return None if unknown or repeated or missing else names


class _Cells:
    """Read one row's cells, noting each problem against the row's line and the cell's column."""

    def __init__(self, line: int, values: dict[str, str], problems: list[Problem]):
        self.line, self.values, self.problems = line, values, problems

    def problem(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.line, column, message))

    def text(self, column: str, max_length: int, required: bool = False, multiline: bool = False) -> str:
        raw = self.values.get(column, "")
        value = raw if multiline else raw.strip()
        if not storable(value, multiline):
            self.problem(column, "Contains control characters, which cannot be stored.")
        if required and not value.strip():
            self.problem(column, "Required.")
        if len(value) > max_length:
            self.problem(column, f"At most {max_length:,} characters ({len(value):,} given).")
        return value

    def flag(self, column: str) -> bool | None:
        word = self.values.get(column, "").strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        self.problem(column, "Enter yes or no.")
        return None

    def amount(self, column: str, currency: str, decimal_comma: bool, required: bool) -> int | None:
        raw = self.values.get(column, "").strip()
        if not raw:
            if required:
                self.problem(column, "Required.")
            return None
        if decimal_comma and "," in raw:  # Excel's semicolon files write 1.234,50
            raw = raw.replace(".", "").replace(",", ".")
        try:
            return parse_money(raw, currency)
        except ValueError as error:
            self.problem(column, f"{error} ({raw[:20]!r} given)")
            return None

    def count(self, column: str) -> int | None:
        raw = self.values.get(column, "").strip()
        if not raw:
            self.problem(column, "Required.")
            return None
        if raw.startswith("-") and raw[1:].isascii() and raw[1:].isdigit():
            self.problem(column, "Stock cannot be negative.")
            return None
        if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_STOCK)) or int(raw) > MAX_STOCK:
            self.problem(column, f"Enter a whole number from 0 to {MAX_STOCK:,} ({raw[:20]!r} given).")
            return None
        return int(raw)


def _read_row(line: int, values: dict[str, str], currency: str, decimal_comma: bool,
              problems: list[Problem]) -> Row:
    cells = _Cells(line, values, problems)
    slug = cells.text("product_slug", lengths.SLUG, required=True)
    if slug and not is_valid_slug(slug):
        cells.problem("product_slug", "Use lower-case letters, digits and single hyphens (e.g. alpine-tent).")
    path_text = cells.text("category_path", 2000, required=True)
    path = tuple(part.strip() for part in path_text.split(">")) if path_text else ()
    if any(not part for part in path):
        cells.problem("category_path", 'Name each category, e.g. "Clothing > Tops".')
    elif any(len(part) > lengths.CATEGORY_NAME for part in path):
        cells.problem("category_path", f"A category name has at most {lengths.CATEGORY_NAME} characters.")
    names = [cells.text(column, lengths.OPTION_NAME) for column in OPTION_NAME_COLUMNS]
    chosen = [cells.text(column, lengths.OPTION_VALUE) for column in OPTION_VALUE_COLUMNS]
    for index, (name, value) in enumerate(zip(names, chosen, strict=True)):
        if name and not value:
            cells.problem(OPTION_VALUE_COLUMNS[index], f"Give this variant's {name}.")
        if value and not name:
            cells.problem(OPTION_NAME_COLUMNS[index], "Name the option this value belongs to.")
        if "," in value:
            # The product page lists an option's values separated by commas.
            cells.problem(OPTION_VALUE_COLUMNS[index], "An option value cannot hold a comma.")
        if name and index and not names[index - 1]:
            cells.problem(OPTION_NAME_COLUMNS[index], f"Fill option{index}_name first.")
        if name and name.casefold() in (earlier.casefold() for earlier in names[:index]):
            cells.problem(OPTION_NAME_COLUMNS[index], f"The option {name} is named twice.")
    price = cells.amount("price", currency, decimal_comma, required=True)
    compare_at = cells.amount("compare_at_price", currency, decimal_comma, required=False)
    if price is not None and compare_at is not None and compare_at <= price:
        cells.problem("compare_at_price", "Must be higher than the price, or blank.")
    return Row(
        line=line,
        sku=cells.text("sku", lengths.SKU, required=True),
        product_slug=slug,
        product_name=cells.text("product_name", lengths.PRODUCT_NAME, required=True),
        description=cells.text("description", MAX_DESCRIPTION, multiline=True),
        category_path=path,
        brand=cells.text("brand", lengths.BRAND_NAME),
        is_active=cells.flag("is_active"),
        is_featured=cells.flag("is_featured"),
        seo_title=cells.text("seo_title", lengths.SEO_TITLE),
        meta_description=cells.text("meta_description", lengths.META_DESCRIPTION),
        option_names=tuple(name for name in names if name),
        option_values=(chosen[0], chosen[1], chosen[2]),
        price_cents=price,
        compare_at_cents=compare_at,
        stock=cells.count("stock"),
        variant_active=cells.flag("variant_active"),
    )


def _check_across_rows(parsed: ParsedFile) -> None:
    """Note SKUs given twice, and product columns that disagree with the product's first row."""
    sku_lines: dict[str, int] = {}
    first_rows: dict[str, Row] = {}
    for row in parsed.rows:
        if row.sku:
            if row.sku in sku_lines:
                parsed.problems.append(Problem(row.line, "sku", f"SKU {row.sku} is also on line {sku_lines[row.sku]}."))
            else:
                sku_lines[row.sku] = row.line
        if not row.product_slug:
            continue
        first = first_rows.setdefault(row.product_slug, row)
        if first is row:
            continue
        for column in PRODUCT_COLUMNS:
            ours, theirs = row.product_value(column), first.product_value(column)
            if ours is not None and theirs is not None and ours != theirs:
                parsed.problems.append(Problem(row.line, column, f"Differs from line {first.line}: every row of "
                                                                 f"product {row.product_slug} must say the same."))


# -- planning ------------------------------------------------------------------------------------------------------

@dataclass
class _ExistingVariant:
    id: int
    product_id: int
    sku: str
    values: dict[str, Any]  # option1..3, price_cents, compare_at_cents, stock, is_active


@dataclass
class _ExistingProduct:
    id: int
    values: dict[str, Any]  # name, description, category_id, brand_id, is_active, is_featured, seo_title, ...
    options: list[tuple[int, str, list[str]]] = field(default_factory=list)  # (option id, name, values)
    variants: list[_ExistingVariant] = field(default_factory=list)
    next_position: int = 0


@dataclass
class ImportPlan:
    """What an import will do (or did): counts for the preview, and every problem found."""

    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    products_created: int = 0
    products_updated: int = 0
    products_unchanged: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    variants_unchanged: int = 0
    categories_created: list[str] = field(default_factory=list)
    brands_created: list[str] = field(default_factory=list)

    @property
    def changes_anything(self) -> bool:
        return bool(self.products_created or self.products_updated or self.variants_created
                    or self.variants_updated or self.categories_created or self.brands_created)

    @property
    def shown_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda problem: problem.line)[:MAX_PROBLEMS]

    def summary(self) -> str:
        """Describe the import in one sentence."""
        parts = [f"{self.products_created} products created", f"{self.products_updated} updated",
                 f"{self.products_unchanged} unchanged; {self.variants_created} variants created",
                 f"{self.variants_updated} updated", f"{self.variants_unchanged} unchanged"]
        text = ", ".join(parts)
        if self.categories_created:
            text += f"; {len(self.categories_created)} categories created"
        if self.brands_created:
            text += f"; {len(self.brands_created)} brands created"
        return text + "."


class _Catalogue:
    """The part of the database an import touches, read in a few queries per 500 rows."""

    def __init__(self, rows: list[Row], lock: bool):
        self.categories = db.session.execute(
            sa.select(Category.id, Category.parent_id, Category.name, Category.position).order_by(Category.id)).all()
        self.children: dict[int | None, list[Any]] = {}
        for category in self.categories:
            self.children.setdefault(category.parent_id, []).append(category)
        self.brands = db.session.execute(sa.select(Brand.id, Brand.name).order_by(Brand.id)).all()
        slugs = sorted({row.product_slug for row in rows if row.product_slug})
        skus = sorted({row.sku for row in rows if row.sku})
        self.products: dict[str, _ExistingProduct] = {}
        for chunk in _chunks(slugs):
            for found_product in db.session.execute(
                sa.select(Product.id, Product.slug, Product.name, Product.description, Product.category_id,
                          Product.brand_id, Product.is_active, Product.is_featured, Product.seo_title,
                          Product.meta_description).where(Product.slug.in_(chunk))
            ).mappings():
                values = dict(found_product)
                self.products[values.pop("slug")] = _ExistingProduct(id=values.pop("id"), values=values)
        by_id = {product.id: product for product in self.products.values()}
        # Every variant of the file's products, and the file's SKUs wherever they are (locked on Postgres:
        # a checkout waits rather than selling stock the import is about to overwrite).
        variant_columns = (ProductVariant.id, ProductVariant.product_id, ProductVariant.sku, ProductVariant.option1,
                           ProductVariant.option2, ProductVariant.option3, ProductVariant.price_cents,
                           ProductVariant.compare_at_cents, ProductVariant.stock, ProductVariant.is_active,
                           ProductVariant.position)
        found: dict[int, Any] = {}
        conditions = [ProductVariant.product_id.in_(chunk) for chunk in _chunks(sorted(by_id))]
        conditions += [ProductVariant.sku.in_(chunk) for chunk in _chunks(skus)]
        for condition in conditions:
            query = sa.select(*variant_columns).where(condition).order_by(ProductVariant.id)
            if lock:
                query = query.with_for_update()
            found.update((variant.id, variant) for variant in db.session.execute(query))
        self.variants: dict[str, _ExistingVariant] = {}
        self.owner_slugs: dict[int, str] = {}
        for row in sorted(found.values(), key=lambda row: (row.position, row.id)):
            existing = _ExistingVariant(row.id, row.product_id, row.sku, {
                "option1": row.option1, "option2": row.option2, "option3": row.option3,
                "price_cents": row.price_cents, "compare_at_cents": row.compare_at_cents,
                "stock": row.stock, "is_active": row.is_active})
            self.variants[row.sku] = existing
            product = by_id.get(row.product_id)
            if product is not None:
                product.variants.append(existing)
                product.next_position = max(product.next_position, row.position + 1)
        foreign = sorted({variant.product_id for variant in found.values()} - set(by_id))
        for chunk in _chunks(foreign):
            self.owner_slugs.update((row.id, row.slug) for row in db.session.execute(
                sa.select(Product.id, Product.slug).where(Product.id.in_(chunk))))
        option_rows: list[Any] = []
        for chunk in _chunks(sorted(by_id)):
            option_rows += db.session.execute(
                sa.select(ProductOption.id, ProductOption.product_id, ProductOption.name)
                .where(ProductOption.product_id.in_(chunk)).order_by(ProductOption.position)).all()
        values_by_option: dict[int, list[str]] = {}
        for chunk in _chunks([option.id for option in option_rows]):
            for option_id, value in db.session.execute(
                    sa.select(ProductOptionValue.option_id, ProductOptionValue.value)
                    .where(ProductOptionValue.option_id.in_(chunk)).order_by(ProductOptionValue.position)):
                values_by_option.setdefault(option_id, []).append(value)
        for option in option_rows:
            by_id[option.product_id].options.append((option.id, option.name, values_by_option.get(option.id, [])))

    def category_id(self, path: tuple[str, ...]) -> int | None:
        """Return the id of the category at this path, or None when some part of it does not exist yet."""
        parent_id: int | None = None
        for name in path:
            parent_id = self.child(parent_id, name)
            if parent_id is None:
                return None
        return parent_id

    def child(self, parent_id: int | None, name: str) -> int | None:
        """Return the id of the parent's subcategory of this name: spelt exactly so, else in any case."""
        siblings = self.children.get(parent_id, [])
        exact = next((category.id for category in siblings if category.name == name), None)
        return exact or next((category.id for category in siblings if category.name.casefold() == name.casefold()),
                             None)

    def brand_id(self, name: str) -> int | None:
        exact = next((brand.id for brand in self.brands if brand.name == name), None)
        return exact or next((brand.id for brand in self.brands if brand.name.casefold() == name.casefold()), None)


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]


@dataclass
class _ProductChange:
    """One product of the file: its rows, and what they change."""

    slug: str
    rows: list[Row]
    existing: _ExistingProduct | None
    product_id: int = 0  # the existing product's, or the new one's once inserted
    options: list[tuple[int, str, list[str]]] = field(default_factory=list)  # (option id, name, values)
    next_position: int = 0  # of the product's next new variant
    values: dict[str, Any] = field(default_factory=dict)
    changed: dict[str, list[Any]] = field(default_factory=dict)
    renamed_options: list[tuple[int, str]] = field(default_factory=list)
    new_variants: list[Row] = field(default_factory=list)
    variant_changes: list[tuple[_ExistingVariant, Row, dict[str, list[Any]]]] = field(default_factory=list)


def _variant_values(row: Row) -> dict[str, Any]:
    return {"option1": row.option_values[0], "option2": row.option_values[1], "option3": row.option_values[2],
            "price_cents": row.price_cents, "compare_at_cents": row.compare_at_cents, "stock": row.stock,
            "is_active": row.variant_active}


def _plan(parsed: ParsedFile, catalogue: _Catalogue) -> tuple[ImportPlan, list[_ProductChange]]:
    """Check the rows against the database and work out what each product and variant would become."""
    plan = ImportPlan(rows=len(parsed.rows), problems=list(parsed.problems))
    groups: dict[str, list[Row]] = {}
    for row in parsed.rows:
        if row.product_slug:
            groups.setdefault(row.product_slug, []).append(row)
    new_categories: dict[tuple[str, ...], str] = {}
    new_brands: dict[str, str] = {}
    changes = []
    for slug, rows in groups.items():
        existing = catalogue.products.get(slug)
        change = _ProductChange(slug, rows, existing)
        if existing is not None:
            change.product_id, change.options, change.next_position = (
                existing.id, existing.options, existing.next_position)
        first = rows[0]
        category_id = catalogue.category_id(first.category_path) if first.category_path else None
        if first.category_path and category_id is None:
            new_categories.setdefault(tuple(part.casefold() for part in first.category_path),
                                      PATH_SEPARATOR.join(first.category_path))
        brand_id = catalogue.brand_id(first.brand) if first.brand else None
        if first.brand and brand_id is None:
            new_brands.setdefault(first.brand.casefold(), first.brand)
        change.values = {
            "name": first.product_name, "description": first.description, "category_id": category_id,
            "brand_id": brand_id, "is_active": first.is_active, "is_featured": first.is_featured,
            "seo_title": first.seo_title, "meta_description": first.meta_description,
        }
        _check_options(change, plan.problems)
        _check_variants(change, catalogue, plan.problems)
        if existing is not None:
            change.changed = {name: [existing.values[name], value] for name, value in change.values.items()
                              if existing.values[name] != value}
            if first.category_path and category_id is None:
                change.changed["category_id"] = [existing.values["category_id"],
                                                 PATH_SEPARATOR.join(first.category_path)]
            if first.brand and brand_id is None:
                change.changed["brand_id"] = [existing.values["brand_id"], first.brand]
            change.renamed_options = [(option_id, wanted) for (option_id, name, _), wanted
                                      in zip(existing.options, first.option_names, strict=False) if name != wanted]
        changes.append(change)
        if existing is None:
            plan.products_created += 1
        elif change.changed or change.renamed_options:
            plan.products_updated += 1
        else:
            plan.products_unchanged += 1
        plan.variants_created += len(change.new_variants)
        plan.variants_updated += len(change.variant_changes)
        plan.variants_unchanged += len(rows) - len(change.new_variants) - len(change.variant_changes)
    plan.categories_created = sorted(new_categories.values())
    plan.brands_created = sorted(new_brands.values())
    return plan, changes


def _check_options(change: _ProductChange, problems: list[Problem]) -> None:
    """Note a change in the number of options, and values the product page's rules refuse."""
    existing = change.existing
    first = change.rows[0]
    if existing is not None and len(existing.options) != len(first.option_names):
        have = ", ".join(name for _, name, _ in existing.options) or "none"
        problems.append(Problem(first.line, "option1_name", f"Product {change.slug} has {len(existing.options)} "
                                                            f"options ({have}); this file gives "
                                                            f"{len(first.option_names)}. Change how many options "
                                                            "a product has on its page."))
        return
    combinations = 1
    for index, name in enumerate(first.option_names):
        known = {value.casefold(): value for value in (change.options[index][2] if change.options else [])}
        column = OPTION_VALUE_COLUMNS[index]
        for row in change.rows:
            value = row.option_values[index]
            spelt = known.setdefault(value.casefold(), value) if value else value
            if spelt != value:
                problems.append(Problem(row.line, column, f"{name} already has the value {spelt}; "
                                                          "spell it the same way."))
            elif len(known) > MAX_VALUES_PER_OPTION:
                problems.append(Problem(row.line, column, f"An option has at most {MAX_VALUES_PER_OPTION} "
                                                          "values."))
                return
        combinations *= max(1, len(known))
    if combinations > MAX_COMBINATIONS:
        problems.append(Problem(first.line, OPTION_VALUE_COLUMNS[0], f"The options of product {change.slug} "
                                                                     f"make {combinations} combinations; a product "
                                                                     f"can have at most {MAX_COMBINATIONS}."))


def _check_variants(change: _ProductChange, catalogue: _Catalogue, problems: list[Problem]) -> None:
    """Sort the product's rows into new, changed and unchanged variants; note SKUs of other products and twins."""
    file_skus = {row.sku for row in change.rows}
    combinations: dict[tuple[str, str, str], str] = {}
    if change.existing is not None:
        for kept in change.existing.variants:
            if kept.sku not in file_skus:
                values = kept.values
                combinations[(values["option1"], values["option2"], values["option3"])] = kept.sku
    for row in change.rows:
        if row.option_values in combinations:
            column = OPTION_VALUE_COLUMNS[0] if row.option_names else "sku"
            problems.append(Problem(row.line, column, f"SKU {combinations[row.option_values]} of product "
                                                      f"{change.slug} has the same options; each variant needs "
                                                      "its own combination."))
        else:
            combinations[row.option_values] = row.sku
        variant = catalogue.variants.get(row.sku) if row.sku else None
        if variant is None:
            change.new_variants.append(row)
            continue
        if change.existing is None or variant.product_id != change.existing.id:
            owner = catalogue.owner_slugs.get(variant.product_id, "another product")
            problems.append(Problem(row.line, "sku", f"SKU {row.sku} belongs to product {owner}; a SKU cannot "
                                                     "move to another product."))
            continue
        wanted = _variant_values(row)
        changed = {name: [variant.values[name], value] for name, value in wanted.items()
                   if variant.values[name] != value}
        if changed:
            change.variant_changes.append((variant, row, changed))


def _load_plan(data: bytes, lock: bool) -> tuple[ImportPlan, list[_ProductChange], _Catalogue]:
    parsed = parse_csv(data, current_app.config["CURRENCY"])
    catalogue = _Catalogue(parsed.rows, lock=lock)
    plan, changes = _plan(parsed, catalogue)
    return plan, changes, catalogue


def preview_import(data: bytes) -> ImportPlan:
    """Return what importing the file would change, and every problem that stops it; writes nothing."""
    plan, _, _ = _load_plan(data, lock=False)
    return plan


class ImportRefused(ShopError):
    """The file has problems (perhaps new since the preview); nothing was changed."""

    def __init__(self, plan: ImportPlan):
        super().__init__(f"Nothing was imported: the file has {len(plan.problems)} "
                         f"problem{'s' if len(plan.problems) != 1 else ''}.")
        self.plan = plan


def apply_import(data: bytes, actor: User) -> ImportPlan:
    """Import the file in one transaction: every row, or (on any problem) nothing at all.

    Raise ImportRefused with the fresh plan when a row is wrong, including one that became wrong
    since the preview.
    """
    try:
        with write_transaction():
            plan, changes, catalogue = _load_plan(data, lock=True)
            if plan.problems:
                raise ImportRefused(plan)
            if plan.changes_anything:
                records = _write(changes, catalogue, actor)
                records.append(_audit_row(actor, None, "catalogue.import", "catalogue",
                                          f"Catalogue CSV import: {plan.summary()}", {
                    "rows": plan.rows, "products_created": plan.products_created,
                    "products_updated": plan.products_updated, "products_unchanged": plan.products_unchanged,
                    "variants_created": plan.variants_created, "variants_updated": plan.variants_updated,
                    "variants_unchanged": plan.variants_unchanged,
                    "categories_created": plan.categories_created, "brands_created": plan.brands_created}))
                # Core inserts like every other write of the import: thousands of ORM objects are slow to flush.
                db.session.execute(sa.insert(AuditRecord), records)
    except IntegrityError as error:
        raise ShopError("Someone changed the catalogue while the file was being imported, so nothing was "
                        "imported. Please import it again.") from error
    return plan


# -- writing -------------------------------------------------------------------------------------------------------

def _write(changes: list[_ProductChange], catalogue: _Catalogue, actor: User) -> list[dict[str, Any]]:
    """Write the planned changes; return the audit records of each product created or changed."""
    now = now_utc()
    records = []
    category_ids = _create_categories(changes, catalogue)
    brand_ids = _create_brands(changes, catalogue)
    for change in changes:
        first = change.rows[0]
        change.values["category_id"] = category_ids[first.category_path]
        change.values["brand_id"] = brand_ids.get(first.brand) if first.brand else None

    created = [change for change in changes if change.existing is None]
    for batch in _chunks(created):
        ids = db.session.execute(
            sa.insert(Product).returning(Product.id, sort_by_parameter_order=True),
            [{"slug": change.slug, **change.values, "created_at": now, "updated_at": now} for change in batch],
        ).scalars().all()
        for change, product_id in zip(batch, ids, strict=True):
            change.product_id = product_id
            records.append(_audit_row(
                actor, product_id, "product.create", "product",
                f"Product {change.values['name']} ({change.slug}) created by a CSV import with "
                f"{len(change.rows)} variant{'s' if len(change.rows) != 1 else ''}"))
    updated = [{"id": change.product_id, **change.values, "updated_at": now}
               for change in changes if change.existing is not None and change.changed]
    if updated:
        db.session.execute(sa.update(Product), updated)
    renames = [{"id": option_id, "name": name} for change in changes for option_id, name in change.renamed_options]
    if renames:
        db.session.execute(sa.update(ProductOption), renames)
    _write_options(changes, created)
    _write_variants(changes, actor, now)
    search_index.mark_products(change.product_id for change in changes)
    records += [_update_record(change, actor) for change in changes if change.existing is not None and (
        change.changed or change.renamed_options or change.new_variants or change.variant_changes)]
    return records


def _create_categories(changes: list[_ProductChange], catalogue: _Catalogue) -> dict[tuple[str, ...], int]:
    """Return each path of the file mapped to its category id, creating the categories it lacks."""
    ids: dict[tuple[str, ...], int] = {}
    positions: dict[int | None, int] = {}
    for category in catalogue.categories:
        positions[category.parent_id] = max(positions.get(category.parent_id, 0), category.position + 1)
    taken: set[str] = set()
    created: dict[tuple[int | None, str], int] = {}
    for change in changes:
        path = change.rows[0].category_path
        if path in ids:
            continue
        parent_id: int | None = None
        for name in path:
            found = catalogue.child(parent_id, name) or created.get((parent_id, name.casefold()))
            if found is None:
                slug = unique_slug(Category.slug, slugify(name) or "category", taken=taken)
                taken.add(slug)
                new = Category(name=name, slug=slug, parent_id=parent_id, position=positions.get(parent_id, 0))
                positions[parent_id] = new.position + 1
                db.session.add(new)
                db.session.flush()
                created[(parent_id, name.casefold())] = found = new.id
            parent_id = found
        assert parent_id is not None  # a path has at least one name (parse_csv checks)
        ids[path] = parent_id
    return ids


def _create_brands(changes: list[_ProductChange], catalogue: _Catalogue) -> dict[str, int]:
    ids: dict[str, int] = {}
    taken: set[str] = set()
    for change in changes:
        name = change.rows[0].brand
        if not name or name in ids:
            continue
        found = catalogue.brand_id(name) or next(
            (brand_id for other, brand_id in ids.items() if other.casefold() == name.casefold()), None)
        if found is None:
            slug = unique_slug(Brand.slug, slugify(name) or "brand", taken=taken)
            taken.add(slug)
            brand = Brand(name=name, slug=slug)
            db.session.add(brand)
            db.session.flush()
            found = brand.id
        ids[name] = found
    return ids


def _write_options(changes: list[_ProductChange], created: list[_ProductChange]) -> None:
    """Create the options of new products and add values the file uses that an option lacks, in the file's order."""
    new_options = [(change, position, name) for change in created
                   for position, name in enumerate(change.rows[0].option_names)]
    for batch in _chunks(new_options):
        ids = db.session.execute(
            sa.insert(ProductOption).returning(ProductOption.id, sort_by_parameter_order=True),
            [{"product_id": change.product_id, "position": position, "name": name}
             for change, position, name in batch],
        ).scalars().all()
        for (change, _, name), option_id in zip(batch, ids, strict=True):
            change.options.append((option_id, name, []))
    value_rows = []
    for change in changes:
        for index, (option_id, _, values) in enumerate(change.options):
            known = set(values)
            position = len(values)
            for row in change.rows:
                value = row.option_values[index]
                if value and value not in known:
                    known.add(value)
                    value_rows.append({"option_id": option_id, "value": value, "position": position})
                    position += 1
    if value_rows:
        db.session.execute(sa.insert(ProductOptionValue), value_rows)


def _write_variants(changes: list[_ProductChange], actor: User, now) -> None:
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    movements: list[dict[str, Any]] = []
    for change in changes:
        position = change.next_position
        for row in change.new_variants:
            inserts.append({"product_id": change.product_id, "sku": row.sku, "position": position,
                            **_variant_values(row)})
            position += 1
        for variant, row, changed in change.variant_changes:
            updates.append({"id": variant.id, **_variant_values(row)})
            if "stock" in changed:
                before, after = changed["stock"]
                movements.append({"variant_id": variant.id, "delta": after - before})
    for batch in _chunks(inserts):
        ids = db.session.execute(
            sa.insert(ProductVariant).returning(ProductVariant.id, sort_by_parameter_order=True), batch
        ).scalars().all()
        movements += [{"variant_id": variant_id, "delta": values["stock"]}
                      for variant_id, values in zip(ids, batch, strict=True) if values["stock"]]
    if updates:
        db.session.execute(sa.update(ProductVariant), updates)
    if movements:
        db.session.execute(sa.insert(StockMovement), [
            {**movement, "reason": StockReason.IMPORT, "actor_id": actor.id, "note": "CSV import",
             "created_at": now} for movement in movements])


def _update_record(change: _ProductChange, actor: User) -> dict[str, Any]:
    changes: dict[str, list[Any]] = dict(change.changed)
    for variant, _, changed in change.variant_changes:
        changes.update({f"{variant.sku} {name}": values for name, values in changed.items()})
    lines = [f"{name} {before} → {after}" for name, (before, after) in changes.items()
             if name.endswith(("price_cents", "stock"))]
    added = [row.sku for row in change.new_variants]
    if added:
        changes["variants added"] = [None, added]
    summary = f"Product {change.values['name']} ({change.slug}) changed by a CSV import"
    if lines:
        summary += ": " + "; ".join(lines)
    renamed = dict(change.renamed_options)
    for option_id, name, _ in change.options:
        if option_id in renamed:
            changes[f"option {name}"] = [name, renamed[option_id]]
    return _audit_row(actor, change.product_id, "product.update", "product", summary, changes)


def _audit_row(actor: User, entity_id: int | None, action: str, entity_type: str, summary: str,
               changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return an audit record's columns, as shop.services.audit.record fills them."""
    return {"actor_id": actor.id, "actor_email": actor.email, "action": action, "entity_type": entity_type,
            "entity_id": entity_id, "summary": summary[:2000], "changes": changes or {}, "created_at": now_utc()}


# -- the uploaded file between preview and apply ---------------------------------------------------------------------

def _upload_folder() -> Path:
    return Path(current_app.instance_path) / UPLOAD_FOLDER


def store_upload(data: bytes) -> str:
    """Keep an uploaded file until it is applied (a day at most); return the token that names it."""
    folder = _upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    discard_stale_uploads()
    token = secrets.token_urlsafe(24)
    path = folder / f"{token}.csv"
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        file.write(data)
    return token


def read_upload(token: str) -> bytes:
    """Return the kept file the token names; raise NotFound when the token is malformed, used or expired."""
    if not UPLOAD_TOKEN.match(token or ""):
        raise NotFound("No such import.")
    path = _upload_folder() / f"{token}.csv"
    try:
        if time.time() - path.stat().st_mtime > UPLOAD_MAX_AGE_SECONDS:
            raise NotFound("That import has expired; upload the file again.")
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound("No such import.") from None


def discard_upload(token: str) -> None:
    """Delete a kept file once it is applied."""
    if UPLOAD_TOKEN.match(token or ""):
        (_upload_folder() / f"{token}.csv").unlink(missing_ok=True)


def discard_stale_uploads() -> int:
    """Delete kept files older than a day (uploads previewed and never applied); return how many."""
    folder = _upload_folder()
    if not folder.is_dir():
        return 0
    deadline = time.time() - UPLOAD_MAX_AGE_SECONDS
    removed = 0
    for path in folder.glob("*.csv"):
        try:
            if path.stat().st_mtime < deadline:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # another request removed it first
    return removed
