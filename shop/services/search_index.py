"""Keep the search rows (shop/models/search.py) in step with the catalogue, in the same transaction.

Every ORM change to a product, its variants, options, values or specifications, a review, or a
category's or brand's name marks the products it touches; just before the transaction commits,
their rows are rebuilt from the catalogue. Writes that bypass the ORM's unit of work (bulk
inserts and updates in the CSV import and the demo seeding) call `mark_products` themselves.
Stock is not copied here: "in stock" is read from the variants at query time, so the checkout's
stock updates never touch these rows.
"""
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from shop.extensions import db
from shop.models import (
    Brand,
    Category,
    Product,
    ProductFacetValue,
    ProductOption,
    ProductOptionValue,
    ProductSearch,
    ProductSpecification,
    ProductVariant,
    Review,
    SearchWord,
    lengths,
)
from shop.models.search import FTS_TABLE, TEXT_SEARCH_CONFIG

BATCH = 500
_STALE = "search_index_stale"
_WORD = re.compile(r"[^\W_]+")
MIN_WORD_LENGTH = 3  # shorter words are never worth a spelling suggestion
WORD_JOINERS = "-./_:@"


@dataclass
class _Stale:
    products: set[int] = field(default_factory=set)
    options: set[int] = field(default_factory=set)
    categories: set[int] = field(default_factory=set)
    brands: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.products or self.options or self.categories or self.brands)


def _stale(session: Session) -> _Stale:
    return session.info.setdefault(_STALE, _Stale())


def mark_products(product_ids: Iterable[int], session: Session | None = None) -> None:
    """Have these products' search rows rebuilt when the current transaction commits."""
    _stale(session or db.session()).products.update(product_ids)


@event.listens_for(Session, "after_flush")
def _collect_changes(session: Session, flush_context) -> None:
    stale = _stale(session)
    for instance in chain(session.new, session.dirty, session.deleted):
        if instance in session.dirty and not session.is_modified(instance):
            continue
        if isinstance(instance, Product):
            stale.products.add(instance.id)
        elif isinstance(instance, ProductVariant | ProductOption | ProductSpecification | Review):
            stale.products.add(instance.product_id)
        elif isinstance(instance, ProductOptionValue):
            stale.options.add(instance.option_id)
        elif isinstance(instance, Category) and _changed(instance, "name", "parent_id"):
            stale.categories.add(instance.id)
        elif isinstance(instance, Brand) and _changed(instance, "name"):
            stale.brands.add(instance.id)
    if not stale:
        session.info.pop(_STALE, None)


def _changed(instance, *names: str) -> bool:
    state = sa.inspect(instance)
    return state.pending or any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "before_commit")
def _refresh_before_commit(session: Session) -> None:
    # Flushed first: objects still pending at commit are marked only by this flush.
    session.flush()
    stale = session.info.pop(_STALE, None)
    if stale:
        refresh(_affected_products(session, stale), session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction) -> None:
    # Only the whole transaction's end: a savepoint rolled back (an order number retried, say) leaves
    # the changes made before it to commit, and their products still to rebuild.
    if previous_transaction.parent is None:
        session.info.pop(_STALE, None)


def _affected_products(session: Session, stale: _Stale) -> set[int]:
    products = set(stale.products)
    if stale.options:
        products.update(session.scalars(
            sa.select(ProductOption.product_id).where(ProductOption.id.in_(stale.options))))
    if stale.brands:
        products.update(session.scalars(sa.select(Product.id).where(Product.brand_id.in_(stale.brands))))
    if stale.categories:
        tree = _category_tree(session)
        branch = {category_id for category_id in tree if stale.categories & set(_path_ids(category_id, tree))}
        products.update(session.scalars(sa.select(Product.id).where(Product.category_id.in_(branch))))
    return products


def rebuild(session: Session | None = None) -> int:
    """Rebuild every product's search rows and the vocabulary from scratch; return how many products."""
    session = session or db.session()
    session.execute(sa.delete(SearchWord))
    ids = list(session.scalars(sa.select(Product.id).order_by(Product.id)))
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text(f"DELETE FROM {FTS_TABLE}"))
    session.execute(sa.delete(ProductSearch))
    session.execute(sa.delete(ProductFacetValue))
    refresh(ids, session)
    return len(ids)


def refresh(product_ids: Iterable[int], session: Session | None = None) -> None:
    """Rebuild the search rows of these products from the catalogue (a deleted product's rows go)."""
    session = session or db.session()
    ids = sorted({product_id for product_id in product_ids if product_id is not None})
    if not ids:
        return
    tree = _category_tree(session)
    brands = {row.id: row.name for row in session.execute(sa.select(Brand.id, Brand.name))}
    for start in range(0, len(ids), BATCH):
        _refresh_batch(session, ids[start:start + BATCH], tree, brands)


def _category_tree(session: Session) -> dict[int, tuple[str, int | None]]:
    return {row.id: (row.name, row.parent_id)
            for row in session.execute(sa.select(Category.id, Category.name, Category.parent_id))}


def _path_ids(category_id: int, tree: dict[int, tuple[str, int | None]]) -> list[int]:
    path: list[int] = []
    current: int | None = category_id
    while current is not None and current in tree and current not in path:
        path.append(current)
        current = tree[current][1]
    return path


def _refresh_batch(session: Session, ids: list[int], tree, brands: dict[int, str]) -> None:
    products = session.execute(
        sa.select(Product.id, Product.name, Product.description, Product.brand_id, Product.category_id)
        .where(Product.id.in_(ids))
    ).all()
    variants: dict[int, list] = {}
    for variant in session.execute(
        sa.select(ProductVariant.product_id, ProductVariant.sku, ProductVariant.option1, ProductVariant.option2,
                  ProductVariant.option3, ProductVariant.price_cents, ProductVariant.compare_at_cents,
                  ProductVariant.is_active)
        .where(ProductVariant.product_id.in_(ids))
    ):
        variants.setdefault(variant.product_id, []).append(variant)
    options: dict[int, dict[int, str]] = {}
    for option in session.execute(
        sa.select(ProductOption.product_id, ProductOption.position, ProductOption.name)
        .where(ProductOption.product_id.in_(ids))
    ):
        options.setdefault(option.product_id, {})[option.position] = option.name
    specifications: dict[int, list[str]] = {}
    for spec in session.execute(
        sa.select(ProductSpecification.product_id, ProductSpecification.name, ProductSpecification.value)
        .where(ProductSpecification.product_id.in_(ids))
    ):
        specifications.setdefault(spec.product_id, []).extend((spec.name, spec.value))
    ratings = {
        row.product_id: row
        for row in session.execute(
            sa.select(Review.product_id, sa.func.count().label("count"), sa.func.sum(Review.rating).label("total"))
            .where(Review.product_id.in_(ids), Review.is_hidden == sa.false())
            .group_by(Review.product_id)
        )
    }

    search_rows, facet_rows, words = [], [], set()
    for product in products:
        active = [variant for variant in variants.get(product.id, []) if variant.is_active]
        named_options = options.get(product.id, {})
        facets = {
            (named_options[position], value)
            for variant in active
            for position, value in enumerate((variant.option1, variant.option2, variant.option3))
            if value and position in named_options
        }
        category_names = [tree[category_id][0] for category_id in _path_ids(product.category_id, tree)]
        brand = brands.get(product.brand_id, "") if product.brand_id else ""
        keywords = " ".join([
            brand, *category_names, *named_options.values(), *sorted({value for _, value in facets}),
            *(variant.sku for variant in active), *specifications.get(product.id, []),
        ])
        rating = ratings.get(product.id)
        search_rows.append({
            "product_id": product.id, "name": product.name, "keywords": keywords,
            # Markdown as written: the tokenisers skip its punctuation, and rendering 50,000
            # descriptions for a rebuild would cost far more than the odd indexed link word.
            "description": product.description or "",
            "min_price_cents": min((variant.price_cents for variant in active), default=None),
            "on_sale": any(variant.compare_at_cents is not None and variant.compare_at_cents > variant.price_cents
                           for variant in active),
            "rating_count": rating.count if rating else 0,
            "rating_total": int(rating.total) if rating else 0,
        })
        facet_rows += [{"product_id": product.id, "facet": name, "value": value} for name, value in sorted(facets)]
        words.update(vocabulary(product.name, brand, *category_names, *(value for _, value in facets)))

    session.execute(sa.delete(ProductSearch).where(ProductSearch.product_id.in_(ids)))
    session.execute(sa.delete(ProductFacetValue).where(ProductFacetValue.product_id.in_(ids)))
    if search_rows:
        session.execute(sa.insert(ProductSearch), search_rows)
    if facet_rows:
        session.execute(sa.insert(ProductFacetValue), facet_rows)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        _refresh_fts(session, ids, search_rows)
    else:
        session.execute(
            sa.update(ProductSearch).where(ProductSearch.product_id.in_(ids)).values(document=weighted_document())
        )
    _add_words(session, dialect, words)


def weighted_document():
    """Return the Postgres expression of a row's tsvector: name weighs most, then keywords, then description."""
    def weighted(column, weight: str):
        # Postgres's parser reads "TEE-10" as the word tee and the number -10, and "2.5" or "a/b" as one token;
        # as spaces these split into the words a search sends (and FTS5 indexes), so "tee 10" finds TEE-10.
        words = sa.func.translate(column, WORD_JOINERS, " " * len(WORD_JOINERS))
        # Literals, not parameters: Postgres picks these functions by the types regconfig and "char".
        vector = sa.func.to_tsvector(sa.literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig"), words)
        return sa.func.setweight(vector, sa.literal_column(f"'{weight}'"))

    return (weighted(ProductSearch.name, "A").op("||")(weighted(ProductSearch.keywords, "B"))
            .op("||")(weighted(ProductSearch.description, "C")))


def _refresh_fts(session: Session, ids: list[int], rows: list[dict]) -> None:
    session.execute(sa.text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({', '.join(map(str, ids))})"))
    if rows:
        session.execute(
            sa.text(f"INSERT INTO {FTS_TABLE} (rowid, name, keywords, description)"
                    " VALUES (:product_id, :name, :keywords, :description)"),
            [{key: row[key] for key in ("product_id", "name", "keywords", "description")} for row in rows],
        )


def vocabulary(*texts: str) -> set[str]:
    """Return the lower-cased words of the texts that a spelling suggestion may offer."""
    return {
        word for text in texts for word in _WORD.findall(text.casefold())
        if MIN_WORD_LENGTH <= len(word) <= lengths.SEARCH_WORD and not word.isdigit()
    }


def _add_words(session: Session, dialect: str, words: set[str]) -> None:
    if not words:
        return
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    session.execute(insert(SearchWord).on_conflict_do_nothing(), [{"word": word} for word in sorted(words)])
