"""The order state machine: which status and payment changes are allowed, and the history of each.

Every change of an order's status or payment status goes through `transition`, inside the
caller's write transaction and with the order row locked, so a refused change leaves nothing
behind and two actors racing for the same change make it once.
"""
from dataclasses import dataclass

import sqlalchemy as sa

from shop.database import write_transaction
from shop.extensions import db
from shop.models import ActorKind, Order, OrderEvent, OrderEventKind, OrderStatus, PaymentStatus
from shop.models.base import now_utc
from shop.services import NotFound, ShopError, audit

MAX_NOTE = 2000


@dataclass(frozen=True)
class Actor:
    """Who asks for a change: recorded on the order's history."""

    kind: ActorKind
    user_id: int | None = None
    email: str = ""

    @classmethod
    def admin(cls, user) -> "Actor":
        return cls(ActorKind.ADMIN, user.id, user.email)

    @classmethod
    def customer(cls, user_id: int | None = None, email: str = "") -> "Actor":
        return cls(ActorKind.CUSTOMER, user_id, email)

    def describe(self) -> str:
        if self.kind == ActorKind.ADMIN:
            return self.email or "an admin"
        return {ActorKind.CUSTOMER: "the customer", ActorKind.WEBHOOK: "Stripe (webhook)",
                ActorKind.SYSTEM: "the shop"}[self.kind]


WEBHOOK = Actor(ActorKind.WEBHOOK)
SYSTEM = Actor(ActorKind.SYSTEM)

ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.EXPIRED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    # A payment the provider really took after the shop gave the order up still counts.
    OrderStatus.CANCELLED: frozenset({OrderStatus.PAID}),
    OrderStatus.EXPIRED: frozenset({OrderStatus.PAID}),
}

PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.UNPAID: frozenset({PaymentStatus.PROCESSING, PaymentStatus.PAID, PaymentStatus.FAILED}),
    PaymentStatus.PROCESSING: frozenset({PaymentStatus.PAID, PaymentStatus.FAILED}),
    PaymentStatus.FAILED: frozenset({PaymentStatus.PAID}),
    PaymentStatus.PAID: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}),
    # Back from refunded only when a refund Stripe reported as succeeded fails after all.
    PaymentStatus.PARTIALLY_REFUNDED: frozenset({PaymentStatus.REFUNDED, PaymentStatus.PAID}),
    PaymentStatus.REFUNDED: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.PAID}),
}

STATUS_WORDS = {
    OrderStatus.PENDING: "awaiting payment", OrderStatus.PAID: "paid", OrderStatus.SHIPPED: "shipped",
    OrderStatus.DELIVERED: "delivered", OrderStatus.CANCELLED: "cancelled", OrderStatus.EXPIRED: "expired",
}

# When the order reached each status, for lists and documents.
TIMESTAMPS = {OrderStatus.SHIPPED: "shipped_at", OrderStatus.DELIVERED: "delivered_at",
              OrderStatus.CANCELLED: "cancelled_at", OrderStatus.PAID: "paid_at"}


class OrderNotFound(NotFound):
    """No order has that id."""


class InvalidTransition(ShopError):
    """The order's current state does not allow the change asked for; nothing was changed."""


def refuse(order: Order, action: str) -> InvalidTransition:
    """Return the refusal for doing `action` ("shipped") to an order in its current state."""
    return InvalidTransition(f"Order {order.number} is {STATUS_WORDS[order.status]}, so it cannot be {action}.")


def transition(order: Order, actor: Actor, *, status: OrderStatus | None = None,
               payment_status: PaymentStatus | None = None, note: str = "") -> OrderEvent:
    """Move the locked order to a new status and/or payment status and record it; refuse a move not allowed."""
    new_status = status or order.status
    new_payment = payment_status or order.payment_status
    if new_status != order.status and new_status not in ORDER_TRANSITIONS[order.status]:
        raise refuse(order, f"made {STATUS_WORDS[new_status]}")
    if new_payment != order.payment_status and new_payment not in PAYMENT_TRANSITIONS[order.payment_status]:
        raise InvalidTransition(f"Order {order.number}'s payment is {order.payment_status}; "
                                f"it cannot become {new_payment}.")
    event = _event(order, OrderEventKind.STATUS, actor, note, from_status=order.status, to_status=new_status,
                   from_payment_status=order.payment_status, to_payment_status=new_payment)
    if new_status != order.status and new_status in TIMESTAMPS:
        setattr(order, TIMESTAMPS[new_status], now_utc())
    order.status = new_status
    order.payment_status = new_payment
    return event


def placed(order: Order, actor: Actor, note: str) -> OrderEvent:
    """Start the new order's history."""
    return _event(order, OrderEventKind.STATUS, actor, note, to_status=order.status,
                  to_payment_status=order.payment_status)


def record(order: Order, kind: OrderEventKind, actor: Actor, note: str) -> OrderEvent:
    """Add a line to the order's history that is not a change of status (a shipment, a refund, an email)."""
    return _event(order, kind, actor, note)


def _event(order: Order, kind: OrderEventKind, actor: Actor, note: str, **changes: str) -> OrderEvent:
    event = OrderEvent(order_id=order.id, kind=kind, actor_kind=actor.kind, actor_id=actor.user_id,
                       actor_email=actor.email, note=note, created_at=now_utc(), **changes)
    db.session.add(event)
    if actor.kind == ActorKind.ADMIN:
        # What an admin does to an order is in the shop's audit log too, with every other admin change.
        moved = {name: [changes[f"from_{name}"], changes[f"to_{name}"]] for name in ("status", "payment_status")
                 if changes.get(f"from_{name}", "") != changes.get(f"to_{name}", "")}
        said = [f"{name.replace('_', ' ')} {before} → {after}" for name, (before, after) in moved.items()]
        audit.record_by(actor.user_id, actor.email, f"order.{kind}", "order", order.id,
                        f"Order {order.number}: " + "; ".join([*said, *([note] if note else [])]), moved)
    return event


def add_note(order_id: int, text: str, actor: Actor) -> OrderEvent:
    """Add an admin's internal note to the order's history."""
    text = text.strip()
    if not text:
        raise ShopError("Write the note first.")
    if len(text) > MAX_NOTE:
        raise ShopError(f"Notes are at most {MAX_NOTE} characters.")
    with write_transaction():
        order = db.session.get(Order, order_id)
        if order is None:
            raise OrderNotFound("That order does not exist.")
        return record(order, OrderEventKind.NOTE, actor, text)


def history(order_id: int) -> list[OrderEvent]:
    """Return the order's history, oldest first."""
    return list(db.session.scalars(
        sa.select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
    ))
