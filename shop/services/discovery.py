"""Search and category listings: what the query string asks for, one page of it, and the facets that narrow it.

A listing runs the same statements whatever the catalogue's size and the filters chosen: the
brands (with any option values the URL names), one statement for every facet count and the ids of
the page's products, one for those products and two for their cards (plus the category tree, read
once per request). When nothing is found, search_text looks for a spelling suggestion.

Facets are disjunctive: a value's count applies every active filter except its own facet's, so
ticking a second brand shows what it adds, not what is left once the first brand is applied.
"""
import math
import re
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from flask import current_app, g, has_request_context
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict

from shop.core.params import MAX_PAGE
from shop.extensions import db
from shop.models import Brand, Category, Product, ProductFacetValue, ProductSearch, ProductVariant, lengths
from shop.money import decimal_places, minor_units_per_major, parse_money
from shop.services import catalog, search_text
from shop.services.catalog import CategoryFamily, Page

SORTS = {
    "relevance": "Relevance",
    "newest": "Newest",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
    "name": "Name",
    "rating": "Customer rating",
}
RATING_THRESHOLDS = (4, 3, 2, 1)  # "4 stars & up" ... "1 star & up"
OPTION_PREFIX = "opt."  # ?opt.Colour=Navy: the prefix keeps an option named "Sort" or "Brand" from meaning ours
# Hostile URLs can repeat a parameter thousands of times; nobody ticks more than this many boxes.
MAX_BRANDS = 30
MAX_OPTION_FACETS = 10
MAX_OPTION_VALUES = 30
MAX_TERM = 100
TRUE_WORDS = frozenset({"1", "on", "true", "yes"})
# Clothing sizes read smallest first; other values sort as numbers, then alphabetically.
SIZE_ORDER = {size: position for position, size in enumerate(
    ["XXXS", "XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL", "2XL", "3XL", "4XL"])}
_LEADING_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class BrandRef:
    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class Criteria:
    """A listing as the query string asks for it, everything in it valid: what cannot be applied is left out."""

    q: str = ""  # as typed, trimmed
    family: CategoryFamily | None = None  # the category page's own category, its scope
    category: CategoryFamily | None = None  # on the search page, the category chosen to narrow to (its subtree)
    brands: tuple[BrandRef, ...] = ()
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (option name, values), e.g. ("Colour", ("Navy",))
    in_stock: bool = False
    min_rating: int | None = None
    on_sale: bool = False
    sort: str = "newest"
    page: int = 1
    currency: str = "usd"

    @property
    def searching(self) -> bool:
        return bool(self.q)

    @property
    def default_sort(self) -> str:
        return "relevance" if self.searching else "newest"

    @property
    def sorts(self) -> dict[str, str]:
        """Return the sorts that make sense here: relevance only for a search."""
        return {key: label for key, label in SORTS.items() if key != "relevance" or self.searching}

    @property
    def filtered(self) -> bool:
        """Return whether anything narrows the listing beyond the text and the category page itself."""
        return bool(self.category or self.brands or self.min_price_cents is not None
                    or self.max_price_cents is not None or self.options or self.in_stock
                    or self.min_rating or self.on_sale)

    def pairs(self, page: int | None = None) -> list[tuple[str, str]]:
        """Return the query string of this listing as (name, value) pairs, in a fixed order."""
        pairs = [("q", self.q)] if self.q else []
        if self.category:
            pairs.append(("category", self.category.category.slug))
        pairs += [("brand", brand.slug) for brand in self.brands]
        if self.min_price_cents is not None:
            pairs.append(("min_price", price_text(self.min_price_cents, self.currency)))
        if self.max_price_cents is not None:
            pairs.append(("max_price", price_text(self.max_price_cents, self.currency)))
        pairs += [(OPTION_PREFIX + name, value) for name, values in self.options for value in values]
        if self.in_stock:
            pairs.append(("in_stock", "1"))
        if self.min_rating:
            pairs.append(("rating", str(self.min_rating)))
        if self.on_sale:
            pairs.append(("on_sale", "1"))
        if self.sort != self.default_sort:
            pairs.append(("sort", self.sort))
        if page and page > 1:
            pairs.append(("page", str(page)))
        return pairs

    def selected_values(self, name: str) -> tuple[str, ...]:
        return next((values for option, values in self.options if option == name), ())

    def without_option_value(self, name: str, value: str) -> "Criteria":
        options = tuple((option, tuple(v for v in values if not (option == name and v == value)))
                        for option, values in self.options)
        return replace(self, options=tuple((option, values) for option, values in options if values))


def price_text(cents: int, currency: str) -> str:
    """Return an amount as a shopper types it into a price box: "12" or "12.50", no symbol or separators."""
    decimals = decimal_places(currency)
    if decimals == 0:
        return str(cents)
    whole, fraction = divmod(cents, 10 ** decimals)
    return str(whole) if not fraction else f"{whole}.{fraction:0{decimals}d}"


def criteria_from_args(args: MultiDict, family: CategoryFamily | None = None) -> Criteria:
    """Read a listing's query string into Criteria, silently leaving out whatever cannot be applied.

    An unknown brand, category or option value, a price that is not an amount, a minimum above
    the maximum, an unknown sort or rating and an impossible page number are all ignored.
    """
    currency = current_app.config["CURRENCY"]
    q = _clean(args.get("q", "")).strip()[:MAX_TERM]
    # The search page narrows to a category's branch; a category page is its own scope.
    chosen = _clean(args.get("category", ""))[:lengths.CATEGORY_SLUG]
    category = catalog.category_family(chosen) if chosen and family is None else None
    wanted_brands = _distinct(args.getlist("brand"), lengths.BRAND_SLUG)[:MAX_BRANDS]
    wanted_options = _option_args(args)
    # Read only when the URL names a brand or an option value: the bare search page needs neither.
    brands, known_values = _vocabulary(wanted_options) if wanted_brands or wanted_options else ([], set())
    by_slug = {brand.slug: brand for brand in brands}
    options = tuple(
        (name, known) for name, values in wanted_options
        if (known := tuple(value for value in values if (name, value) in known_values))
    )
    min_price, max_price = _price(args.get("min_price"), currency), _price(args.get("max_price"), currency)
    if min_price is not None and max_price is not None and min_price > max_price:
        min_price = max_price = None
    rating = args.get("rating", "")
    searching = bool(q)
    sort = args.get("sort", "")
    if sort not in SORTS or (sort == "relevance" and not searching):
        sort = "relevance" if searching else "newest"
    return Criteria(
        q=q, family=family, category=category,
        brands=tuple(by_slug[slug] for slug in wanted_brands if slug in by_slug),
        min_price_cents=min_price, max_price_cents=max_price, options=options,
        in_stock=args.get("in_stock", "").lower() in TRUE_WORDS,
        min_rating=int(rating) if rating in {str(threshold) for threshold in RATING_THRESHOLDS} else None,
        on_sale=args.get("on_sale", "").lower() in TRUE_WORDS,
        sort=sort,
        # type=int gives the default for whatever int() refuses ("²", "1e309", 5,000 digits).
        page=max(1, min(args.get("page", 1, type=int), MAX_PAGE)),
        currency=currency,
    )


def _clean(text: str) -> str:
    # Postgres cannot compare text holding a NUL, and no name or value in the catalogue has one.
    return text.replace("\x00", "")


def _distinct(values: list[str], longest: int) -> list[str]:
    return list(dict.fromkeys(cleaned for value in values if 0 < len(cleaned := _clean(value).strip()) <= longest))


def _option_args(args: MultiDict) -> list[tuple[str, list[str]]]:
    wanted = []
    for key in list(dict.fromkeys(args.keys())):
        name = _clean(key[len(OPTION_PREFIX):]).strip()
        if key.startswith(OPTION_PREFIX) and 0 < len(name) <= lengths.OPTION_NAME:
            values = _distinct(args.getlist(key), lengths.OPTION_VALUE)[:MAX_OPTION_VALUES]
            if values:
                wanted.append((name, values))
    return wanted[:MAX_OPTION_FACETS]


def _price(text: str | None, currency: str) -> int | None:
    if not text or not text.strip():
        return None
    try:
        return parse_money(text[:40], currency)
    except ValueError:
        return None


def _vocabulary(options: list[tuple[str, list[str]]]) -> tuple[list[BrandRef], set[tuple[str, str]]]:
    """Return every brand and which of the asked-for option values exist, in one statement, once per request."""
    if has_request_context() and "discovery_vocabulary" in g and not options:
        return g.discovery_vocabulary, set()
    brands: sa.Select = sa.select(sa.literal_column("'brand'").label("kind"), Brand.id, Brand.slug.label("key"),
                                  Brand.name.label("name"))
    statement: sa.Select | sa.CompoundSelect = brands
    if options:
        values: sa.Select = (
            sa.select(sa.literal_column("'option'"), sa.cast(sa.null(), sa.Integer), ProductFacetValue.facet,
                      ProductFacetValue.value)
            .where(sa.or_(*(sa.and_(ProductFacetValue.facet == name, ProductFacetValue.value.in_(wanted))
                            for name, wanted in options)))
            .distinct()
        )
        statement = sa.union_all(brands, values)
    found: list[BrandRef] = []
    known: set[tuple[str, str]] = set()
    for row in db.session.execute(statement):
        if row.kind == "brand":
            found.append(BrandRef(row.id, row.key, row.name))
        else:
            known.add((row.key, row.name))
    found.sort(key=lambda brand: brand.name.casefold())
    if has_request_context():
        g.discovery_vocabulary = found
    return found, known


@dataclass
class FacetValue:
    """One value a shopper can tick, with how many products it would show."""

    value: str  # what the query string carries
    label: str
    count: int
    selected: bool


@dataclass
class OptionFacet:
    name: str  # the option's name, e.g. "Colour"
    values: list[FacetValue]


@dataclass
class CategoryCount:
    category: Category
    count: int
    pairs: list[tuple[str, str]]  # the query string that narrows to it


@dataclass
class Chip:
    """An active filter, with the query string of the listing without it."""

    label: str
    pairs: list[tuple[str, str]]
    cents: int | None = None  # an amount the label ends with, for the money filter: "From" $12.00


@dataclass
class Facets:
    categories: list[CategoryCount] = field(default_factory=list)  # children of the scope, rolled up
    brands: list[FacetValue] = field(default_factory=list)
    options: list[OptionFacet] = field(default_factory=list)
    ratings: list[FacetValue] = field(default_factory=list)
    in_stock: int = 0
    on_sale: int = 0
    lowest_price_cents: int | None = None  # of the results before the price filter
    highest_price_cents: int | None = None

    @property
    def any(self) -> bool:
        return bool(self.categories or self.brands or self.options or self.ratings or self.in_stock
                    or self.on_sale or self.lowest_price_cents is not None)


@dataclass
class Listing:
    criteria: Criteria
    page: Page  # of catalog.ProductCard
    facets: Facets
    chips: list[Chip]
    clear_pairs: list[tuple[str, str]]  # the query string with every filter removed
    parent_pairs: list[tuple[str, str]] | None  # on a search narrowed to a category: one level up
    suggestion: str | None = None  # "Did you mean", when nothing was found

    @property
    def suggestion_pairs(self) -> list[tuple[str, str]]:
        return replace(self.criteria, q=self.suggestion or "", page=1).pairs()

    @property
    def min_price_text(self) -> str:
        cents = self.criteria.min_price_cents
        return "" if cents is None else price_text(cents, self.criteria.currency)

    @property
    def max_price_text(self) -> str:
        cents = self.criteria.max_price_cents
        return "" if cents is None else price_text(cents, self.criteria.currency)

    @property
    def low_hint(self) -> str:
        """Return the lowest price of the results in whole units, rounded down, as the Min box's placeholder."""
        cents = self.facets.lowest_price_cents
        unit = minor_units_per_major(self.criteria.currency)
        return "" if cents is None else price_text(cents // unit * unit, self.criteria.currency)

    @property
    def high_hint(self) -> str:
        """Return the highest price of the results in whole units, rounded up, as the Max box's placeholder."""
        cents = self.facets.highest_price_cents
        unit = minor_units_per_major(self.criteria.currency)
        return "" if cents is None else price_text(-(-cents // unit) * unit, self.criteria.currency)


def listing(criteria: Criteria, per_page: int) -> Listing:
    """Return one page of the products the criteria select as cards, the facet counts and the active filters."""
    facets, total, product_ids = _facets_and_page(criteria, per_page)
    page_number = min(criteria.page, max(1, math.ceil(total / per_page)))
    page = Page(items=catalog.cards(_products(product_ids)), page=page_number, per_page=per_page, total=total)
    suggestion = search_text.suggestion(criteria.q) if not total and criteria.q else None
    parent = None
    if criteria.category:
        ancestors = criteria.category.ancestors
        up = catalog.category_family(ancestors[-1].slug) if ancestors else None
        parent = replace(criteria, category=up, page=1).pairs()
    cleared = Criteria(q=criteria.q, family=criteria.family, sort=criteria.sort, currency=criteria.currency)
    return Listing(criteria=criteria, page=page, facets=facets, chips=_chips(criteria), clear_pairs=cleared.pairs(),
                   parent_pairs=parent, suggestion=suggestion)


def _chips(criteria: Criteria) -> list[Chip]:
    base = replace(criteria, page=1)
    chips = []
    if criteria.category:
        chips.append(Chip(f"Category: {criteria.category.category.name}", replace(base, category=None).pairs()))
    for brand in criteria.brands:
        others = tuple(b for b in criteria.brands if b != brand)
        chips.append(Chip(f"Brand: {brand.name}", replace(base, brands=others).pairs()))
    if criteria.min_price_cents is not None:
        chips.append(Chip("From", replace(base, min_price_cents=None).pairs(), criteria.min_price_cents))
    if criteria.max_price_cents is not None:
        chips.append(Chip("Up to", replace(base, max_price_cents=None).pairs(), criteria.max_price_cents))
    for name, values in criteria.options:
        chips += [Chip(f"{name}: {value}", base.without_option_value(name, value).pairs()) for value in values]
    if criteria.in_stock:
        chips.append(Chip("In stock", replace(base, in_stock=False).pairs()))
    if criteria.min_rating:
        chips.append(Chip(_rating_label(criteria.min_rating), replace(base, min_rating=None).pairs()))
    if criteria.on_sale:
        chips.append(Chip("On sale", replace(base, on_sale=False).pairs()))
    return chips


def _rating_label(threshold: int) -> str:
    return f"{threshold} star{'' if threshold == 1 else 's'} & up"


def _scope_ids(criteria: Criteria) -> list[int] | None:
    """Return the category ids the listing may show, or None for every category (none hidden)."""
    family = criteria.family or criteria.category
    if family is not None:
        return family.subtree_ids
    categories = catalog.all_categories()
    hidden = _hidden_ids(categories)
    return None if not hidden else [category.id for category in categories if category.id not in hidden]


def _hidden_ids(categories: list[Category]) -> set[int]:
    """Return the categories shoppers may not see: inactive ones and everything under them."""
    by_id = {category.id: category for category in categories}
    hidden = set()
    for category in categories:
        current: Category | None = category
        seen = set()
        while current is not None and current.id not in seen:
            if not current.is_active:
                hidden.add(category.id)
                break
            seen.add(current.id)
            current = by_id.get(current.parent_id) if current.parent_id is not None else None
    return hidden


def _in_stock(product_id=Product.id) -> sa.ColumnElement[bool]:
    """Return whether the product has an active variant in stock, probed product by product.

    A scalar subquery rather than EXISTS: Postgres would answer EXISTS for thousands of products by
    hashing every in-stock variant of the shop, a scan several times slower than the probes.
    """
    return (
        sa.select(sa.literal_column("1"))
        .where(ProductVariant.product_id == product_id, ProductVariant.is_active == sa.true(),
               ProductVariant.stock > 0)
        .limit(1)
        .scalar_subquery()
        .is_not(None)
    )


def _scoped(query: sa.Select, criteria: Criteria, text) -> sa.Select:
    """Return the query narrowed to the listed products of the search text and the category scope."""
    query = (
        query.join(ProductSearch, ProductSearch.product_id == Product.id)
        .where(Product.is_active == sa.true(), ProductSearch.min_price_cents.is_not(None))
    )
    if text is not None:
        query = query.join(text, text.c.product_id == Product.id)
    elif criteria.q:
        query = query.where(sa.false())  # only punctuation or symbols: nothing to match
    scope = _scope_ids(criteria)
    if scope is not None:
        query = query.where(Product.category_id.in_(scope))
    return query


def _filters(criteria: Criteria) -> dict[tuple[str, str], sa.ColumnElement[bool]]:
    """Return each active filter's condition on a product, keyed by its facet: ("brand", ""), ("option", "Colour").

    Being in stock is not among them: it is looked up per product (see _in_stock), as rarely as possible.
    """
    found: dict[tuple[str, str], sa.ColumnElement[bool]] = {}
    if criteria.brands:
        found["brand", ""] = Product.brand_id.in_([brand.id for brand in criteria.brands])
    price = ProductSearch.min_price_cents
    if criteria.min_price_cents is not None or criteria.max_price_cents is not None:
        found["price", ""] = sa.and_(
            price >= criteria.min_price_cents if criteria.min_price_cents is not None else sa.true(),
            price <= criteria.max_price_cents if criteria.max_price_cents is not None else sa.true(),
        )
    for name, values in criteria.options:
        found["option", name] = sa.exists().where(
            ProductFacetValue.product_id == Product.id, ProductFacetValue.facet == name,
            ProductFacetValue.value.in_(values))
    if criteria.min_rating:
        found["rating", ""] = _rated_at_least(ProductSearch.rating_count, ProductSearch.rating_total,
                                              criteria.min_rating)
    if criteria.on_sale:
        found["on_sale", ""] = ProductSearch.on_sale == sa.true()
    return found


def _rated_at_least(count, total, stars: int) -> sa.ColumnElement[bool]:
    # Whole numbers only: the average is at least `stars` when the total is at least stars * count.
    return sa.and_(count > 0, total >= stars * count)


class _Candidates:
    """The listed products of the text and category scope, with what the filters, facets and sorts read.

    A candidate's `misses` has one bit set per filter it fails: a result misses nothing, and a
    facet value counts the candidates that miss nothing or only its own facet's filter. Stock, the
    costly test, is looked up only where a count can depend on it (`in_stock` is NULL elsewhere).
    """

    def __init__(self, criteria: Criteria):
        filters = _filters(criteria)
        self.bits = {key: 1 << position for position, key in enumerate(filters)}
        misses: sa.ColumnElement[int] = sum(
            (sa.case((condition, 0), else_=self.bits[key]) for key, condition in filters.items()),
            sa.literal_column("0"))
        text = search_text.matching(criteria.q) if criteria.q else None
        rank = text.c.rank if text is not None else sa.literal_column("0")
        # Materialized, each in turn, so every product's filters are tested once: inlined, the
        # misses would be worked out again wherever the next step reads them.
        scoped = _scoped(
            sa.select(Product.id, Product.brand_id, Product.category_id, Product.created_at, Product.name,
                      ProductSearch.min_price_cents.label("price"), ProductSearch.on_sale,
                      ProductSearch.rating_count, ProductSearch.rating_total, rank.label("rank"),
                      misses.label("misses"))
            .select_from(Product),
            criteria, text,
        ).cte("scoped").prefix_with("MATERIALIZED")
        # With the in-stock filter on, a candidate missing one other filter counts in that filter's
        # facet only if it is in stock; with it off, stock matters only to the results' in-stock count.
        one_miss_at_most = scoped.c.misses.op("&")(scoped.c.misses - 1) == 0
        may_count = one_miss_at_most if criteria.in_stock else scoped.c.misses == 0
        self.cte = (
            sa.select(scoped, sa.case((may_count, _in_stock(scoped.c.id))).label("in_stock"))
            .cte("candidates").prefix_with("MATERIALIZED")
        )
        self.c = self.cte.c
        self.in_stock = self.c.in_stock == sa.true()
        self.stocked = self.in_stock if criteria.in_stock else sa.true()  # the in-stock filter, when on

    def passing(self, kind: str = "", name: str = "") -> sa.ColumnElement[bool]:
        """Return the condition of a candidate that misses no filter, or only that facet's."""
        return sa.and_(self.c.misses.in_(sorted({0, self.bits.get((kind, name), 0)})), self.stocked)


# The four kinds of rows of the listing statement share its columns: kind, key (a category, brand
# or product id), facet and value (an option value), then counts; a kind leaves out what it lacks.
_NULL_TEXT, _NULL_NUMBER = sa.cast(sa.null(), sa.String), sa.cast(sa.null(), sa.Integer)
_PADDING = [_NULL_NUMBER] * (4 + len(RATING_THRESHOLDS))  # in stock, on sale, the ratings, lowest and highest price


def _facets_and_page(criteria: Criteria, per_page: int) -> tuple[Facets, int, list[int]]:
    """Return the facet counts, the number of results and the ids of the page's products, in order.

    One statement over the candidates returns rows per category (the results, and the in-stock,
    on-sale, rating and price figures), per brand, per option value, and per product of the page
    (the last page when the one asked for is past the end).
    """
    candidates = _Candidates(criteria)
    statement = sa.union_all(_category_rows(candidates), _brand_rows(candidates), _option_rows(candidates),
                             _page_rows(candidates, criteria, per_page))
    per_category: dict[int, int] = {}
    by_brand: dict[int, int] = {}
    by_option: dict[str, dict[str, int]] = {}
    positions: dict[int, int] = {}
    facets = Facets()
    ratings = dict.fromkeys(RATING_THRESHOLDS, 0)
    lows: list[int] = []
    highs: list[int] = []
    for row in db.session.execute(statement):
        if row.kind == "category":
            per_category[row.key] = row.total
            facets.in_stock += row.in_stock
            facets.on_sale += row.on_sale
            for stars in RATING_THRESHOLDS:
                ratings[stars] += getattr(row, f"rating_{stars}")
            if row.low is not None:
                lows.append(row.low)
                highs.append(row.high)
        elif row.kind == "brand":
            by_brand[row.key] = row.total
        elif row.kind == "page":
            positions[row.key] = row.total
        elif row.facet is not None:
            by_option.setdefault(row.facet, {})[row.value] = row.total
    facets.lowest_price_cents, facets.highest_price_cents = min(lows, default=None), max(highs, default=None)
    facets.categories = _category_counts(criteria, per_category)
    facets.brands = _brand_values(criteria, by_brand)
    facets.options = _option_facets(criteria, by_option)
    facets.ratings = [
        FacetValue(str(stars), _rating_label(stars), ratings[stars], criteria.min_rating == stars)
        for stars in RATING_THRESHOLDS if ratings[stars] or criteria.min_rating == stars
    ]
    return facets, sum(per_category.values()), sorted(positions, key=positions.__getitem__)


def _count_where(*conditions) -> sa.ColumnElement[int]:
    return sa.func.count(sa.case((sa.and_(*conditions), 1)))


def _category_rows(candidates: _Candidates) -> sa.Select:
    c, passing = candidates.c, candidates.passing
    return sa.select(
        sa.literal_column("'category'").label("kind"), c.category_id.label("key"), _NULL_TEXT.label("facet"),
        _NULL_TEXT.label("value"),
        _count_where(passing()).label("total"),
        _count_where(c.misses == 0, candidates.in_stock).label("in_stock"),
        _count_where(passing("on_sale"), c.on_sale == sa.true()).label("on_sale"),
        *(_count_where(passing("rating"), _rated_at_least(c.rating_count, c.rating_total, stars))
          .label(f"rating_{stars}") for stars in RATING_THRESHOLDS),
        sa.func.min(sa.case((passing("price"), c.price))).label("low"),
        sa.func.max(sa.case((passing("price"), c.price))).label("high"),
    ).group_by(c.category_id)


def _brand_rows(candidates: _Candidates) -> sa.Select:
    c = candidates.c
    return (
        sa.select(sa.literal_column("'brand'"), c.brand_id, _NULL_TEXT, _NULL_TEXT, sa.func.count(), *_PADDING)
        .where(candidates.passing("brand"), c.brand_id.is_not(None))
        .group_by(c.brand_id)
    )


def _option_rows(candidates: _Candidates) -> sa.Select:
    c = candidates.c
    values = ProductFacetValue.__table__.alias("facet_values")
    option_bits = {name: bit for (kind, name), bit in candidates.bits.items() if kind == "option"}
    option_mask = sum(option_bits.values())
    own_bit = sa.case(option_bits, value=values.c.facet, else_=0) if option_bits else sa.literal_column("0")
    return (
        sa.select(sa.literal_column("'option'"), _NULL_NUMBER, values.c.facet, values.c.value, sa.func.count(),
                  *_PADDING)
        # An outer join so SQLite goes through the candidates and seeks their values, rather than
        # reading every product's values to look the candidates up (a product without options
        # gives one row without a facet, left out by the caller).
        .select_from(candidates.cte.outerjoin(values, values.c.product_id == c.id))
        # The candidates that miss only option filters (looked at before their values are), and of
        # their values those whose own option's filter is the only one missed.
        .where(c.misses.op("|")(option_mask) == option_mask, candidates.stocked,
               sa.or_(c.misses == 0, c.misses == own_bit))
        .group_by(values.c.facet, values.c.value)
    )


def _page_rows(candidates: _Candidates, criteria: Criteria, per_page: int) -> sa.Select:
    """Return the page's products as (product id, position) rows, positions counted from the first result."""
    c = candidates.c
    results = (
        sa.select(c.id, sa.func.row_number().over(order_by=_order_by(criteria.sort, c)).label("position"),
                  sa.func.count().over().label("found"))
        .where(candidates.passing())
        .subquery("results")
    )
    wanted_start = (criteria.page - 1) * per_page
    last_start = results.c.found - 1 - (results.c.found - 1) % per_page
    start = sa.case((results.c.found > wanted_start, wanted_start), else_=last_start)
    return (
        sa.select(sa.literal_column("'page'"), results.c.id, _NULL_TEXT, _NULL_TEXT, results.c.position, *_PADDING)
        .where(results.c.position > start, results.c.position <= start + per_page)
    )


def _category_counts(criteria: Criteria, per_category: dict[int, int]) -> list[CategoryCount]:
    """Return the scope's visible child categories with their products counted down their branches."""
    family = criteria.family or criteria.category
    parent_id = family.category.id if family else None
    categories = catalog.all_categories()
    hidden = _hidden_ids(categories)
    by_id = {category.id: category for category in categories}
    children = [category for category in categories if category.parent_id == parent_id and category.id not in hidden]
    counts = dict.fromkeys((child.id for child in children), 0)
    for category_id, count in per_category.items():
        current, seen = by_id.get(category_id), set()
        while current is not None and current.id not in counts and current.id not in seen:
            seen.add(current.id)
            current = by_id.get(current.parent_id) if current.parent_id is not None else None
        if current is not None and current.id in counts:
            counts[current.id] += count
    base = replace(criteria, page=1)
    return [
        CategoryCount(child, counts[child.id],
                      replace(base, category=catalog.category_family(child.slug)).pairs()
                      if criteria.family is None else base.pairs())
        for child in children if counts[child.id]
    ]


def _brand_values(criteria: Criteria, counts: dict[int, int]) -> list[FacetValue]:
    selected = {brand.id for brand in criteria.brands}
    brands, _ = _vocabulary([])
    return [FacetValue(brand.slug, brand.name, counts.get(brand.id, 0), brand.id in selected)
            for brand in brands if counts.get(brand.id) or brand.id in selected]


def _option_facets(criteria: Criteria, counts: dict[str, dict[str, int]]) -> list[OptionFacet]:
    for name, values in criteria.options:
        for value in values:
            counts.setdefault(name, {}).setdefault(value, 0)
    facets = []
    for name in sorted(counts, key=str.casefold):
        selected = criteria.selected_values(name)
        facets.append(OptionFacet(name, [FacetValue(value, value, counts[name][value], value in selected)
                                         for value in sorted(counts[name], key=_value_order)]))
    return facets


def _value_order(value: str) -> tuple:
    """Sort sizes S, M, L, XL; numbers by their value; anything else alphabetically."""
    upper = value.strip().upper()
    if upper in SIZE_ORDER:
        return (0, SIZE_ORDER[upper], "")
    number = _LEADING_NUMBER.match(value.strip())
    if number:
        return (1, float(number.group()), value.casefold())
    return (2, 0, value.casefold())


def _order_by(sort: str, candidate) -> tuple:
    newest = (candidate.created_at.desc(), candidate.id.desc())
    count, total = candidate.rating_count, candidate.rating_total
    return {
        # At equal relevance what can be bought now comes first.
        "relevance": (candidate.rank.desc(), candidate.in_stock.desc(), *newest),
        "newest": newest,
        "price_asc": (candidate.price.asc(), candidate.id.asc()),
        "price_desc": (candidate.price.desc(), candidate.id.desc()),
        "name": (candidate.name.asc(), candidate.id.asc()),
        # Reviewed products first, best average first, then the more reviewed.
        "rating": ((count > 0).desc(), (sa.cast(total, sa.Float) / sa.func.nullif(count, 0)).desc().nulls_last(),
                   count.desc(), *newest),
    }[sort]


def _products(ids: list[int]) -> list[Product]:
    """Return the products with these ids, with their brands, in the order given."""
    if not ids:
        return []
    found = {product.id: product for product in db.session.scalars(
        sa.select(Product).where(Product.id.in_(ids)).options(joinedload(Product.brand)))}
    return [found[product_id] for product_id in ids if product_id in found]
