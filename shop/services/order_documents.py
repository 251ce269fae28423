"""What the printed invoice and packing slip need besides the order: the letterhead, and what is left to pack."""
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from shop.extensions import db
from shop.models import Order, OrderItem, Refund, RefundItem, RefundStatus, ShipmentItem


@dataclass(frozen=True)
class Letterhead:
    name: str
    address_lines: tuple[str, ...]
    tax_id: str


def letterhead() -> Letterhead:
    """Return the shop's name, its postal address split into lines at the commas, and its tax id."""
    config = current_app.config
    lines = tuple(part.strip() for part in (config["ADDRESS"] or "").split(",") if part.strip())
    return Letterhead(config["SHOP_NAME"], lines, (config["TAX_ID"] or "").strip())


@dataclass(frozen=True)
class PackingLine:
    item: OrderItem
    shipped: int
    refunded: int

    @property
    def to_pack(self) -> int:
        """Return the units still to send: an order is shipped once every unit not refunded has left."""
        return max(0, self.item.quantity - self.shipped - self.refunded)


def packing_lines(order: Order) -> list[PackingLine]:
    """Return the order's items with the units already shipped and refunded, read in one query."""
    shipped = (sa.select(sa.func.coalesce(sa.func.sum(ShipmentItem.quantity), 0))
               .where(ShipmentItem.order_item_id == OrderItem.id)
               .scalar_subquery())
    refunded = (sa.select(sa.func.coalesce(sa.func.sum(RefundItem.quantity), 0))
                .join(Refund, Refund.id == RefundItem.refund_id)
                .where(RefundItem.order_item_id == OrderItem.id, Refund.status == RefundStatus.SUCCEEDED)
                .scalar_subquery())
    rows = db.session.execute(sa.select(OrderItem.id, shipped, refunded).where(OrderItem.order_id == order.id))
    counts = {item_id: (units_shipped, units_refunded) for item_id, units_shipped, units_refunded in rows}
    return [PackingLine(item, *counts.get(item.id, (0, 0))) for item in order.items]
