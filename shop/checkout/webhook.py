"""The payment provider's webhook endpoint: Stripe reports Checkout Session events here."""
import json

import sqlalchemy as sa
import stripe
from flask import current_app, request
from sqlalchemy.exc import IntegrityError

from shop.checkout.views import bp
from shop.extensions import csrf, db
from shop.models import PaymentEvent
from shop.services import ShopError, payments

SESSION_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.expired",
}
FAILED_EVENT = "checkout.session.async_payment_failed"


@bp.post("/checkout/webhook")
@csrf.exempt
def webhook():
    """Verify a Stripe event, apply it once, and acknowledge it."""
    payload = request.get_data()
    try:
        stripe.WebhookSignature.verify_header(
            payload, request.headers.get("Stripe-Signature"), current_app.config.get("STRIPE_WEBHOOK_SECRET"),
            stripe.Webhook.DEFAULT_TOLERANCE,
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as error:
        current_app.logger.warning("Webhook rejected: %s", error)
        return {"error": "invalid signature"}, 400
    # Parsed here, not by stripe.Webhook.construct_event: that raises AttributeError, a 500, on a
    # well-signed body that is not a JSON object.
    if not isinstance(event, dict):
        return {"error": "invalid event"}, 400

    event_id = str(event.get("id") or "")
    if not event_id or len(event_id) > 255:
        return {"error": "invalid event"}, 400
    if db.session.scalar(sa.select(PaymentEvent.id).where(PaymentEvent.event_id == event_id)):
        return {"received": True, "duplicate": True}

    event_type = str(event.get("type") or "")
    if event_type in SESSION_EVENTS or event_type == FAILED_EVENT:
        data = event.get("data")
        session = data.get("object") if isinstance(data, dict) else None
        if not isinstance(session, dict):
            session = {}
        try:
            if event_type == FAILED_EVENT:
                payments.fail_session(session, "the asynchronous payment failed")
            else:
                payments.apply_session(session)
        except ShopError as error:
            current_app.logger.warning("Webhook %s (%s) not applied: %s", event_id, event_type, error)

    # Recorded after the work, which is idempotent: a crash in between only means the
    # redelivered event is applied again, harmlessly; recorded first, it could be lost.
    db.session.add(PaymentEvent(event_id=event_id, type=event_type[:80]))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return {"received": True, "duplicate": True}

    return {"received": True}
