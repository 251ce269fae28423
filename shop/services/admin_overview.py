"""What the admin landing page counts."""
from dataclasses import dataclass
from datetime import UTC, datetime, time

import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, Product, ProductVariant
from shop.models.base import now_utc
from shop.services import store_settings


@dataclass
class Overview:
    orders_today: int
    needs_attention: int
    low_stock: int  # active variants of active products with 1..threshold left
    out_of_stock: int


def low_stock_threshold() -> int:
    """Return the low-stock threshold setting: at or below this many left, a variant is low on stock."""
    return int(store_settings.get("low_stock_threshold"))


def overview() -> Overview:
    """Count today's orders (UTC), orders needing a person, and variants low on or out of stock: two queries."""
    start_of_day = datetime.combine(now_utc().date(), time.min, tzinfo=UTC)
    orders = db.session.execute(sa.select(
        sa.func.count().filter(Order.created_at >= start_of_day),
        sa.func.count().filter(Order.needs_attention.is_(True)),
    ).select_from(Order)).one()
    threshold = low_stock_threshold()
    stock = db.session.execute(
        sa.select(
            sa.func.count().filter(ProductVariant.stock.between(1, threshold)),
            sa.func.count().filter(ProductVariant.stock <= 0),
        )
        .select_from(ProductVariant).join(Product)
        .where(ProductVariant.is_active.is_(True), Product.is_active.is_(True))
    ).one()
    return Overview(orders_today=orders[0], needs_attention=orders[1], low_stock=stock[0], out_of_stock=stock[1])
