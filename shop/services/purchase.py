"""Checkout's use case: place the order from the cart and open its payment, never stranding stock."""
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, url_for

from shop.database import end_read_transaction
from shop.extensions import db
from shop.models import MONEY_TAKEN, Order, OrderStatus, PaymentStatus
from shop.services import ShopError, payments, stripe_gateway
from shop.services.checkout import CheckoutDetails
from shop.services.orders import AlreadyPlaced, cancel_order, order_token, place_order


@dataclass(frozen=True)
class Purchase:
    """A placed order and where the shopper goes to pay for it."""

    order_id: int
    payment_url: str
    newly_placed: bool  # False when the same checkout form was sent again


def purchase(cart: dict[int, int], details: CheckoutDetails, user_id: int | None, placement_token: str,
             earlier_order_ids: Iterable[int] = ()) -> Purchase:
    """Place the order and open its payment; whatever fails after placing gives the stock back at once.

    The same placement token twice (a double click) returns the first order's payment. A new
    order first releases the earlier unpaid orders this browser placed, so one shopper holds one
    reservation at a time.
    """
    release_unpaid_orders(earlier_order_ids, keep_token=placement_token)
    try:
        order = place_order(cart, details, user_id, placement_token, minimum_total_cents=minimum_total_cents())
    except AlreadyPlaced as placed:
        return _resume(placed.order_id)
    try:
        payment_url = payments.start_payment(order)
    except BaseException:
        _compensate(order.id)
        raise
    return Purchase(order.id, payment_url, newly_placed=True)


def minimum_total_cents() -> int:
    """Return the smallest total an order that owes something may have: the card processor's minimum charge."""
    if payments.is_test_mode():
        return 0  # the test provider charges nothing, so any amount goes
    return stripe_gateway.minimum_charge_cents(current_app.config["CURRENCY"])


def _compensate(order_id: int) -> None:
    """Release a just-placed order whose payment could not start, so its stock is buyable again."""
    db.session.rollback()  # the failure may have left the session mid-transaction
    payments.cancel_payment(db.session.scalar(sa.select(Order.payment_reference).where(Order.id == order_id)))
    cancel_order(order_id, "payment could not start")


def _resume(order_id: int) -> Purchase:
    """Return the payment of an order placed by an earlier submit of the same checkout form."""
    end_read_transaction()  # on SQLite, see the order the other submit committed
    order = db.session.get(Order, order_id, populate_existing=True)
    if order is None:  # deleted between the two submits: nothing to resume
        raise ShopError("Your checkout expired. Please review your cart and place the order again.")
    if order.payment_status in MONEY_TAKEN:
        url = url_for("checkout.order_detail", number=order.number, token=order_token(order.number))
        return Purchase(order.id, url, newly_placed=False)
    if order.status != OrderStatus.PENDING:
        raise ShopError(f"Order {order.number} from this checkout was {order.status}. "
                        "Please review your cart and place the order again.")
    return Purchase(order.id, payments.start_payment(order), newly_placed=False)


def release_unpaid_orders(order_ids: Iterable[int], keep_token: str | None = None) -> int:
    """Cancel these orders if still unpaid (keeping the one placed with keep_token); return how many."""
    wanted = [order_id for order_id in order_ids if isinstance(order_id, int)]
    if not wanted:
        return 0
    # Plain rows: each cancellation below ends the transaction, which would reload ORM objects one by one.
    unpaid = db.session.execute(
        sa.select(Order.id, Order.number, Order.payment_reference).where(
            Order.id.in_(wanted), Order.status == OrderStatus.PENDING, Order.payment_status == PaymentStatus.UNPAID,
            sa.or_(Order.placement_token.is_(None), Order.placement_token != (keep_token or "")),
        ).order_by(Order.id)
    ).all()
    released = 0
    for order_id, number, reference in unpaid:
        # Close the provider's page first, so the old order cannot be paid while its stock goes back.
        payments.cancel_payment(reference)
        if cancel_order(order_id, "replaced by a newer checkout from the same browser"):
            released += 1
            current_app.logger.info("Order %s released: the shopper placed a new order", number)
    return released
