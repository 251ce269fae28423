"""Stripe's webhook: signed, deduplicated, and never moving an order backwards."""
import hashlib
import hmac
import json
import time
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, PaymentEvent, ProductVariant
from tests.factories import make_product, stock
from tests.plugins.stripe import WEBHOOK_SECRET, signed_webhook


@pytest.fixture
def app_overrides(stripe_api):
    return stripe_api.config


@pytest.fixture
def placed(client, stripe_api, checkout_cart, checkout_form):
    """A guest order for 2 of 5 units at $25.00, placed through the checkout page and sent to Stripe."""
    variant = make_product("Lamp", price_cents=2500, stock=5).variants[0]
    db.session.commit()
    checkout_cart({variant: 2})
    response = client.post("/checkout", data=checkout_form())
    assert response.status_code == 303
    session = stripe_api.only_session()
    assert response.headers["Location"] == session["url"]
    order = db.session.scalar(sa.select(Order).where(Order.payment_reference == session["id"]))
    return SimpleNamespace(order_id=order.id, number=order.number, session_id=session["id"], variant_id=variant.id)


def order(placed) -> Order:
    db.session.commit()
    return db.session.scalar(sa.select(Order).where(Order.id == placed.order_id)
                             .execution_options(populate_existing=True))


def recorded_events() -> int:
    db.session.commit()
    return db.session.scalar(sa.select(sa.func.count()).select_from(PaymentEvent))


def test_paid_checkout_marks_the_order_paid_once_and_emails_the_shopper(placed, stripe_api, send_webhook,
                                                                          mail_outbox):
    stripe_api.mark_paid(placed.session_id)

    response = send_webhook(stripe_api.event(placed.session_id, "checkout.session.completed"))

    assert response.status_code == 200
    paid = order(placed)
    assert (paid.status, paid.payment_status, paid.stock_reserved) == ("paid", "paid", False)
    assert stock(placed.variant_id) == 3
    assert [(mail["To"], placed.number in mail["Subject"]) for mail in mail_outbox] == [("guest@example.com", True)]


def test_a_tampered_body_is_rejected_and_changes_nothing(client, placed, stripe_api):
    stripe_api.mark_paid(placed.session_id)
    body, headers = signed_webhook(stripe_api.event(placed.session_id, "checkout.session.completed"))
    forged_id = placed.session_id[:-1] + ("1" if placed.session_id.endswith("0") else "0")
    tampered = body.replace(placed.session_id.encode(), forged_id.encode())
    assert tampered != body

    response = client.post("/checkout/webhook", data=tampered, headers=headers, csrf=False)

    assert response.status_code == 400
    assert order(placed).payment_status == "unpaid"
    assert recorded_events() == 0


@pytest.mark.parametrize("signature", [
    "wrong secret", "missing", "stale", "garbage", "other scheme",
])
def test_a_bad_signature_is_rejected_and_changes_nothing(client, placed, stripe_api, signature):
    stripe_api.mark_paid(placed.session_id)
    payload = stripe_api.event(placed.session_id, "checkout.session.completed")
    if signature == "wrong secret":
        body, headers = signed_webhook(payload, secret="whsec_not_ours")
    elif signature == "stale":
        body, headers = signed_webhook(payload, timestamp=int(time.time()) - 301)
    else:
        body, headers = signed_webhook(payload)
        headers["Stripe-Signature"] = {
            "missing": "", "garbage": "t=yesterday,v1=zz",
            "other scheme": headers["Stripe-Signature"].replace("v1=", "v0="),
        }[signature]

    response = client.post("/checkout/webhook", data=body, headers=headers, csrf=False)

    assert response.status_code == 400
    assert order(placed).payment_status == "unpaid"
    assert stock(placed.variant_id) == 3
    assert recorded_events() == 0


def test_a_signed_body_that_is_not_json_is_a_bad_request(client, placed):
    timestamp = int(time.time())
    body = b"not json"
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}

    assert client.post("/checkout/webhook", data=body, headers=headers, csrf=False).status_code == 400


def test_without_a_webhook_secret_nothing_is_accepted(app, placed, stripe_api, send_webhook):
    app.config["STRIPE_WEBHOOK_SECRET"] = None
    stripe_api.mark_paid(placed.session_id)

    response = send_webhook(stripe_api.event(placed.session_id, "checkout.session.completed"))

    assert response.status_code == 400
    assert order(placed).payment_status == "unpaid"


def test_a_duplicated_event_is_acknowledged_and_ignored(placed, stripe_api, send_webhook, mail_outbox,
                                                        count_queries):
    stripe_api.mark_paid(placed.session_id)
    event = stripe_api.event(placed.session_id, "checkout.session.completed")
    assert send_webhook(event).status_code == 200

    with count_queries() as statements:
        again = send_webhook(event)

    assert again.status_code == 200
    assert again.get_json() == {"received": True, "duplicate": True}
    assert len(statements) == 1  # only the event-id lookup: the order is not touched again
    assert recorded_events() == 1
    assert len(mail_outbox) == 1
    assert stock(placed.variant_id) == 3


def test_expired_after_paid_does_not_undo_the_sale(placed, stripe_api, send_webhook):
    stripe_api.mark_paid(placed.session_id)
    send_webhook(stripe_api.event(placed.session_id, "checkout.session.completed"))
    expired = stripe_api.event(placed.session_id, "checkout.session.expired")
    expired["data"]["object"]["status"] = "expired"

    assert send_webhook(expired).status_code == 200

    assert (order(placed).status, order(placed).payment_status) == ("paid", "paid")
    assert stock(placed.variant_id) == 3


def test_expiry_gives_the_stock_back(placed, stripe_api, send_webhook):
    stripe_api.mark_expired(placed.session_id)

    assert send_webhook(stripe_api.event(placed.session_id, "checkout.session.expired")).status_code == 200

    assert (order(placed).status, order(placed).payment_status) == ("expired", "unpaid")
    assert stock(placed.variant_id) == 5


def test_a_payment_after_expiry_takes_the_stock_again(placed, stripe_api, send_webhook, mail_outbox):
    expired = stripe_api.event(placed.session_id, "checkout.session.expired")
    expired["data"]["object"]["status"] = "expired"
    send_webhook(expired)
    assert stock(placed.variant_id) == 5
    stripe_api.mark_paid(placed.session_id)

    send_webhook(stripe_api.event(placed.session_id, "checkout.session.completed"))

    paid = order(placed)
    assert (paid.status, paid.payment_status, paid.needs_attention) == ("paid", "paid", False)
    assert stock(placed.variant_id) == 3
    assert len(mail_outbox) == 1


def test_a_payment_after_expiry_with_the_stock_gone_is_flagged_not_lost(placed, stripe_api, send_webhook):
    expired = stripe_api.event(placed.session_id, "checkout.session.expired")
    expired["data"]["object"]["status"] = "expired"
    send_webhook(expired)
    db.session.execute(sa.update(ProductVariant).where(ProductVariant.id == placed.variant_id).values(stock=1))
    db.session.commit()
    stripe_api.mark_paid(placed.session_id)

    send_webhook(stripe_api.event(placed.session_id, "checkout.session.completed"))

    paid = order(placed)
    assert (paid.status, paid.payment_status, paid.needs_attention) == ("paid", "paid", True)
    assert "stock short" in paid.attention_reason
    assert stock(placed.variant_id) == 1


@pytest.mark.parametrize("field, value", [("amount_total", 4999), ("currency", "eur")])
def test_a_wrong_amount_or_currency_needs_attention_and_is_not_paid(placed, stripe_api, send_webhook, mail_outbox,
                                                                    field, value):
    stripe_api.mark_paid(placed.session_id)
    event = stripe_api.event(placed.session_id, "checkout.session.completed")
    event["data"]["object"][field] = value

    assert send_webhook(event).status_code == 200

    flagged = order(placed)
    assert flagged.payment_status != "paid"
    assert flagged.needs_attention and "amount mismatch" in flagged.attention_reason
    assert mail_outbox == []


def test_an_event_for_another_order_is_not_applied(placed, stripe_api, send_webhook):
    stripe_api.mark_paid(placed.session_id)
    event = stripe_api.event(placed.session_id, "checkout.session.completed")
    event["data"]["object"]["metadata"]["order_id"] = str(placed.order_id + 100)

    assert send_webhook(event).status_code == 200

    assert order(placed).payment_status == "unpaid"


def test_an_event_for_an_unknown_session_is_acknowledged(placed, stripe_api, send_webhook):
    event = stripe_api.event(placed.session_id, "checkout.session.completed")
    event["data"]["object"].update(id="cs_test_unknown", payment_status="paid", status="complete")

    assert send_webhook(event).status_code == 200

    assert order(placed).payment_status == "unpaid"


def test_other_event_types_are_acknowledged(placed, stripe_api, send_webhook):
    event = stripe_api.event(placed.session_id, "payment_intent.created")

    assert send_webhook(event).status_code == 200

    assert order(placed).payment_status == "unpaid"
    assert recorded_events() == 1


def test_an_async_payment_is_processing_then_paid(placed, stripe_api, send_webhook, mail_outbox):
    stripe_api.mark_processing(placed.session_id)

    send_webhook(stripe_api.event(placed.session_id, "checkout.session.completed"))

    waiting = order(placed)
    assert (waiting.status, waiting.payment_status, waiting.stock_reserved) == ("pending", "processing", True)
    assert mail_outbox == []

    stripe_api.mark_async_paid(placed.session_id)
    send_webhook(stripe_api.event(placed.session_id, "checkout.session.async_payment_succeeded"))

    assert (order(placed).status, order(placed).payment_status) == ("paid", "paid")
    assert stock(placed.variant_id) == 3
    assert len(mail_outbox) == 1


def test_a_failed_async_payment_cancels_the_order_and_returns_the_stock(placed, stripe_api, send_webhook, mail_outbox):
    stripe_api.mark_processing(placed.session_id)
    send_webhook(stripe_api.event(placed.session_id, "checkout.session.completed"))

    send_webhook(stripe_api.event(placed.session_id, "checkout.session.async_payment_failed"))

    failed = order(placed)
    assert (failed.status, failed.payment_status) == ("cancelled", "failed")
    assert stock(placed.variant_id) == 5
    assert mail_outbox == []


def test_a_late_processing_event_does_not_regress_a_paid_order(placed, stripe_api, send_webhook):
    processing = stripe_api.event(placed.session_id, "checkout.session.completed")
    processing["data"]["object"].update(status="complete", payment_status="unpaid")
    stripe_api.mark_paid(placed.session_id)
    send_webhook(stripe_api.event(placed.session_id, "checkout.session.completed"))

    send_webhook(processing)
    send_webhook(stripe_api.event(placed.session_id, "checkout.session.async_payment_failed"))

    assert (order(placed).status, order(placed).payment_status) == ("paid", "paid")
    assert stock(placed.variant_id) == 3


def test_the_webhook_needs_no_csrf_token_but_other_forms_still_do(client, placed, stripe_api, checkout_form):
    body, headers = signed_webhook(stripe_api.event(placed.session_id, "payment_intent.created"))
    assert client.post("/checkout/webhook", data=body, headers=headers, csrf=False).status_code == 200

    assert client.post("/checkout", data=checkout_form(), csrf=False).status_code == 400
    assert len(stripe_api.sessions) == 1


def test_the_webhook_only_accepts_post(client):
    assert client.get("/checkout/webhook").status_code == 405
    assert json.loads(client.get("/checkout/webhook").get_data())["error"]
