"""The payment provider's webhook endpoint: Stripe reports Checkout Sessions and refunds here."""
import json

import stripe
from flask import current_app, request

from shop.checkout import bp
from shop.extensions import csrf
from shop.models import lengths
from shop.services import webhooks


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
    if not event_id or len(event_id) > lengths.REFERENCE:
        return {"error": "invalid event"}, 400
    data = event.get("data")
    subject = data.get("object") if isinstance(data, dict) else None
    if not isinstance(subject, dict):
        subject = {}
    if not webhooks.apply_event(event_id, str(event.get("type") or ""), subject):
        return {"received": True, "duplicate": True}
    return {"received": True}
