"""Everything an admin reads about one order, loaded in a fixed handful of queries."""
from dataclasses import dataclass

from shop.models import Order, OrderEvent, Refund, Shipment, StockMovement
from shop.services import fulfilment, lifecycle, order_units, orders, refunds


@dataclass(frozen=True)
class OrderFile:
    order: Order
    history: list[OrderEvent]
    shipments: list[Shipment]
    refunds: list[Refund]
    movements: list[StockMovement]
    shipped_units: dict[int, int]  # order item id -> units that have left in parcels
    to_ship: dict[int, int]  # order item id -> units left to ship
    refunded_units: dict[int, int]  # order item id -> units refunded (pending or succeeded)
    refundable_cents: int  # what no refund holds yet
    cancellable: bool


def order_file(order_id: int) -> OrderFile | None:
    """Return the order with its history, parcels, refunds and stock movements; None when it does not exist."""
    order = orders.order_with_items(order_id)
    if order is None:
        return None
    shipped = order_units.shipped_units(order_id)
    refunded = order_units.refunded_units(order_id)
    return OrderFile(
        order=order,
        history=lifecycle.history(order_id),
        shipments=fulfilment.shipments(order_id),
        refunds=refunds.refunds_of(order_id),
        movements=orders.stock_movements(order_id),
        shipped_units=shipped,
        to_ship=order_units.units_left(order, shipped, refunded),
        refunded_units=refunded,
        refundable_cents=order.total_cents - refunds.held_amount(order_id)
        if order.payment_status in refunds.REFUNDABLE_PAYMENTS else 0,
        cancellable=refunds.cancellable(order),
    )
