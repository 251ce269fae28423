"""Stripe's webhook events, applied once each: Checkout Sessions settle orders, refunds settle refunds."""
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from shop.database import end_read_transaction, write_transaction
from shop.extensions import db
from shop.models import PaymentEvent, lengths
from shop.services import ShopError, payments, refunds
from shop.services.lifecycle import WEBHOOK

SESSION_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.expired",
}
FAILED_SESSION_EVENT = "checkout.session.async_payment_failed"
REFUND_EVENTS = {"refund.created", "refund.updated", "refund.failed"}
CHARGE_REFUNDED_EVENT = "charge.refunded"


def apply_event(event_id: str, event_type: str, subject: dict) -> bool:
    """Apply a verified webhook event about `subject` (its data.object) once; False for one already applied.

    The event id is recorded after the work, which is idempotent: a crash in between only
    means a redelivered event is applied again, harmlessly; recorded first, it could be lost.
    """
    end_read_transaction()
    if db.session.scalar(sa.select(PaymentEvent.id).where(PaymentEvent.event_id == event_id)):
        return False
    try:
        if event_type == FAILED_SESSION_EVENT:
            payments.fail_checkout_session(subject, "the asynchronous payment failed", WEBHOOK)
        elif event_type in SESSION_EVENTS:
            payments.apply_checkout_session(subject, WEBHOOK)
        elif event_type in REFUND_EVENTS:
            refunds.apply_stripe_refund(subject, WEBHOOK)
        elif event_type == CHARGE_REFUNDED_EVENT:
            refunds.apply_stripe_charge(subject, WEBHOOK)
    except ShopError as error:
        current_app.logger.warning("Webhook %s (%s) not applied: %s", event_id, event_type, error)
    try:
        with write_transaction():
            db.session.add(PaymentEvent(event_id=event_id, type=event_type[:lengths.EVENT_TYPE]))
    except IntegrityError:  # the same event, delivered twice at once, was recorded by the other delivery
        return False
    return True
