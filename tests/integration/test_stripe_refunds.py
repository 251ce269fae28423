"""Refunds through Stripe, against the strict local stand-in: the order counts a refund only once
Stripe says it succeeded, whether the answer, a webhook or reconciliation says so."""
import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, OutboxEmail, Refund
from shop.services import payments, refunds
from shop.services.lifecycle import Actor
from shop.services.orders import place_order
from tests.factories import make_product, stock


@pytest.fixture
def app_overrides(stripe_api):
    return stripe_api.config


def reload(order_id: int) -> Order:
    db.session.commit()
    return db.session.scalar(sa.select(Order).where(Order.id == order_id).execution_options(populate_existing=True))


def refund_row(refund_id: int) -> Refund:
    db.session.commit()
    return db.session.scalar(sa.select(Refund).where(Refund.id == refund_id).execution_options(populate_existing=True))


@pytest.fixture
def paid(app, stripe_api, details):
    """An order for two Tees and a Mug paid through Stripe Checkout; returns (order id, session)."""
    tee = make_product("Tee", price_cents=1250, stock=5).variants[0]
    mug = make_product("Mug", price_cents=899, stock=5).variants[0]
    db.session.commit()
    order = place_order({tee.id: 2, mug.id: 1}, details(email="ada@example.com"), user_id=None)
    with app.test_request_context(base_url="https://shop.example"):
        payments.start_payment(db.session.get(Order, order.id))
    session = stripe_api.mark_paid(stripe_api.only_session()["id"])
    with app.test_request_context():
        payments.sync_payment(session["id"])
    assert reload(order.id).payment_status == "paid"
    return order.id, session


def emails(subject_part: str) -> list[OutboxEmail]:
    db.session.commit()
    return [email for email in db.session.scalars(sa.select(OutboxEmail)) if subject_part in email.subject]


def test_a_partial_refund_sends_the_amount_and_its_own_idempotency_key(app, stripe_api, paid, clerk):
    order_id, session = paid
    made = refunds.refund(order_id, refunds.RefundRequest(amount_cents=500, reason="Scuffed"), clerk)
    assert made.status == "succeeded" and made.provider_refund_id.startswith("re_")
    sent = stripe_api.posts("/v1/refunds")[0]
    assert sent["form"]["amount"] == "500" and sent["form"]["metadata"]["refund_id"] == str(made.id)
    assert sent["form"]["payment_intent"] == session["payment_intent"]
    assert sent["headers"]["idempotency-key"].startswith(f"shop-refund-{made.id}-")
    refunds.refund(order_id, refunds.RefundRequest(amount_cents=reload(order_id).remaining_cents), clerk)
    order = reload(order_id)
    assert (order.payment_status, order.refunded_cents) == ("refunded", order.total_cents)
    assert [refund["amount"] for refund in stripe_api.refunds] == [500, order.total_cents - 500]


def test_a_pending_refund_that_then_fails_by_webhook_never_marks_the_order_refunded(
        app, stripe_api, paid, clerk, send_webhook):
    order_id, _ = paid
    stripe_api.next_refund_status = "pending"
    made = refunds.refund(order_id, refunds.RefundRequest(amount_cents=1000), clerk)
    assert made.status == "pending"
    order = reload(order_id)
    assert (order.payment_status, order.refunded_cents) == ("paid", 0)

    stripe_api.settle_refund(made.provider_refund_id, "failed", "expired_or_canceled_card")
    event = stripe_api.refund_event(made.provider_refund_id, "refund.failed")
    assert send_webhook(event).status_code == 200
    assert send_webhook(event).get_json()["duplicate"] is True
    order = reload(order_id)
    assert (order.payment_status, order.refunded_cents, order.needs_attention) == ("paid", 0, True)
    assert "expired or was cancelled" in order.attention_reason
    assert refund_row(made.id).status == "failed"
    assert emails("refunded on your order") == []
    # The failed refund no longer holds the money: it can be refunded again.
    stripe_api.next_refund_status = "succeeded"
    assert refunds.refund(order_id, refunds.RefundRequest(amount_cents=1000), clerk).status == "succeeded"
    assert reload(order_id).refunded_cents == 1000


def test_a_pending_refund_that_succeeds_by_webhook_counts_once(app, stripe_api, paid, clerk, send_webhook):
    order_id, _ = paid
    stripe_api.next_refund_status = "pending"
    made = refunds.refund(order_id, refunds.RefundRequest(amount_cents=700), clerk)
    stripe_api.settle_refund(made.provider_refund_id, "succeeded")
    send_webhook(stripe_api.refund_event(made.provider_refund_id, "refund.updated"))
    send_webhook(stripe_api.refund_event(made.provider_refund_id, "charge.refunded"))
    order = reload(order_id)
    assert (order.payment_status, order.refunded_cents) == ("partially refunded", 700)
    assert len(emails("refunded on your order")) == 1


def test_the_admin_page_says_why_a_refund_failed(app, stripe_api, paid, client, admin):
    order_id, _ = paid
    stripe_api.next_refund_status = "failed"
    page = client.post(f"/admin/orders/{order_id}/refund",
                       data={"amount": "10.00", "reason": "", "token": "t-1", "confirmed": "yes"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Nothing was refunded" in page and "failed" in page
    assert reload(order_id).payment_status == "paid"


def test_stripe_refusing_the_refund_changes_nothing(app, stripe_api, paid, clerk):
    order_id, _ = paid
    total = reload(order_id).total_cents
    stripe_api.refunds.append({"id": "re_outside", "object": "refund", "amount": total - 100,
                               "payment_intent": stripe_api.only_session()["payment_intent"], "status": "succeeded",
                               "currency": "usd", "metadata": {}, "created": 0})
    made = refunds.refund(order_id, refunds.RefundRequest(amount_cents=500), clerk)
    assert made.status == "failed" and made.failure_reason
    assert reload(order_id).refunded_cents == 0


def test_stripe_down_leaves_the_refund_pending_and_reconciliation_finishes_it(app, stripe_api, paid, clerk, runner):
    order_id, _ = paid
    stripe_api.fail_with(500)
    made = refunds.refund(order_id, refunds.RefundRequest(amount_cents=300), clerk)
    stripe_api.recover()
    assert made.status == "pending" and made.provider_refund_id is None
    assert reload(order_id).refunded_cents == 0
    result = runner.invoke(args=["shop", "reconcile-payments"])
    assert result.exit_code == 0, result.output
    assert "1 pending refund(s)" in result.output
    assert refund_row(made.id).status == "succeeded" and reload(order_id).refunded_cents == 300
    assert len(stripe_api.refunds) == 1


def test_reconciliation_applies_a_missed_refund_outcome(app, stripe_api, paid, clerk, runner):
    order_id, _ = paid
    stripe_api.next_refund_status = "pending"
    made = refunds.refund(order_id, refunds.RefundRequest(amount_cents=300), clerk)
    stripe_api.settle_refund(made.provider_refund_id, "succeeded")
    result = runner.invoke(args=["shop", "reconcile-payments"])
    assert result.exit_code == 0 and "refund succeeded" in result.output
    assert reload(order_id).refunded_cents == 300
    again = runner.invoke(args=["shop", "reconcile-payments"])
    assert "0 pending refund(s)" in again.output


def test_cancelling_a_stripe_order_refunds_it_and_restocks_once_it_succeeds(app, stripe_api, paid, send_webhook):
    order_id, _ = paid
    tee = reload(order_id).items[0].variant_id
    assert stock(tee) == 3
    stripe_api.next_refund_status = "pending"
    message = refunds.cancel(order_id, Actor.customer(email="ada@example.com"))
    assert "being cancelled" in message and reload(order_id).status == "paid"
    made = db.session.scalar(sa.select(Refund))
    assert made.cancels_order and made.amount_cents == reload(order_id).total_cents
    assert stock(tee) == 3  # nothing goes back until the money has
    stripe_api.settle_refund(made.provider_refund_id, "succeeded")
    send_webhook(stripe_api.refund_event(made.provider_refund_id, "refund.updated"))
    order = reload(order_id)
    assert (order.status, order.payment_status) == ("cancelled", "refunded")
    assert stock(tee) == 5
    assert len(emails("is cancelled")) == 1


def test_a_refund_event_for_a_refund_the_shop_did_not_make_is_ignored(app, stripe_api, paid, send_webhook):
    order_id, _ = paid
    event = {"id": "evt_outside", "object": "event", "type": "refund.updated",
             "data": {"object": {"id": "re_unknown", "object": "refund", "status": "succeeded", "amount": 100,
                                 "metadata": {"refund_id": "999", "order_id": str(order_id)}}}}
    assert send_webhook(event).status_code == 200
    assert reload(order_id).refunded_cents == 0


def test_a_refund_reported_succeeded_then_failed_is_taken_back(app, stripe_api, paid, clerk, send_webhook):
    order_id, _ = paid
    made = refunds.refund(order_id, refunds.RefundRequest(amount_cents=400), clerk)
    assert reload(order_id).refunded_cents == 400
    stripe_api.settle_refund(made.provider_refund_id, "failed", "lost_or_stolen_card")
    send_webhook(stripe_api.refund_event(made.provider_refund_id, "refund.failed"))
    order = reload(order_id)
    assert (order.payment_status, order.refunded_cents, order.needs_attention) == ("paid", 0, True)

