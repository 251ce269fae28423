"""Refunds and cancellations: money goes back through the provider that took it, and the order
counts it as returned only once the provider says the refund succeeded.

A refund is a row first (its own transaction, holding its share of what remains refundable),
then a request to the provider with an idempotency key of its own, then its outcome, applied
under the order's lock. Whatever reports the outcome (the answer, a webhook, reconciliation),
in any order and any number of times, applies it once.
"""
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
import stripe
from flask import current_app
from sqlalchemy.orm import selectinload

from shop.database import end_read_transaction, rows_changed, write_transaction
from shop.extensions import db
from shop.models import (
    OPEN_REFUND_STATUSES,
    Coupon,
    Order,
    OrderEventKind,
    OrderStatus,
    PaymentStatus,
    ProductVariant,
    Refund,
    RefundItem,
    RefundStatus,
    Shipment,
    StockMovement,
    StockReason,
    lengths,
)
from shop.models.base import now_utc
from shop.money import format_money
from shop.services import ShopError, orders, payments
from shop.services import lifecycle as states
from shop.services import stripe_gateway as gateway
from shop.services.lifecycle import SYSTEM, Actor, OrderNotFound
from shop.services.mail import queue_email
from shop.services.order_units import HELD_REFUND_STATUSES, nothing_left_after_parcels, refunded_units

REFUNDABLE_PAYMENTS = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)
# Stripe's failure_reason codes, in words an admin can act on.
FAILURE_WORDS = {
    "lost_or_stolen_card": "the card was reported lost or stolen",
    "expired_or_canceled_card": "the card has expired or was cancelled",
    "charge_for_pending_refund_disputed": "the payment is disputed",
    "insufficient_funds": "the Stripe balance is too low to cover it",
    "declined": "the card's bank declined it",
    "merchant_request": "it was cancelled in the Stripe dashboard",
    "unknown": "Stripe did not say why",
}
MAX_REASON = 500


@dataclass(frozen=True)
class RefundRequest:
    """What an admin asked to give back: an amount, some units, or both (units priced when no amount)."""

    amount_cents: int | None = None
    lines: dict[int, int] = field(default_factory=dict)  # order item id -> units
    restock: bool = False
    reason: str = ""
    token: str | None = None
    limit_cents: int | None = None  # the most the person asking may refund at once (staff); None: no limit


@dataclass(frozen=True)
class RefundQuote:
    """A refund checked against the order, before any money moves: what the confirmation page names."""

    order: Order
    amount_cents: int
    lines: dict[int, int]
    restock: bool
    reason: str

    @property
    def amount(self) -> str:
        return format_money(self.amount_cents, self.order.currency)


@dataclass(frozen=True)
class ProviderAnswer:
    status: RefundStatus
    provider_refund_id: str | None = None
    failure_reason: str = ""


def held_amount(order_id: int) -> int:
    """Return what refunds asked for, pending or succeeded, hold of the order's payment."""
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Refund.amount_cents), 0)).where(
        Refund.order_id == order_id, Refund.status.in_(HELD_REFUND_STATUSES))) or 0


def refunds_of(order_id: int) -> list[Refund]:
    """Return the order's refunds with their items, oldest first."""
    return list(db.session.scalars(
        sa.select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)
        .options(selectinload(Refund.items).joinedload(RefundItem.order_item))
    ))


def quote_refund(order_id: int, request: RefundRequest) -> RefundQuote:
    """Check a refund against the order as it stands and price it; raise ShopError if it cannot be made."""
    end_read_transaction()
    order = orders.order_with_items(order_id)
    if order is None:
        raise OrderNotFound("That order does not exist.")
    return _quote(order, request)


def _quote(order: Order, request: RefundRequest) -> RefundQuote:
    if order.payment_status not in REFUNDABLE_PAYMENTS:
        raise ShopError(f"Order {order.number}'s payment is {order.payment_status}, so there is nothing to refund.")
    reason = " ".join(request.reason.split())
    if len(reason) > MAX_REASON:
        raise ShopError(f"The reason is at most {MAX_REASON} characters.")
    left = order.total_cents - held_amount(order.id)
    items = {item.id: item for item in order.items}
    given = refunded_units(order.id)
    lines = {item_id: quantity for item_id, quantity in request.lines.items() if quantity > 0}
    for item_id, quantity in lines.items():
        item = items.get(item_id)
        if item is None:
            raise ShopError("That item is not part of this order.")
        if quantity > item.quantity - given.get(item_id, 0):
            raise ShopError(f"Only {item.quantity - given.get(item_id, 0)} of {item.sku} can still be refunded "
                            f"(you asked for {quantity}).")
    amount = request.amount_cents
    if amount is None:
        if not lines:
            raise ShopError("Enter an amount, or choose the items to refund.")
        amount = min(left, sum(items[item_id].unit_price_cents * quantity for item_id, quantity in lines.items()))
    if amount <= 0:
        raise ShopError("Nothing is left to refund on this order." if left <= 0
                        else "Enter an amount greater than zero.")
    if amount > left:
        raise ShopError(f"Only {format_money(max(left, 0), order.currency)} of order {order.number} can still "
                        f"be refunded (you asked for {format_money(amount, order.currency)}).")
    check_refund_limit(amount, order.currency, request.limit_cents)
    return RefundQuote(order, amount, lines, request.restock and bool(lines), reason)


def check_refund_limit(amount_cents: int, currency: str, limit_cents: int | None) -> None:
    """Refuse a refund larger than the person asking may give at once (staff have a limit, owners none)."""
    if limit_cents is not None and amount_cents > limit_cents:
        raise ShopError(f"You can refund at most {format_money(limit_cents, currency)} at a time, and this is "
                        f"{format_money(amount_cents, currency)}: ask the shop's owner to make this refund.")


def refund(order_id: int, request: RefundRequest, actor: Actor) -> Refund:
    """Give some of the order's money back through its provider and return the refund as it ended.

    Its status says what happened: succeeded (the order shows it), pending (Stripe will tell),
    or failed (failure_reason says why; the order is as it was).
    """
    refund_id = _open_refund(order_id, request, actor, cancels_order=False)
    return _send(refund_id, actor)


def _open_refund(order_id: int, request: RefundRequest, actor: Actor, cancels_order: bool) -> int:
    """Record the refund asked for, holding its amount, or find the one this form already asked for."""
    with write_transaction():
        order = orders.lock_order(order_id)
        if order is None:
            raise OrderNotFound("That order does not exist.")
        if request.token:
            asked = db.session.scalar(sa.select(Refund.id).where(Refund.request_token == request.token))
            if asked is not None:
                return asked
        quote = _quote(order, request)
        row = Refund(order_id=order.id, amount_cents=quote.amount_cents, reason=quote.reason,
                     status=RefundStatus.PENDING, provider=order.payment_provider, restock=quote.restock,
                     cancels_order=cancels_order, request_token=request.token, actor_kind=actor.kind,
                     actor_id=actor.user_id, actor_email=actor.email,
                     items=[RefundItem(order_item_id=item_id, quantity=quantity)
                            for item_id, quantity in sorted(quote.lines.items())])
        db.session.add(row)
        db.session.flush()
        what = "cancellation refund" if cancels_order else "refund"
        states.record(order, OrderEventKind.REFUND, actor,
                      f"{what} of {quote.amount} asked for" + (f": {quote.reason}" if quote.reason else ""))
        return row.id


def _send(refund_id: int, actor: Actor) -> Refund:
    """Ask the provider for the refund and apply its answer; an unanswered request stays pending."""
    end_read_transaction()
    row = db.session.get(Refund, refund_id, populate_existing=True)
    order = db.session.get(Order, row.order_id) if row else None
    if row is None or order is None:
        raise OrderNotFound("That refund does not exist.")
    if row.status not in OPEN_REFUND_STATUSES or row.provider_refund_id:
        return row  # the same form sent again: its refund already has an answer
    answer = _ask_provider(row, order)
    if answer is not None:
        settle(refund_id, answer, actor)
    end_read_transaction()
    return db.session.get(Refund, refund_id, populate_existing=True) or row


def _refund_key(row: Refund, order: Order) -> str:
    # The order's number and the refund's time keep keys distinct when a reset database reuses ids.
    return f"shop-refund-{row.id}-{order.number}-{int(row.created_at.timestamp())}"


def _ask_provider(row: Refund, order: Order) -> ProviderAnswer | None:
    """Send the refund to the provider that took the payment; None when it could not be told whether it went."""
    reference = order.payment_reference or ""
    if not reference.startswith(payments.STRIPE_REFERENCE_PREFIX):
        # Test mode's payments moved no money: its refunds succeed at once.
        return ProviderAnswer(RefundStatus.SUCCEEDED, f"test_re_{secrets.token_urlsafe(12)}")
    if payments.is_test_mode():
        return ProviderAnswer(RefundStatus.FAILED, failure_reason="the order was paid through Stripe but no "
                                                                  "Stripe key is configured")
    end_read_transaction()
    try:
        answer = gateway.create_refund(reference, row.amount_cents, order.currency, _refund_key(row, order),
                                       {"order_id": str(order.id), "order_number": order.number,
                                        "refund_id": str(row.id)})
    except (stripe.InvalidRequestError, stripe.CardError, stripe.PermissionError) as error:
        current_app.logger.warning("Stripe refused refund %s of order %s: %s", row.id, order.number, error)
        return ProviderAnswer(RefundStatus.FAILED, failure_reason=error.user_message or str(error))
    except stripe.StripeError as error:
        # Unreachable, or an error that does not say whether the refund was made: reconciliation asks later.
        current_app.logger.warning("Refund %s of order %s: no answer from Stripe: %s", row.id, order.number, error)
        return None
    return _answer_from(answer)


def _answer_from(stripe_refund: dict) -> ProviderAnswer:
    status = str(stripe_refund.get("status") or "pending")
    code = str(stripe_refund.get("failure_reason") or "")
    return ProviderAnswer(RefundStatus(status) if status in set(RefundStatus) else RefundStatus.PENDING,
                          str(stripe_refund.get("id") or "") or None,
                          FAILURE_WORDS.get(code, code.replace("_", " ")))


def settle(refund_id: int, answer: ProviderAnswer, actor: Actor) -> bool:
    """Apply what the provider says of a refund, once; return whether anything changed."""
    with write_transaction():
        order_id = db.session.scalar(sa.select(Refund.order_id).where(Refund.id == refund_id))
        order = orders.lock_order(order_id) if order_id is not None else None
        row = db.session.get(Refund, refund_id, populate_existing=True)
        if order is None or row is None:
            return False
        if answer.provider_refund_id and not row.provider_refund_id:
            row.provider_refund_id = answer.provider_refund_id[:lengths.REFERENCE]
        if answer.status == row.status:
            return False
        if row.status == RefundStatus.SUCCEEDED and answer.status in (RefundStatus.FAILED, RefundStatus.CANCELED):
            _undo_success(order, row, answer, actor)
            return True
        if row.status not in OPEN_REFUND_STATUSES:
            return False  # final, and a late or replayed report cannot change it
        if answer.status == RefundStatus.SUCCEEDED:
            _succeed(order, row, actor)
        elif answer.status in (RefundStatus.FAILED, RefundStatus.CANCELED):
            _fail(order, row, answer, actor)
        else:
            row.status = answer.status
            states.record(order, OrderEventKind.REFUND, actor,
                          f"refund of {format_money(row.amount_cents, order.currency)} is {answer.status} at Stripe")
    return True


def _succeed(order: Order, row: Refund, actor: Actor) -> None:
    row.status = RefundStatus.SUCCEEDED
    row.settled_at = now_utc()
    order.refunded_cents += row.amount_cents
    fully = order.refunded_cents >= order.total_cents
    amount = format_money(row.amount_cents, order.currency)
    if row.restock:
        _restock_units(order, row)
    if row.cancels_order and order.status == OrderStatus.PAID:
        orders.restock_taken(order, StockReason.CANCELLED)
        _give_back_coupon_use(order)
        order.needs_attention = False  # whatever was wrong with it, it is settled now
        states.transition(order, actor, status=OrderStatus.CANCELLED,
                          payment_status=PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED,
                          note=f"cancelled; {amount} refunded" + (f": {row.reason}" if row.reason else ""))
        queue_email(order.email, f"Your order {order.number} is cancelled", "order_cancelled", order=order,
                    refund_cents=row.amount_cents, order_url=orders.order_link(order.number))
        return
    states.transition(order, actor,
                      payment_status=PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED,
                      note=f"{amount} refunded" + (f": {row.reason}" if row.reason else ""))
    if row.items and order.status == OrderStatus.PAID and nothing_left_after_parcels(order):
        states.transition(order, actor, status=OrderStatus.SHIPPED,
                          note="everything not refunded has shipped")
    queue_email(order.email, f"{amount} refunded on your order {order.number}", "order_refunded", order=order,
                refund=row, fully_refunded=fully, order_url=orders.order_link(order.number))


def _fail(order: Order, row: Refund, answer: ProviderAnswer, actor: Actor) -> None:
    row.status = answer.status
    row.failure_reason = answer.failure_reason or "Stripe did not say why"
    row.settled_at = now_utc()
    amount = format_money(row.amount_cents, order.currency)
    what = "cancellation refund" if row.cancels_order else "refund"
    states.record(order, OrderEventKind.REFUND, actor, f"{what} of {amount} {answer.status}: {row.failure_reason}")
    orders.flag(order, f"The {what} of {amount} {answer.status}: {row.failure_reason}. Nothing was refunded"
                       + ("; the order is not cancelled." if row.cancels_order else "."))


def _undo_success(order: Order, row: Refund, answer: ProviderAnswer, actor: Actor) -> None:
    """Take back a refund Stripe reported as succeeded and later as failed: the money stayed with the shop."""
    row.status = answer.status
    row.failure_reason = answer.failure_reason or "Stripe did not say why"
    order.refunded_cents -= row.amount_cents
    amount = format_money(row.amount_cents, order.currency)
    states.transition(order, actor,
                      payment_status=PaymentStatus.PAID if order.refunded_cents <= 0
                      else PaymentStatus.PARTIALLY_REFUNDED,
                      note=f"refund of {amount} failed after it had succeeded: {row.failure_reason}")
    orders.flag(order, f"The refund of {amount} failed after Stripe first reported it as made "
                       f"({row.failure_reason}). Contact the customer; check any stock it returned.")


def _restock_units(order: Order, row: Refund) -> None:
    """Put the refunded units back in stock, no more than the ledger says the order took of each."""
    taken = dict(db.session.execute(
        sa.select(StockMovement.variant_id, sa.func.sum(StockMovement.delta))
        .where(StockMovement.order_id == order.id).group_by(StockMovement.variant_id)
    ).all())
    items = {item.id: item for item in order.items}
    for refund_item in sorted(row.items, key=lambda entry: items[entry.order_item_id].variant_id or 0):
        variant_id = items[refund_item.order_item_id].variant_id
        if variant_id is None:
            continue  # the variant was deleted: there is no stock to put it back in
        units = min(refund_item.quantity, -(taken.get(variant_id, 0) or 0))
        if units <= 0:
            continue
        db.session.execute(sa.update(ProductVariant).where(ProductVariant.id == variant_id)
                           .values(stock=ProductVariant.stock + units).execution_options(synchronize_session=False))
        db.session.add(StockMovement(variant_id=variant_id, order_id=order.id, delta=units, reason=StockReason.REFUND))
        taken[variant_id] = (taken.get(variant_id, 0) or 0) + units


def _give_back_coupon_use(order: Order) -> None:
    if order.coupon_code and order.coupon_use_counted:
        rows_changed(sa.update(Coupon).where(Coupon.code == order.coupon_code, Coupon.times_used > 0)
                     .values(times_used=Coupon.times_used - 1).execution_options(synchronize_session=False))
        order.coupon_use_counted = False


# Cancellation.

def cancel(order_id: int, actor: Actor, reason: str = "", limit_cents: int | None = None) -> str:
    """Cancel an order that has not shipped and say what happened, in words for the person who asked.

    A pending order's payment page is closed and its stock released; a paid order is refunded in
    full, and becomes cancelled (stock back, coupon use given back) once the refund succeeds.
    A refund larger than limit_cents (a staff member's limit) is refused and the order left as it is.
    """
    reason = " ".join(reason.split())[:MAX_REASON] or f"cancelled by {actor.describe()}"
    end_read_transaction()
    order = db.session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise OrderNotFound("That order does not exist.")
    if order.status == OrderStatus.PENDING:
        if order.payment_status == PaymentStatus.PROCESSING:
            raise ShopError(f"Order {order.number}'s payment is still processing; it can be cancelled once it "
                            "has gone through.")
        # Close the payment page first, so the order cannot be paid while its stock goes back.
        payments.cancel_payment(order.payment_reference)
        if orders.cancel_order(order.id, reason, actor, notify=True):
            return f"Order {order.number} is cancelled. Nothing was charged."
        end_read_transaction()
        order = db.session.get(Order, order_id, populate_existing=True) or order
    if order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        return f"Order {order.number} was already {order.status}."
    if order.status != OrderStatus.PAID:
        raise states.refuse(order, "cancelled")
    refund_id = _open_cancellation(order_id, actor, reason, limit_cents)
    if refund_id is None:
        return f"Order {order.number} is cancelled."
    row = _send(refund_id, actor)
    amount = format_money(row.amount_cents, order.currency)
    if row.status == RefundStatus.SUCCEEDED:
        return f"Order {order.number} is cancelled and {amount} refunded."
    if row.status in OPEN_REFUND_STATUSES:
        return (f"Order {order.number} is being cancelled: the refund of {amount} is pending, and the order is "
                "cancelled as soon as it goes through.")
    raise ShopError(f"Order {order.number} was not cancelled: the refund of {amount} {row.status} "
                    f"({row.failure_reason}). Nothing changed.")


def _open_cancellation(order_id: int, actor: Actor, reason: str, limit_cents: int | None) -> int | None:
    """Record the full refund that cancels a paid order; None when nothing is left to refund and it is cancelled."""
    with write_transaction():
        order = orders.lock_order(order_id)
        if order is None:
            raise OrderNotFound("That order does not exist.")
        if order.status != OrderStatus.PAID:
            raise states.refuse(order, "cancelled")
        if db.session.scalar(sa.select(Shipment.id).where(Shipment.order_id == order.id).limit(1)) is not None:
            raise ShopError(f"Part of order {order.number} has already shipped, so it can no longer be cancelled. "
                            "Refund what needs refunding instead.")
        waiting = db.session.scalar(sa.select(Refund.id).where(
            Refund.order_id == order.id, Refund.cancels_order.is_(True), Refund.status.in_(OPEN_REFUND_STATUSES)))
        if waiting is not None:
            return waiting
        if db.session.scalar(sa.select(Refund.id).where(
                Refund.order_id == order.id, Refund.status.in_(OPEN_REFUND_STATUSES)).limit(1)) is not None:
            raise ShopError(f"A refund on order {order.number} is still pending; cancel once it has gone through.")
        left = order.total_cents - held_amount(order.id)
        if left <= 0 or order.payment_status not in REFUNDABLE_PAYMENTS:
            orders.restock_taken(order, StockReason.CANCELLED)
            _give_back_coupon_use(order)
            states.transition(order, actor, status=OrderStatus.CANCELLED, note=reason)
            queue_email(order.email, f"Your order {order.number} is cancelled", "order_cancelled", order=order,
                        refund_cents=0, order_url=orders.order_link(order.number))
            return None
    return _open_refund(order_id, RefundRequest(amount_cents=left, reason=reason, limit_cents=limit_cents), actor,
                        cancels_order=True)


def cancellable(order: Order) -> bool:
    """Return whether the shopper may still cancel the order (nothing shipped, not closed)."""
    if order.status == OrderStatus.PENDING:
        return order.payment_status == PaymentStatus.UNPAID
    return order.status == OrderStatus.PAID and db.session.scalar(
        sa.select(Shipment.id).where(Shipment.order_id == order.id).limit(1)) is None


# What Stripe reports: webhooks and reconciliation.

def apply_stripe_refund(stripe_refund: dict, actor: Actor) -> str | None:
    """Apply a refund object Stripe sent or returned to the shop's refund it belongs to; return what changed."""
    refund_id = _our_refund_id(stripe_refund)
    if refund_id is None:
        current_app.logger.info("Stripe refund %s is not one the shop asked for; ignored", stripe_refund.get("id"))
        return None
    answer = _answer_from(stripe_refund)
    return f"refund {answer.status}" if settle(refund_id, answer, actor) else None


def apply_stripe_charge(charge: dict, actor: Actor) -> list[str]:
    """Apply each refund listed on a refunded charge (charge.refunded); return what changed."""
    listed = (charge.get("refunds") or {}).get("data") if isinstance(charge.get("refunds"), dict) else None
    changes = []
    for stripe_refund in listed or []:
        if isinstance(stripe_refund, dict):
            change = apply_stripe_refund(stripe_refund, actor)
            if change:
                changes.append(change)
    return changes


def _our_refund_id(stripe_refund: dict) -> int | None:
    provider_id = str(stripe_refund.get("id") or "")
    if provider_id and len(provider_id) <= lengths.REFERENCE:
        found = db.session.scalar(sa.select(Refund.id).where(Refund.provider_refund_id == provider_id))
        if found is not None:
            return found
    metadata = stripe_refund.get("metadata")
    if not isinstance(metadata, dict):
        return None
    wanted = str(metadata.get("refund_id") or "")
    if not (wanted.isascii() and wanted.isdigit() and len(wanted) < 18):
        return None
    row = db.session.get(Refund, int(wanted))
    if row is None or str(metadata.get("order_id")) != str(row.order_id) or (
            row.provider_refund_id and row.provider_refund_id != provider_id):
        return None
    return row.id


def reconcile_refunds() -> Iterator[tuple[str, str, str | None]]:
    """Ask Stripe how each refund still pending stands and apply it; yield (order number, refund, change)."""
    if payments.is_test_mode():
        return
    end_read_transaction()
    waiting = db.session.execute(
        sa.select(Refund.id, Refund.provider_refund_id, Order.number, Order.payment_reference, Order.currency)
        .join(Order, Order.id == Refund.order_id)
        .where(Refund.status.in_(OPEN_REFUND_STATUSES)).order_by(Refund.id)
    ).all()
    end_read_transaction()
    for refund_id, provider_id, number, reference, currency in waiting:
        if reference is None or not reference.startswith(payments.STRIPE_REFERENCE_PREFIX):
            continue
        end_read_transaction()  # no connection waits on Stripe
        try:
            stripe_refund = _find_at_stripe(refund_id, provider_id, reference, currency)
        except stripe.StripeError as error:
            raise payments.PaymentUnavailable(f"Stripe could not be asked about refund {refund_id}: "
                                              f"{error.user_message or 'Stripe is unavailable'}.") from error
        if stripe_refund is None:
            # The request never reached Stripe (the shop stopped before it was sent): send it now.
            _send(refund_id, SYSTEM)
            yield number, f"refund {refund_id}", "sent again"
            continue
        yield number, str(stripe_refund.get("id")), apply_stripe_refund(stripe_refund, SYSTEM)


def _find_at_stripe(refund_id: int, provider_id: str | None, reference: str, currency: str) -> dict | None:
    if provider_id:
        return gateway.retrieve_refund(provider_id, currency)
    return next((found for found in gateway.list_refunds(reference, currency)
                 if str((found.get("metadata") or {}).get("refund_id")) == str(refund_id)), None)
