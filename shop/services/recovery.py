"""Abandoned-checkout recovery: one reminder for an expired order whose shopper asked for it.

The sweep (`flask shop send-reminders`, also run by `flask shop release-expired`) finds expired,
unpaid orders placed at least RECOVERY_DELAY_HOURS ago with `recovery_consent`, and claims each
with a conditional UPDATE of `recovery_sent_at` in the transaction that queues its email: sweeps
run at once, from cron on every machine, share the orders and send each reminder once. An order
is skipped when its address opted out of reminders, or has since placed or paid for another
order (that shopper came back). The email's signed link puts the order's items back in the cart
at today's prices and stock; its unsubscribe link needs no login.
"""
from collections.abc import Callable, MutableMapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased, selectinload

from shop.database import rows_changed, write_transaction
from shop.extensions import db
from shop.models import EmailOptOut, Order, OrderEventKind, OrderItem, OrderStatus, PaymentStatus, lengths
from shop.models.base import now_utc
from shop.models.catalog import item_name
from shop.money import format_money
from shop.services import ShopError, lifecycle, secret_key
from shop.services.cart import CartChange, load_variants, put_in_cart, read_cart
from shop.services.mail import external_url, queue_email

TOPIC = "recovery"
RESTORE_SALT = "checkout-recovery"
OPT_OUT_SALT = "recovery-opt-out"
RESTORE_LINK_DAYS = 30
# A reminder days late would surprise more than help, and the bound keeps the sweep's scan small.
MAX_AGE = timedelta(days=7)
BATCH = 500  # reminders one run queues; the next run goes on
INVALID_LINK = "This link is not valid or has expired."


def delay() -> timedelta:
    """Return how long after placing an abandoned order its reminder goes (RECOVERY_DELAY_HOURS)."""
    return timedelta(hours=float(current_app.config["RECOVERY_DELAY_HOURS"]))


def _still_wanted() -> list[sa.ColumnElement[bool]]:
    """Conditions on Order under which its reminder is still welcome: no opt-out, no order since."""
    other = aliased(Order)
    opted_out = sa.exists().where(EmailOptOut.email == sa.func.lower(Order.email), EmailOptOut.topic == TOPIC)
    came_back = sa.exists().where(
        sa.func.lower(other.email) == sa.func.lower(Order.email), other.id != Order.id,
        sa.or_(other.created_at > Order.created_at, other.paid_at > Order.created_at),
    )
    return [Order.recovery_consent.is_(True), Order.recovery_sent_at.is_(None),
            Order.status == OrderStatus.EXPIRED, Order.payment_status == PaymentStatus.UNPAID,
            ~opted_out, ~came_back]


def send_reminders(now: datetime | None = None) -> int:
    """Queue the reminder of every order due one (at most BATCH a run); return how many were queued."""
    now = now or now_utc()
    sent = 0
    for _ in range(BATCH):
        queued = _send_next_reminder(now)
        if queued is None:
            break
        sent += queued
    return sent


def _send_next_reminder(now: datetime) -> bool | None:
    """Claim the oldest due reminder no other sweep holds and queue it, in one transaction.

    Return whether it was queued, or None when none is left. Postgres passes over an order another
    sweep has locked (SKIP LOCKED) instead of waiting for it and then finding it taken; on SQLite
    the transaction begins as the only writer. Either way the conditional UPDATE is the claim.
    """
    with write_transaction():
        order_id = db.session.scalar(
            sa.select(Order.id)
            .where(*_still_wanted(), Order.created_at <= now - delay(), Order.created_at > now - MAX_AGE)
            .order_by(Order.id).limit(1).with_for_update(of=Order, skip_locked=True)
        )
        if order_id is None:
            return None
        # A shopper may have come back between the two statements (Postgres reads each afresh).
        claimed = rows_changed(
            sa.update(Order).where(Order.id == order_id, *_still_wanted())
            .values(recovery_sent_at=now_utc()).execution_options(synchronize_session=False)
        )
        if not claimed:
            return False
        order = db.session.scalar(
            sa.select(Order).where(Order.id == order_id).options(selectinload(Order.items))
            .execution_options(populate_existing=True)
        )
        assert order is not None
        queue_email(order.email, "You left something in your cart", "recovery_reminder", order=order,
                    restore_url=external_url("checkout.recovery_restore", token=restore_token(order.number)),
                    unsubscribe_url=external_url("checkout.recovery_unsubscribe", token=opt_out_token(order.email)))
        lifecycle.record(order, OrderEventKind.EMAIL, lifecycle.SYSTEM, f"checkout reminder sent to {order.email}")
    return True


def restore_token(number: str) -> str:
    """Return the signed token of an order's restore link."""
    return URLSafeTimedSerializer(secret_key(), salt=RESTORE_SALT).dumps(number)


def opt_out_token(email: str) -> str:
    """Return the signed token of an address's unsubscribe link (it never expires)."""
    return URLSafeSerializer(secret_key(), salt=OPT_OUT_SALT).dumps(email.strip().lower())


def _read_restore_token(token: str) -> str:
    try:
        number = URLSafeTimedSerializer(secret_key(), salt=RESTORE_SALT).loads(
            token, max_age=int(timedelta(days=RESTORE_LINK_DAYS).total_seconds()))
    except SignatureExpired as error:
        raise ShopError("This link has expired; the items are still in the shop to add again.") from error
    except BadSignature as error:
        raise ShopError(INVALID_LINK) from error
    if not isinstance(number, str) or len(number) > lengths.ORDER_NUMBER:
        raise ShopError(INVALID_LINK)
    return number


def read_opt_out_token(token: str) -> str:
    """Return the address an unsubscribe token was made for; ShopError when it is not the shop's."""
    try:
        email = URLSafeSerializer(secret_key(), salt=OPT_OUT_SALT).loads(token)
    except BadSignature as error:
        raise ShopError(INVALID_LINK) from error
    if not isinstance(email, str) or not email or len(email) > lengths.EMAIL:
        raise ShopError(INVALID_LINK)
    return email


@dataclass(frozen=True)
class Abandoned:
    """The order a restore link names, for the page that offers to put it back in the cart."""

    number: str
    placed_at: datetime
    items: list[OrderItem]
    completed: bool  # paid since: there is nothing to restore


def abandoned_order(token: str) -> Abandoned:
    """Return the order a restore link names, with its items; ShopError for a bad or expired link."""
    number = _read_restore_token(token)
    order = db.session.scalar(sa.select(Order).where(Order.number == number).options(selectinload(Order.items)))
    if order is None:
        raise ShopError(INVALID_LINK)
    return Abandoned(order.number, order.created_at, list(order.items), _completed(order))


def _completed(order: Order) -> bool:
    return order.status not in (OrderStatus.EXPIRED, OrderStatus.CANCELLED)


def restore_cart(session: MutableMapping, token: str, user_id: int | None = None) -> list[CartChange]:
    """Put a restore link's order items back in the cart at today's prices and stock; return what to tell.

    A line already in the cart is topped up to the order's quantity, never doubled. Each line gets
    the cart's usual message (added, only N left, sold out, no longer sold), and a price that
    changed since the checkout is said.
    """
    number = _read_restore_token(token)
    # A logged-in shopper's cart is kept with the account, written in this transaction.
    with write_transaction() if user_id is not None else nullcontext():
        order = db.session.scalar(sa.select(Order).where(Order.number == number).options(selectinload(Order.items)))
        if order is None:
            raise ShopError(INVALID_LINK)
        if _completed(order):
            raise ShopError(f"Order {order.number} went ahead after all, so there is nothing to put back.")
        variants = load_variants(item.variant_id for item in order.items if item.variant_id is not None)
        changes: list[CartChange] = []
        for item in order.items:
            variant = variants.get(item.variant_id) if item.variant_id is not None else None
            name = item_name(item.product_name, item.variant_name)
            if variant is None:
                changes.append(CartChange(f"Sorry, {name} is no longer available.", adjusted=True))
                continue
            missing = item.quantity - read_cart(session).get(variant.id, 0)
            if missing <= 0:
                changes.append(CartChange(f"{name} is already in your cart."))
                continue
            try:
                changes.append(put_in_cart(session, variant, missing, user_id))
            except ShopError as refusal:
                changes.append(CartChange(str(refusal), adjusted=True))
                continue
            if variant.price_cents != item.unit_price_cents:
                changes.append(CartChange(
                    f"The price of {name} is now {format_money(variant.price_cents, order.currency)} "
                    f"(it was {format_money(item.unit_price_cents, order.currency)} at your checkout).",
                    adjusted=True,
                ))
    return changes


def is_opted_out(email: str) -> bool:
    """Return whether the address asked for no more checkout reminders."""
    return db.session.scalar(
        sa.select(EmailOptOut.email).where(EmailOptOut.email == email.strip().lower(), EmailOptOut.topic == TOPIC)
    ) is not None


_UPSERTS: dict[str, Callable] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def opt_out(token: str) -> str:
    """Record that an unsubscribe link's address wants no more checkout reminders; return the address."""
    email = read_opt_out_token(token)
    with write_transaction():
        # Two clicks at once both succeed: the second finds the row and leaves it.
        insert = _UPSERTS[db.session.get_bind().dialect.name](EmailOptOut)
        db.session.execute(insert.values(email=email, topic=TOPIC, created_at=now_utc()).on_conflict_do_nothing())
    return email
