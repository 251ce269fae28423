"""Sales figures: money taken on paid orders (by the day paid) minus refunds (by the day settled), summed in SQL.

Every figure is integer minor units in the shop's currency. A day is a UTC day, bucketed by the
database (utc_day), so SQLite and Postgres put an order paid at 23:59 UTC on the same day.
"""
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from shop.extensions import db
from shop.models import Category, Order, OrderItem, Product, ProductVariant, Refund
from shop.models.order import MONEY_TAKEN, RefundStatus
from shop.money import format_money
from shop.services import ShopError

DEFAULT_DAYS = 30
MAX_DAYS = 366  # a year and a leap day: a longer range is refused rather than summed
TOP_LIMIT = 10  # rows in the top products and variants tables on the page (the CSV has them all)
REFUNDS_SHOWN = 25  # latest refunds listed on the page (the CSV has them all)
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(9998, 12, 31)  # leaves room for the day after the range's last
RANKINGS = {"revenue": "Revenue", "units": "Units sold"}


class utc_day(FunctionElement):
    """The UTC calendar day of a stored UTC timestamp, as a date."""

    type = sa.Date()
    inherit_cache = True


@compiles(utc_day)
def _utc_day_sqlite(element, compiler, **kw):
    # SQLite stores UTC timestamps as "YYYY-MM-DD HH:MM:SS.ffffff": the day is the first ten characters.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(utc_day, "postgresql")
def _utc_day_postgres(element, compiler, **kw):
    # timezone('UTC', timestamptz) gives the UTC wall time whatever the session's TimeZone is.
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


class unindexed(FunctionElement):
    """A column whose condition must not choose the index: on SQLite, the unary + its documentation prescribes.

    Without statistics (the shop never runs ANALYZE) SQLite prefers an equality or IN on an indexed
    column to a range on another, so "payment status IN the paid states AND paid_at in the range"
    would walk the payment-status index over nearly every order ever paid instead of reading the
    range's orders from ix_orders_paid_at. Postgres has statistics and gets the column as it is.
    """

    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _unindexed_default(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):
    return f"+{compiler.process(element.clauses, **kw)}"


@dataclass(frozen=True)
class DateRange:
    """Whole UTC days from first to last, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), UTC)

    @property
    def end(self) -> datetime:
        """Return the moment the range ends: midnight after its last day."""
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=offset) for offset in range(self.days)]

    def query_args(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def default_range(today: date, days: int = DEFAULT_DAYS) -> DateRange:
    """Return the last `days` UTC days, today included."""
    return DateRange(today - timedelta(days=days - 1), today)


def parse_range(first: str, last: str, today: date) -> DateRange:
    """Return the range typed as two YYYY-MM-DD days (either may be left empty); raise ShopError for bad input.

    An empty first day means 30 days up to the last; an empty last day means today. A range typed
    backwards means the same days.
    """
    start, end = _day(first, "first"), _day(last, "last")
    if start is None:
        if end is None:
            return default_range(today)
        start = max(end - timedelta(days=DEFAULT_DAYS - 1), EARLIEST_DAY)
    elif end is None:
        end = max(today, start)
    if start > end:
        start, end = end, start
    chosen = DateRange(start, end)
    if chosen.days > MAX_DAYS:
        raise ShopError(f"Choose at most {MAX_DAYS} days; that range has {chosen.days}.")
    return chosen


def _day(text: str, which: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ShopError(f"Enter the {which} day as a date like 2026-12-01.")
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ShopError(f"Enter a {which} day between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}.")
    return day


def paid_in(start: datetime, end: datetime | None = None) -> list[sa.ColumnElement[bool]]:
    """Return the conditions for orders whose money was taken from `start` up to (not including) `end`."""
    conditions = [unindexed(Order.payment_status).in_(MONEY_TAKEN), Order.paid_at >= start]
    return conditions + ([Order.paid_at < end] if end else [])


def refunded_in(start: datetime, end: datetime | None = None) -> list[sa.ColumnElement[bool]]:
    """Return the conditions for refunds that succeeded from `start` up to (not including) `end`."""
    conditions = [unindexed(Refund.status) == RefundStatus.SUCCEEDED, Refund.settled_at >= start]
    return conditions + ([Refund.settled_at < end] if end else [])


def cents_sum(column: Any) -> sa.ColumnElement[int]:
    """Return SUM(column) as an integer, 0 when no row is summed (never NULL, never a Decimal)."""
    return sa.cast(sa.func.coalesce(sa.func.sum(column), 0), sa.BigInteger)


def average(total: int, count: int) -> int:
    """Return total / count in whole minor units, halves rounded up (0 for no count)."""
    return (2 * total + count) // (2 * count) if count else 0


@dataclass
class DaySales:
    day: date
    orders: int = 0
    sales_cents: int = 0  # totals of the orders paid that day
    discount_cents: int = 0
    shipping_cents: int = 0
    tax_cents: int = 0
    refunds: int = 0
    refunds_cents: int = 0  # refunds that succeeded that day, whichever day their orders were paid

    @property
    def net_cents(self) -> int:
        return self.sales_cents - self.refunds_cents


@dataclass
class Summary:
    orders: int = 0
    sales_cents: int = 0
    discount_cents: int = 0
    shipping_cents: int = 0
    tax_cents: int = 0
    refunds: int = 0
    refunds_cents: int = 0

    @property
    def net_cents(self) -> int:
        return self.sales_cents - self.refunds_cents

    @property
    def average_order_cents(self) -> int:
        return average(self.sales_cents, self.orders)


@dataclass(frozen=True)
class ProductSales:
    product_id: int | None  # None: items whose product has since been deleted
    name: str
    units: int
    sales_cents: int


@dataclass(frozen=True)
class VariantSales:
    sku: str
    product_name: str
    variant_name: str
    units: int
    sales_cents: int


@dataclass(frozen=True)
class CategorySales:
    category_id: int | None  # None: items whose product has since been deleted
    name: str
    units: int
    sales_cents: int


@dataclass(frozen=True)
class CustomerGroup:
    returning: bool
    customers: int
    orders: int
    sales_cents: int

    @property
    def label(self) -> str:
        return "Returning" if self.returning else "New"


@dataclass(frozen=True)
class CouponUse:
    code: str
    orders: int
    discount_cents: int
    sales_cents: int
    refunded_cents: int


@dataclass(frozen=True)
class TaxPlace:
    country: str
    region: str
    label: str
    orders: int
    tax_cents: int
    sales_cents: int


@dataclass(frozen=True)
class RefundLine:
    order_id: int
    order_number: str
    settled_at: datetime
    amount_cents: int
    reason: str
    actor_email: str
    cancels_order: bool


@dataclass
class SalesReport:
    range: DateRange
    ranking: str
    days: list[DaySales]
    summary: Summary
    products: list[ProductSales]
    variants: list[VariantSales]
    categories: list[CategorySales]
    customers: list[CustomerGroup]
    coupons: list[CouponUse]
    tax: list[TaxPlace]
    refunds: list[RefundLine] = field(default_factory=list)


def sales_report(chosen: DateRange, ranking: str = "revenue") -> SalesReport:
    """Return every table of the report for the range: four statements whatever the number of orders."""
    orders = order_tables(chosen)
    sellers = best_sellers(chosen, ranking, TOP_LIMIT)
    return SalesReport(
        range=chosen, ranking=ranking, days=orders.days, summary=summary(orders.days), products=sellers.products,
        variants=sellers.variants, categories=sellers.categories, customers=orders.customers,
        coupons=orders.coupons, tax=orders.tax, refunds=refund_lines(chosen, REFUNDS_SHOWN),
    )


@dataclass
class OrderTables:
    days: list[DaySales]
    customers: list[CustomerGroup]
    coupons: list[CouponUse]
    tax: list[TaxPlace]


def order_tables(chosen: DateRange) -> OrderTables:
    """Return the tables read from the range's paid orders, and each day's refunds: two statements.

    The range's orders are read once (the CTE `paid`, from ix_orders_paid_at) and summed four ways:
    per day, per customer group, per coupon and per place shipped to, each branch of one UNION ALL
    tagged with its kind and numbered in its own order.
    """
    paid = (
        sa.select(sa.cast(utc_day(Order.paid_at), sa.String).label("day"), Order.email, Order.total_cents,
                  Order.discount_cents, Order.shipping_cents, Order.tax_cents, Order.refunded_cents,
                  Order.coupon_code, Order.ship_country, Order.ship_region, Order.tax_label)
        .where(*paid_in(chosen.start, chosen.end)).cte("paid")
    )
    count, nothing, none = sa.func.count(), sa.cast(sa.literal(""), sa.String), sa.cast(sa.literal(0), sa.BigInteger)

    def branch(kind: str, source: Any, keys: tuple[Any, Any, Any], figures: tuple[Any, Any, Any, Any, Any],
               group_by: tuple[Any, ...], order_by: tuple[Any, ...], *conditions: Any) -> sa.Select:
        return sa.select(
            sa.cast(sa.literal(kind), sa.String).label("kind"),
            *(sa.cast(key, sa.String).label(f"key{index}") for index, key in enumerate(keys)),
            *(figure.label(f"figure{index}") for index, figure in enumerate(figures)),
            sa.func.row_number().over(order_by=order_by).label("position"),
        ).select_from(source).where(*conditions).group_by(*group_by)

    # Whether a customer had paid before the range: a subquery with LIMIT 1 rather than EXISTS (Postgres would
    # hash every order paid before the range to answer an EXISTS), so each customer is one probe of
    # ix_orders_email. It sits in the per-customer sums, which are not flattened into the outer query: there
    # SQLite would run it again for the GROUP BY and for the numbering.
    earlier = aliased(Order)
    first_earlier = (sa.select(earlier.id)
                     .where(earlier.email == paid.c.email, unindexed(earlier.payment_status).in_(MONEY_TAKEN),
                            earlier.paid_at < chosen.start)
                     .limit(1).scalar_subquery())
    customers = (
        sa.select(sa.case((first_earlier.is_not(None), "returning"), else_="new").label("customer_group"),
                  count.label("orders"), cents_sum(paid.c.total_cents).label("sales"))
        .group_by(paid.c.email).subquery()
    )
    tables = sa.union_all(
        branch("day", paid, (paid.c.day, nothing, nothing),
               (count, cents_sum(paid.c.total_cents), cents_sum(paid.c.discount_cents),
                cents_sum(paid.c.shipping_cents), cents_sum(paid.c.tax_cents)),
               (paid.c.day,), (paid.c.day,)),
        branch("customers", customers, (customers.c.customer_group, nothing, nothing),
               (count, cents_sum(customers.c.orders), cents_sum(customers.c.sales), none, none),
               (customers.c.customer_group,), (customers.c.customer_group,)),
        branch("coupon", paid, (paid.c.coupon_code, nothing, nothing),
               (count, cents_sum(paid.c.discount_cents), cents_sum(paid.c.total_cents),
                cents_sum(paid.c.refunded_cents), none),
               (paid.c.coupon_code,), (count.desc(), paid.c.coupon_code),
               paid.c.coupon_code.is_not(None), paid.c.coupon_code != ""),
        branch("tax", paid, (paid.c.ship_country, paid.c.ship_region, sa.func.max(paid.c.tax_label)),
               (count, cents_sum(paid.c.tax_cents), cents_sum(paid.c.total_cents), none, none),
               (paid.c.ship_country, paid.c.ship_region), (paid.c.ship_country, paid.c.ship_region)),
    ).subquery()
    found = OrderTables(days=[], customers=[], coupons=[], tax=[])
    by_day = {day: DaySales(day) for day in chosen.each_day()}
    groups: dict[str, CustomerGroup] = {}
    for kind, first, second, third, orders, *figures, _position in db.session.execute(
        sa.select(tables).order_by(tables.c.kind, tables.c.position)
    ):
        if kind == "day":
            sales = by_day[_as_date(first)]
            sales.orders = orders
            sales.sales_cents, sales.discount_cents, sales.shipping_cents, sales.tax_cents = figures
        elif kind == "customers":
            groups[first] = CustomerGroup(first == "returning", orders, figures[0], figures[1])
        elif kind == "coupon":
            found.coupons.append(CouponUse(first, orders, *figures[:3]))
        else:
            found.tax.append(TaxPlace(first, second, third or "", orders, figures[0], figures[1]))
    found.customers = [groups.get(group, CustomerGroup(group == "returning", 0, 0, 0))
                       for group in ("new", "returning")]
    settled_day = utc_day(Refund.settled_at)
    for day, refunds, amount in db.session.execute(
        sa.select(settled_day, sa.func.count(), cents_sum(Refund.amount_cents))
        .where(*refunded_in(chosen.start, chosen.end)).group_by(settled_day)
    ):
        by_day[_as_date(day)].refunds, by_day[_as_date(day)].refunds_cents = refunds, amount
    found.days = list(by_day.values())
    return found


def _as_date(value: date | str) -> date:
    # SQLite hands back the text of the day when the statement's type is lost in a GROUP BY.
    return value if isinstance(value, date) else date.fromisoformat(value)


def summary(days: Sequence[DaySales]) -> Summary:
    """Return the range's totals from its days' sums (a year is at most 366 rows)."""
    return Summary(**{name: sum(getattr(day, name) for day in days) for name in (
        "orders", "sales_cents", "discount_cents", "shipping_cents", "tax_cents", "refunds", "refunds_cents")})


@dataclass
class BestSellers:
    products: list[ProductSales]
    variants: list[VariantSales]
    categories: list[CategorySales]


def best_sellers(chosen: DateRange, ranking: str = "revenue", limit: int | None = TOP_LIMIT) -> BestSellers:
    """Return the top products and variants and every category's item sales in the range, in one statement.

    Sales are item prices times units on paid orders, before order discounts and refunds. The
    range's items are summed per variant once (the CTE `sold`); products and categories are then
    summed from those few rows, by the product and category each variant has now, and ranked by
    row_number() so that one statement holds all three tables.
    """
    sold = (
        sa.select(OrderItem.variant_id, OrderItem.sku, sa.func.max(OrderItem.product_name).label("product_name"),
                  sa.func.max(OrderItem.variant_name).label("variant_name"),
                  cents_sum(OrderItem.quantity).label("units"),
                  cents_sum(OrderItem.unit_price_cents * OrderItem.quantity).label("sales"))
        .join(Order, Order.id == OrderItem.order_id)
        .where(*paid_in(chosen.start, chosen.end))
        .group_by(OrderItem.variant_id, OrderItem.sku)
        .cte("sold")
    )
    units, sales = cents_sum(sold.c.units), cents_sum(sold.c.sales)
    ranked = (units.desc(), sales.desc()) if ranking == "units" else (sales.desc(), units.desc())
    variant = (ProductVariant, ProductVariant.id == sold.c.variant_id)
    product = (Product, Product.id == ProductVariant.product_id)
    category = (Category, Category.id == Product.category_id)

    def table(kind: str, key: Any, name: Any, detail: Any, group_by: tuple[Any, ...], joins=()) -> sa.Select:
        """Return one table's rows, tagged with its kind and numbered in ranking order (name or SKU breaks ties)."""
        query = sa.select(
            sa.cast(sa.literal(kind), sa.String).label("kind"), sa.cast(key, sa.String).label("key"),
            name.label("name"), detail.label("detail"), units.label("units"), sales.label("sales"),
            sa.func.row_number().over(order_by=(*ranked, group_by[-1])).label("position"),
        ).select_from(sold)
        for target, condition in joins:
            query = query.outerjoin(target, condition)
        return query.group_by(*group_by)

    no_detail = sa.cast(sa.literal(""), sa.String)
    tables = sa.union_all(
        table("product", Product.id, Product.name, no_detail, (Product.id, Product.name), (variant, product)),
        table("variant", sold.c.sku, sa.func.max(sold.c.product_name), sa.func.max(sold.c.variant_name),
              (sold.c.sku,)),
        table("category", Category.id, Category.name, no_detail, (Category.id, Category.name),
              (variant, product, category)),
    ).subquery()
    query = sa.select(tables).order_by(tables.c.kind, tables.c.position)
    if limit is not None:
        query = query.where(sa.or_(tables.c.kind == "category", tables.c.position <= limit))
    found = BestSellers([], [], [])
    for kind, key, name, detail, units_sold, sales_cents, _position in db.session.execute(query):
        if kind == "product":
            found.products.append(ProductSales(_id(key), name or DELETED, units_sold, sales_cents))
        elif kind == "variant":
            found.variants.append(VariantSales(key, name, detail, units_sold, sales_cents))
        else:
            found.categories.append(CategorySales(_id(key), name or DELETED, units_sold, sales_cents))
    return found


DELETED = "Products since deleted"


def _id(key: str | None) -> int | None:
    return int(key) if key else None


def refund_lines(chosen: DateRange, limit: int | None = REFUNDS_SHOWN) -> list[RefundLine]:
    """Return the refunds that succeeded in the range, latest first."""
    query = (
        sa.select(Order.id, Order.number, Refund.settled_at, Refund.amount_cents, Refund.reason, Refund.actor_email,
                  Refund.cancels_order)
        .join(Order, Order.id == Refund.order_id)
        .where(*refunded_in(chosen.start, chosen.end))
        .order_by(Refund.settled_at.desc(), Refund.id.desc()).limit(limit)
    )
    return [RefundLine(order_id, number, settled_at or chosen.start, amount, reason, actor_email, cancels_order)
            for order_id, number, settled_at, amount, reason, actor_email, cancels_order in db.session.execute(query)]


@dataclass(frozen=True)
class Table:
    """One table of the report as a CSV download: its file name part, column headings and rows."""

    name: str
    title: str
    headings: tuple[str, ...]


TABLES = {
    table.name: table for table in (
        Table("daily", "Revenue per day", ("day", "orders", "sales", "refunds", "refunded", "net")),
        Table("products", "Top products", ("product_id", "product", "units", "sales")),
        Table("variants", "Top variants", ("sku", "product", "variant", "units", "sales")),
        Table("categories", "Revenue by category", ("category_id", "category", "units", "sales")),
        Table("customers", "New and returning customers", ("customers", "count", "orders", "sales")),
        Table("coupons", "Coupon usage", ("code", "orders", "discount", "sales", "refunded")),
        Table("tax", "Tax collected", ("country", "region", "label", "orders", "tax", "sales")),
        Table("refunds", "Refunds", ("order", "settled_at", "amount", "reason", "by", "cancelled_order")),
    )
}


def csv_rows(table: str, chosen: DateRange, ranking: str, currency: str) -> Iterable[Sequence[Any]]:
    """Return the rows of one table, every row (no top-N cut); text a spreadsheet could run as a formula is quoted."""
    # Imported here: catalog_csv imports the dashboard's service, which imports this module.
    from shop.services.catalog_csv import escape_cell, format_amount

    def amount(cents: int) -> str:
        return format_amount(cents, currency)

    text = escape_cell
    if table in ("daily", "customers", "coupons", "tax"):
        orders = order_tables(chosen)
        if table == "daily":
            return ([day.day.isoformat(), day.orders, amount(day.sales_cents), day.refunds,
                     amount(day.refunds_cents), amount(day.net_cents)] for day in orders.days)
        if table == "customers":
            return ([row.label.lower(), row.customers, row.orders, amount(row.sales_cents)]
                    for row in orders.customers)
        if table == "coupons":
            return ([text(row.code), row.orders, amount(row.discount_cents), amount(row.sales_cents),
                     amount(row.refunded_cents)] for row in orders.coupons)
        return ([row.country, text(row.region), text(row.label), row.orders, amount(row.tax_cents),
                 amount(row.sales_cents)] for row in orders.tax)
    if table in ("products", "variants", "categories"):
        sellers = best_sellers(chosen, ranking, None)
        if table == "products":
            return ([row.product_id or "", text(row.name), row.units, amount(row.sales_cents)]
                    for row in sellers.products)
        if table == "variants":
            return ([text(row.sku), text(row.product_name), text(row.variant_name), row.units,
                     amount(row.sales_cents)] for row in sellers.variants)
        return ([row.category_id or "", text(row.name), row.units, amount(row.sales_cents)]
                for row in sellers.categories)
    return ([row.order_number, row.settled_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), amount(row.amount_cents),
             text(row.reason), text(row.actor_email), "yes" if row.cancels_order else "no"]
            for row in refund_lines(chosen, None))


def csv_text(table: str, chosen: DateRange, ranking: str, currency: str) -> str:
    """Return one table of the report as CSV text, with a byte-order mark so spreadsheets read it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TABLES[table].headings)
    writer.writerows(csv_rows(table, chosen, ranking, currency))
    return "\ufeff" + buffer.getvalue()


def csv_filename(table: str, chosen: DateRange) -> str:
    return f"sales-{table}-{chosen.first.isoformat()}-to-{chosen.last.isoformat()}.csv"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    amount: str
    negative: bool


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    """A bar chart's geometry in the SVG's own units, worked out here so the template only draws it."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    zero: float  # the y of the zero line
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    description: str


CHART_WIDTH, CHART_HEIGHT = 720, 280
CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 84, 12, 12, 40
MAX_X_LABELS = 8


def nice_step(span: int) -> int:
    """Return a round step (1, 2 or 5 times a power of ten, in minor units) that cuts `span` into about four."""
    rough = max(span // 4, 1)
    magnitude = 1
    while magnitude * 10 <= rough:
        magnitude *= 10
    return next(magnitude * factor for factor in (1, 2, 5, 10) if magnitude * factor >= rough)


def revenue_chart(days: Sequence[DaySales], currency: str) -> Chart:
    """Lay out net revenue per day (sales minus refunds, which may dip below zero) as bars with labelled axes."""
    values = [day.net_cents for day in days]
    highest, lowest = max([*values, 0]), min([*values, 0])
    step = nice_step(highest - lowest or 100)
    bottom = lowest // step * step  # floor: the axis reaches below the deepest dip
    top = -(-highest // step) * step or step  # ceiling, and an empty chart still has a scale
    plot_width, plot_height = CHART_WIDTH - CHART_LEFT - CHART_RIGHT, CHART_HEIGHT - CHART_TOP - CHART_BOTTOM

    def y_of(value: int) -> float:
        return round(CHART_TOP + (top - value) * plot_height / (top - bottom), 1)

    slot = plot_width / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        upper, lower = y_of(max(day.net_cents, 0)), y_of(min(day.net_cents, 0))
        bars.append(Bar(x=round(CHART_LEFT + index * slot + slot * 0.1, 1), y=upper, width=round(max(slot * 0.8, 1), 1),
                        height=round(lower - upper, 1), day=day.day, amount=format_money(day.net_cents, currency),
                        negative=day.net_cents < 0))
    every = -(-len(days) // MAX_X_LABELS) if days else 1
    x_ticks = [Tick(round(CHART_LEFT + (index + 0.5) * slot, 1), f"{day.day.day} {day.day:%b}")
               for index, day in enumerate(days) if index % every == 0]
    y_ticks = [Tick(y_of(value), _axis_amount(value, currency)) for value in range(bottom, top + 1, step)]
    return Chart(CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_TOP, plot_width, plot_height, y_of(0), bars, y_ticks,
                 x_ticks, _describe(days, currency))


def _axis_amount(cents: int, currency: str) -> str:
    text = format_money(cents, currency)
    return text[:-3] if text.endswith(".00") else text


def _describe(days: Sequence[DaySales], currency: str) -> str:
    if not days:
        return "No days to show."
    total = sum(day.net_cents for day in days)
    span = f"each day from {days[0].day.isoformat()} to {days[-1].day.isoformat()}"
    if not any(day.net_cents for day in days):
        return f"Net revenue (sales minus refunds) for {span}: nothing was taken."
    best = max(days, key=lambda day: day.net_cents)
    worst = min(days, key=lambda day: day.net_cents)
    return (f"Net revenue (sales minus refunds) for {span}, {format_money(total, currency)} in all. "
            f"Highest {format_money(best.net_cents, currency)} on {best.day.isoformat()}, "
            f"lowest {format_money(worst.net_cents, currency)} on {worst.day.isoformat()}. "
            "The table that follows lists every day.")
