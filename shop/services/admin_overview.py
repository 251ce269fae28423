"""What the admin dashboard shows: money taken over three periods, work waiting, stock running out, recent orders.

Five statements whatever the number of orders: the money windows of orders, those of refunds, the
counts, the variants running out and the latest orders.
"""
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, OrderStatus, Product, ProductVariant, Refund
from shop.models.base import now_utc
from shop.services import store_settings
from shop.services.reports import average, cents_sum, paid_in, refunded_in

RUNNING_OUT_SHOWN = 8
RECENT_ORDERS_SHOWN = 8
PERIODS = (("today", "Today", 1), ("7d", "7 days", 7), ("30d", "30 days", 30))


@dataclass(frozen=True)
class Figures:
    """Money taken in one window: sales on paid orders and refunds that succeeded, in minor units."""

    sales_cents: int
    paid_orders: int
    refunds_cents: int

    @property
    def revenue_cents(self) -> int:
        return self.sales_cents - self.refunds_cents

    @property
    def average_order_cents(self) -> int:
        return average(self.sales_cents, self.paid_orders)


@dataclass(frozen=True)
class Change:
    """A figure against the previous period: the percent change, or None when there was nothing to compare."""

    percent: int | None
    direction: str  # "up", "down" or "same"

    @classmethod
    def between(cls, previous: int, current: int) -> "Change":
        direction = "up" if current > previous else "down" if current < previous else "same"
        if not previous:
            return cls(None, direction)
        # Rounded half away from zero, in integers: a rise from 3 to 4 is 33 %.
        change = abs(current - previous) * 100
        percent = (2 * change + abs(previous)) // (2 * abs(previous))
        return cls(percent, direction)


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    days: int
    current: Figures
    previous: Figures

    def change(self, name: str) -> Change:
        return Change.between(getattr(self.previous, name), getattr(self.current, name))


@dataclass(frozen=True)
class RunningOut:
    variant_id: int
    product_id: int
    product_name: str
    sku: str
    stock: int


@dataclass
class Overview:
    periods: list[Period]
    orders_today: int
    needs_attention: int
    waiting_to_ship: int
    low_stock: int  # active variants of active products with 1..threshold left
    out_of_stock: int
    running_out: list[RunningOut]  # the variants at or below the threshold, fewest left first
    recent_orders: list[Order]


def low_stock_threshold() -> int:
    """Return the low-stock threshold setting: at or below this many left, a variant is low on stock."""
    return int(store_settings.get("low_stock_threshold"))


@dataclass(frozen=True)
class Window:
    """A stretch of time whose money is summed: [start, end), or from start on when end is None."""

    key: str  # the period's key
    which: str  # "current" or "previous"
    start: datetime
    end: datetime | None


def windows(now: datetime) -> list[Window]:
    """Return each period's window and the one before it to compare with, in UTC.

    A period runs from midnight UTC `days - 1` days ago until now (today is one day, so far); the
    previous period is the same stretch one period earlier, so the two cover equal lengths of time.
    """
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), UTC)
    spans = []
    for key, _label, days in PERIODS:
        start, length = midnight - timedelta(days=days - 1), timedelta(days=days)
        spans += [Window(key, "current", start, None), Window(key, "previous", start - length, now - length)]
    return spans


def overview(now: datetime | None = None) -> Overview:
    """Return the dashboard's figures in five statements."""
    now = now or now_utc()
    money = _money(windows(now))
    periods = [Period(key, label, days, money[(key, "current")], money[(key, "previous")])
               for key, label, days in PERIODS]
    threshold = low_stock_threshold()
    counts = _counts(datetime.combine(now.astimezone(UTC).date(), time(), UTC), threshold)
    return Overview(periods=periods, **counts, running_out=_running_out(threshold),
                    recent_orders=_recent_orders())


def _money(spans: list[Window]) -> dict[tuple[str, str], Figures]:
    """Sum sales and refunds for every window at once: one statement over orders, one over refunds."""
    def within(column, window: Window):
        after = column >= window.start
        return sa.and_(after, column < window.end) if window.end else after

    order_columns: list[sa.ColumnElement[int]] = []
    refund_columns: list[sa.ColumnElement[int]] = []
    for window in spans:
        paid = within(Order.paid_at, window)
        order_columns += [cents_sum(sa.case((paid, Order.total_cents), else_=0)), sa.func.count().filter(paid)]
        refund_columns.append(cents_sum(sa.case((within(Refund.settled_at, window), Refund.amount_cents), else_=0)))
    earliest = min(window.start for window in spans)
    orders = db.session.execute(sa.select(*order_columns).where(*paid_in(earliest))).one()
    refunds = db.session.execute(sa.select(*refund_columns).where(*refunded_in(earliest))).one()
    return {
        (window.key, window.which): Figures(sales_cents=orders[2 * index], paid_orders=orders[2 * index + 1],
                                           refunds_cents=refunds[index])
        for index, window in enumerate(spans)
    }


def _counts(start_of_day: datetime, threshold: int) -> dict[str, int]:
    """Count work waiting and stock running out: one statement of subqueries, each answered from an index."""
    def count(*conditions, join_product: bool = False):
        if join_product:
            query = (sa.select(sa.func.count()).select_from(ProductVariant).join(Product)
                     .where(ProductVariant.is_active.is_(True), Product.is_active.is_(True), *conditions))
        else:
            query = sa.select(sa.func.count()).select_from(Order).where(*conditions)
        return query.scalar_subquery()

    row = db.session.execute(sa.select(
        count(Order.created_at >= start_of_day).label("orders_today"),
        count(Order.needs_attention.is_(True)).label("needs_attention"),
        count(Order.status == OrderStatus.PAID).label("waiting_to_ship"),
        count(ProductVariant.stock.between(1, threshold), join_product=True).label("low_stock"),
        count(ProductVariant.stock <= 0, join_product=True).label("out_of_stock"),
    )).one()
    return dict(row._mapping)


def _running_out(threshold: int) -> list[RunningOut]:
    query = (
        sa.select(ProductVariant.id, Product.id, Product.name, ProductVariant.sku, ProductVariant.stock)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(ProductVariant.is_active.is_(True), Product.is_active.is_(True), ProductVariant.stock <= threshold)
        .order_by(ProductVariant.stock, Product.name, ProductVariant.sku).limit(RUNNING_OUT_SHOWN)
    )
    return [RunningOut(*row) for row in db.session.execute(query)]


def _recent_orders() -> list[Order]:
    return list(db.session.scalars(
        sa.select(Order).order_by(Order.created_at.desc(), Order.id.desc()).limit(RECENT_ORDERS_SHOWN)
    ))
