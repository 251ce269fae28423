"""Finding orders in the back office: the list's filters, search and sort, and a CSV export of what they match."""
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import selectinload

from shop.extensions import db
from shop.models import Order, OrderItem, ShippingMethod
from shop.models.base import now_utc
from shop.services.catalog import contains_pattern
from shop.services.catalog_csv import escape_cell, format_amount

SORTS = {"newest": "Newest first", "oldest": "Oldest first", "total_desc": "Largest total",
         "total_asc": "Smallest total"}
_SORT_ORDER: dict[str, tuple[Any, ...]] = {
    "newest": (Order.created_at.desc(), Order.id.desc()),
    "oldest": (Order.created_at.asc(), Order.id.asc()),
    "total_desc": (Order.total_cents.desc(), Order.id.desc()),
    "total_asc": (Order.total_cents.asc(), Order.id.asc()),
}

EXPORT_COLUMNS = (
    "number", "invoice_number", "placed_at", "paid_at", "status", "payment_status", "email", "name", "country",
    "region", "shipping_method", "currency", "subtotal", "discount", "shipping", "tax", "total", "refunded",
    "coupon_code", "item_count",
)
EXPORT_BATCH = 500  # orders per query: memory stays flat however many the filters match

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class OrderFilters:
    """What the admin asked the order list for; empty values filter nothing."""

    term: str = ""
    status: str = ""
    payment_status: str = ""
    placed_from: date | None = None
    placed_to: date | None = None  # inclusive: the whole day, in UTC
    shipping_method: str = ""
    needs_attention: bool = False
    sort: str = "newest"

    def query_args(self) -> dict[str, str]:
        """Return the filters as the list's query-string arguments, leaving out those not set (and the sort)."""
        args = {
            "q": self.term, "status": self.status, "payment": self.payment_status,
            "placed_from": self.placed_from.isoformat() if self.placed_from else "",
            "placed_to": self.placed_to.isoformat() if self.placed_to else "",
            "shipping": self.shipping_method, "attention": "1" if self.needs_attention else "",
        }
        return {name: value for name, value in args.items() if value}


def parse_day(text: str) -> date | None:
    """Return a YYYY-MM-DD day (what <input type="date"> sends), or None for anything else."""
    if not _DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def day_range(first: str, last: str) -> tuple[date | None, date | None]:
    """Return the two days typed as a range, earliest first: a range typed backwards means the same days."""
    start, end = parse_day(first), parse_day(last)
    if start and end and start > end:
        return end, start
    return start, end


def shipping_method_choices() -> dict[str, str]:
    """Return the shipping an order can be filtered by, name -> label: the active methods, then switched-off ones.

    Orders keep the name of the method they were placed with, and a method is switched off rather
    than deleted, so the methods' names cover what orders carry without scanning every order for it.
    """
    methods = db.session.execute(
        sa.select(ShippingMethod.name, ShippingMethod.is_active)
        .order_by(ShippingMethod.is_active.desc(), ShippingMethod.position, ShippingMethod.name)
    )
    choices: dict[str, str] = {}
    for name, is_active in methods:
        choices.setdefault(name, name if is_active else f"{name} (switched off)")
    return choices


def _conditions(filters: OrderFilters) -> list[Any]:
    conditions: list[Any] = []
    if filters.term:
        # A number is matched whole and an email by its start (both are stored in one case); a name anywhere.
        conditions.append(sa.or_(
            Order.number == filters.term.upper(),
            Order.email.startswith(filters.term.lower(), autoescape=True),
            Order.ship_name.ilike(contains_pattern(filters.term), escape="\\"),
        ))
    if filters.status:
        conditions.append(Order.status == filters.status)
    if filters.payment_status:
        conditions.append(Order.payment_status == filters.payment_status)
    if filters.placed_from:
        conditions.append(Order.created_at >= datetime.combine(filters.placed_from, time(), UTC))
    if filters.placed_to and filters.placed_to < date.max:
        conditions.append(Order.created_at < datetime.combine(filters.placed_to + timedelta(days=1), time(), UTC))
    if filters.shipping_method:
        conditions.append(Order.shipping_method_name == filters.shipping_method)
    if filters.needs_attention:
        conditions.append(Order.needs_attention == sa.true())
    return conditions


def list_orders(filters: OrderFilters, page: int, per_page: int) -> Pagination:
    """Return one page of the orders the filters match, with their items, in three queries whatever the page size."""
    query = (sa.select(Order).where(*_conditions(filters)).options(selectinload(Order.items))
             .order_by(*_SORT_ORDER.get(filters.sort, _SORT_ORDER["newest"])))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def export_filename(today: date | None = None) -> str:
    """Return the download's file name, e.g. orders-2026-11-30.csv."""
    return f"orders-{(today or now_utc().date()).isoformat()}.csv"


def export_chunks(filters: OrderFilters) -> Iterator[str]:
    """Yield the orders the filters match as CSV text, oldest first, a batch at a time.

    Batches follow the id (a keyset, not an offset), so each is one index seek however deep the
    export is. The first chunk starts with a byte-order mark: Excel then reads the file as UTF-8.
    """
    conditions = _conditions(filters)
    item_count = (sa.select(sa.func.coalesce(sa.func.sum(OrderItem.quantity), 0))
                  .where(OrderItem.order_id == Order.id).correlate(Order).scalar_subquery())
    yield "\ufeff" + _csv_text([EXPORT_COLUMNS])
    last_id = 0
    while True:
        batch = db.session.execute(
            sa.select(Order, item_count).where(*conditions, Order.id > last_id).order_by(Order.id).limit(EXPORT_BATCH)
        ).all()
        if batch:
            yield _csv_text(_export_row(order, units) for order, units in batch)
        if len(batch) < EXPORT_BATCH:
            return
        last_id = batch[-1][0].id


def _csv_text(rows) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _export_row(order: Order, units: int) -> list[str]:
    texts = [order.number, order.invoice_label, _timestamp(order.created_at), _timestamp(order.paid_at),
             order.status, order.payment_status, order.email, order.ship_name, order.ship_country, order.ship_region,
             order.shipping_method_name, order.currency]
    amounts = [order.subtotal_cents, order.discount_cents, order.shipping_cents, order.tax_cents, order.total_cents,
               order.refunded_cents]
    return [*map(escape_cell, texts), *(format_amount(cents, order.currency) for cents in amounts),
            escape_cell(order.coupon_code or ""), str(units)]


def _timestamp(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""
