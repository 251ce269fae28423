"""Everything an admin reads about one order, loaded in a fixed handful of queries."""
from dataclasses import dataclass

from shop.models import Order, OrderEvent, Refund, Shipment, StockMovement
from shop.services import fulfilment, lifecycle, orders, refunds


@dataclass(frozen=True)
class OrderFile:
    order: Order
    history: list[OrderEvent]
    shipments: list[Shipment]
    refunds: list[Refund]
    movements: list[StockMovement]
    to_ship: dict[int, int]  # order item id -> units left to ship
    refunded_units: dict[int, int]  # order item id -> units refunded (pending or succeeded)
    refundable_cents: int  # what no refund holds yet
    cancellable: bool

    @property
    def shipped_units(self) -> dict[int, int]:
        shipped: dict[int, int] = {}
        for shipment in self.shipments:
            for item in shipment.items:
                shipped[item.order_item_id] = shipped.get(item.order_item_id, 0) + item.quantity
        return shipped


def order_file(order_id: int) -> OrderFile | None:
    """Return the order with its history, parcels, refunds and stock movements; None when it does not exist."""
    order = orders.order_with_items(order_id)
    if order is None:
        return None
    return OrderFile(
        order=order,
        history=lifecycle.history(order_id),
        shipments=fulfilment.shipments(order_id),
        refunds=refunds.refunds_of(order_id),
        movements=orders.stock_movements(order_id),
        to_ship=fulfilment.still_to_ship(order),
        refunded_units=refunds.refunded_units(order_id),
        refundable_cents=order.total_cents - refunds.held_amount(order_id)
        if order.payment_status in refunds.REFUNDABLE_PAYMENTS else 0,
        cancellable=refunds.cancellable(order),
    )
