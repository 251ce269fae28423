"""The payment provider switch: Stripe Checkout when a secret key is set, else the built-in test provider.

Whatever reports a payment (the webhook, the success page, reconciliation, the test-payment
page) ends in the same idempotent functions of shop.services.orders.
"""
import secrets
from collections.abc import Iterator

import sqlalchemy as sa
import stripe
from flask import current_app, url_for
from sqlalchemy.orm import Session, selectinload

from shop.database import end_read_transaction, write_transaction
from shop.extensions import db
from shop.models import Order
from shop.services import ShopError, lifecycle, orders
from shop.services import stripe_gateway as gateway
from shop.services.lifecycle import SYSTEM, Actor

TEST_REFERENCE_PREFIX = "test_"
FREE_REFERENCE_PREFIX = "free_"
STRIPE_REFERENCE_PREFIX = "cs_"
# A delayed payment (bank debit) that fails sends its intent back for another payment method.
FAILED_INTENT_STATUSES = ("requires_payment_method", "canceled")
UNAVAILABLE = "Payment is unavailable right now, and nothing was charged. Please try again in a few minutes."


class PaymentUnavailable(ShopError):
    """The payment provider could not be reached or refused the request."""


def is_test_mode() -> bool:
    """Return whether payments go through the built-in test provider (no Stripe key set)."""
    return not current_app.config.get("STRIPE_SECRET_KEY")


def start_payment(order: Order) -> str:
    """Open a payment for the order and return the URL to send the shopper to.

    Idempotent: called again for the same order (a double submit), it returns the same payment.
    """
    if order.total_cents == 0:
        # A full discount with free shipping: Stripe refuses a zero payment, and nothing is owed.
        reference = _store_reference(order.id, "none", FREE_REFERENCE_PREFIX + secrets.token_urlsafe(24))
        orders.record_payment(order.id, amount_cents=0, currency=order.currency, reference=reference,
                              provider="none")
        return url_for("checkout.success", session_id=reference)
    if is_test_mode():
        reference = _store_reference(order.id, "test", TEST_REFERENCE_PREFIX + secrets.token_urlsafe(24))
        return url_for("checkout.test_payment", reference=reference)
    order = _detached_order(order.id)
    if gateway.expected_total(order) != order.total_cents:
        current_app.logger.error("Order %s: its lines do not add up to its total; not sent to Stripe", order.number)
        raise PaymentUnavailable(UNAVAILABLE)
    try:
        checkout_session = gateway.create_checkout_session(order)
    except stripe.StripeError as error:
        current_app.logger.warning("Stripe refused a Checkout Session for order %s: %s", order.number, error)
        raise PaymentUnavailable(UNAVAILABLE) from error
    if not checkout_session.url:
        raise PaymentUnavailable(UNAVAILABLE)
    _store_reference(order.id, "stripe", checkout_session.id)
    return checkout_session.url


def _store_reference(order_id: int, provider: str, reference: str) -> str:
    """Record which provider payment belongs to the order, unless one already does; return the order's."""
    with write_transaction():
        db.session.execute(
            sa.update(Order).where(Order.id == order_id, Order.payment_reference.is_(None))
            .values(payment_provider=provider, payment_reference=reference)
        )
        return db.session.scalar(sa.select(Order.payment_reference).where(Order.id == order_id)) or reference


def _detached_order(order_id: int) -> Order:
    """Read the order and its items, then end the transaction, so no connection waits on Stripe."""
    end_read_transaction()
    with Session(db.engine) as reader:
        order = reader.scalar(sa.select(Order).where(Order.id == order_id).options(selectinload(Order.items)))
    if order is None:
        raise lifecycle.OrderNotFound("That order does not exist.")
    return order


def pay_test_order(order: Order, reference: str) -> bool:
    """Pay an order on the test-payment page; False when it can no longer be paid (cancelled, expired)."""
    return orders.record_payment(order.id, amount_cents=order.total_cents, currency=order.currency,
                                 reference=reference, provider="test", only_if_pending=True,
                                 actor=Actor.customer(order.user_id, order.email))


def sync_payment(reference: str) -> None:
    """Ask Stripe how the payment stands and apply it, for a shopper back before the webhook."""
    if is_test_mode() or not reference.startswith(STRIPE_REFERENCE_PREFIX):
        return
    end_read_transaction()
    try:
        checkout_session = gateway.retrieve_checkout_session(reference)
    except stripe.StripeError as error:
        # The page then says the payment is processing; the webhook or reconciliation follows.
        current_app.logger.warning("Could not retrieve Checkout Session %s: %s", reference, error)
        return
    apply_checkout_session(checkout_session)


def cancel_payment(reference: str | None) -> None:
    """Close an order's open Checkout Session (its payment reference) so it can no longer be paid."""
    reference = reference or ""
    if is_test_mode() or not reference.startswith(STRIPE_REFERENCE_PREFIX):
        return
    end_read_transaction()
    try:
        gateway.expire_checkout_session(reference)
    except stripe.StripeError as error:
        # Best effort: a session already paid still reaches the order through the webhook.
        current_app.logger.info("Checkout Session %s not expired: %s", reference, error)


def apply_checkout_session(checkout_session: dict, actor: Actor = SYSTEM) -> str | None:
    """Bring the order in line with its Checkout Session's state; return what changed, or None."""
    order_id = order_id_for(checkout_session)
    if order_id is None:
        return None
    if checkout_session.get("status") == "expired":
        return "expired" if orders.expire_order(order_id, actor) else None
    if checkout_session.get("status") != "complete":
        return None
    if checkout_session.get("payment_status") in ("paid", "no_payment_required"):
        try:
            amount_cents = gateway.session_amount(checkout_session)
        except ValueError:  # not a whole number of the shop's units: record_payment flags the mismatch
            amount_cents = int(checkout_session.get("amount_total") or 0)
        changed = orders.record_payment(
            order_id,
            amount_cents=amount_cents,
            currency=str(checkout_session.get("currency") or ""),
            reference=checkout_session["id"],
            provider="stripe",
            actor=actor,
        )
        return "paid" if changed else None
    intent = checkout_session.get("payment_intent")
    if isinstance(intent, dict) and intent.get("status") in FAILED_INTENT_STATUSES:
        return ("payment failed" if orders.record_payment_failure(order_id, "the delayed payment failed", actor)
                else None)
    return "payment processing" if orders.mark_payment_processing(order_id, actor) else None


def fail_checkout_session(checkout_session: dict, reason: str, actor: Actor = SYSTEM) -> str | None:
    """Cancel the order whose asynchronous payment failed; return what changed, or None."""
    order_id = order_id_for(checkout_session)
    if order_id is None:
        return None
    return "payment failed" if orders.record_payment_failure(order_id, reason, actor) else None


def reconcile_payments(days: int) -> Iterator[tuple[str, str, str | None]]:
    """Apply what Stripe's Checkout Sessions of the last days say and the shop missed.

    Yields (session id, order number, change or None) for each of the shop's sessions checked.
    """
    if is_test_mode():
        raise ShopError("No Stripe key is configured, so there is nothing to reconcile.")
    try:
        for checkout_session in gateway.recent_checkout_sessions(days):
            if not (checkout_session.get("metadata") or {}).get("order_id"):
                continue  # not a session this shop created
            change = apply_checkout_session(checkout_session)
            end_read_transaction()  # the next page of sessions comes over the network
            yield checkout_session["id"], str(checkout_session.get("client_reference_id") or "?"), change
    except stripe.StripeError as error:
        raise PaymentUnavailable(f"Stripe could not list the Checkout Sessions: "
                                 f"{error.user_message or 'Stripe is unavailable'}.") from error


def order_id_for(checkout_session: dict) -> int | None:
    """Return the id of the order this Checkout Session pays, after checking it names the same order."""
    order = orders.find_order_by_reference(str(checkout_session.get("id") or ""))
    metadata = checkout_session.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    if order is None:
        current_app.logger.warning("Checkout Session %s matches no order (metadata %s)",
                                   checkout_session.get("id"), dict(metadata))
        return None
    client_reference = checkout_session.get("client_reference_id")
    if metadata.get("order_id") != str(order.id) or client_reference not in (None, order.number):
        current_app.logger.error("Checkout Session %s names order %s/%s but belongs to order %s; not applied",
                                 checkout_session.get("id"), metadata.get("order_id"), client_reference, order.number)
        return None
    return order.id
