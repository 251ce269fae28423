"""How many of each order item's units have shipped, been refunded, or are still to ship.

Fulfilment and refunds both ask; the answers live here once so the two cannot disagree.
"""
import sqlalchemy as sa

from shop.extensions import db
from shop.models import OPEN_REFUND_STATUSES, Order, Refund, RefundItem, RefundStatus, Shipment, ShipmentItem

# Refunds that hold their amount and units: asked for and not refused.
HELD_REFUND_STATUSES = (*OPEN_REFUND_STATUSES, RefundStatus.SUCCEEDED)


def shipped_units(order_id: int) -> dict[int, int]:
    """Return, per order item, the units that have left in parcels."""
    return dict(db.session.execute(
        sa.select(ShipmentItem.order_item_id, sa.func.sum(ShipmentItem.quantity))
        .join(Shipment, Shipment.id == ShipmentItem.shipment_id)
        .where(Shipment.order_id == order_id).group_by(ShipmentItem.order_item_id)
    ).all())


def refunded_units(order_id: int) -> dict[int, int]:
    """Return, per order item, the units that refunds (pending or succeeded) gave back."""
    return dict(db.session.execute(
        sa.select(RefundItem.order_item_id, sa.func.sum(RefundItem.quantity))
        .join(Refund, Refund.id == RefundItem.refund_id)
        .where(Refund.order_id == order_id, Refund.status.in_(HELD_REFUND_STATUSES))
        .group_by(RefundItem.order_item_id)
    ).all())


def units_left(order: Order, shipped: dict[int, int], refunded: dict[int, int]) -> dict[int, int]:
    """Return, for each of the order's items, the units neither shipped nor refunded as units."""
    return {item.id: max(0, item.quantity - shipped.get(item.id, 0) - refunded.get(item.id, 0))
            for item in order.items}


def still_to_ship(order: Order) -> dict[int, int]:
    """Return, for each of the order's items, the units still to ship."""
    return units_left(order, shipped_units(order.id), refunded_units(order.id))


def nothing_left_after_parcels(order: Order) -> bool:
    """Return whether parcels have left and every unit not refunded is in one (the order is shipped)."""
    shipped = shipped_units(order.id)
    return bool(shipped) and not any(units_left(order, shipped, refunded_units(order.id)).values())
