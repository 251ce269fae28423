"""`flask shop reconcile-payments`: catching up with what Stripe knows after lost webhooks."""
import time
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, ProductVariant
from tests.factories import make_product


@pytest.fixture
def app_overrides(stripe_api):
    return stripe_api.config


@pytest.fixture
def place(client, stripe_api, checkout_cart, checkout_form):
    """Return a function placing a guest order for one of a fresh product through the checkout page."""

    def place_one(email: str = "guest@example.com") -> SimpleNamespace:
        variant = make_product(price_cents=1800, stock=4).variants[0]
        db.session.commit()
        checkout_cart({variant: 1})
        response = client.post("/checkout", data=checkout_form(email=email))
        assert response.status_code == 303
        session_id = response.headers["Location"].rsplit("/", 1)[1]
        order = db.session.scalar(sa.select(Order).where(Order.payment_reference == session_id))
        return SimpleNamespace(id=order.id, number=order.number, session_id=session_id, variant_id=variant.id)

    return place_one


def reconcile(app, *args):
    return app.test_cli_runner().invoke(args=["shop", "reconcile-payments", *args])


def state(placed) -> tuple[str, str, int]:
    db.session.commit()
    order = db.session.scalar(sa.select(Order).where(Order.id == placed.id).execution_options(populate_existing=True))
    stock = db.session.scalar(sa.select(ProductVariant.stock).where(ProductVariant.id == placed.variant_id))
    return order.status, order.payment_status, stock


def test_a_missed_payment_is_applied_and_reported(app, place, stripe_api, mail_outbox):
    paid = place("paid@example.com")
    stripe_api.mark_paid(paid.session_id)

    result = reconcile(app)

    assert result.exit_code == 0, result.output
    assert f"Order {paid.number} ({paid.session_id}): paid" in result.output
    assert "changed 1 order(s)" in result.output
    assert state(paid) == ("paid", "paid", 3)
    assert [mail["To"] for mail in mail_outbox] == ["paid@example.com"]


def test_a_missed_expiry_returns_the_stock(app, place, stripe_api):
    walked_away = place()
    stripe_api.mark_expired(walked_away.session_id)

    result = reconcile(app)

    assert f"Order {walked_away.number} ({walked_away.session_id}): expired" in result.output
    assert state(walked_away) == ("expired", "unpaid", 4)


def test_a_pending_async_payment_is_noted_and_keeps_its_stock(app, place, stripe_api):
    waiting = place()
    stripe_api.mark_processing(waiting.session_id)

    result = reconcile(app)

    assert "payment processing" in result.output
    assert state(waiting) == ("pending", "processing", 3)


def test_a_missed_async_failure_cancels_the_order_and_returns_the_stock(app, place, stripe_api, mail_outbox):
    bounced = place()
    stripe_api.mark_processing(bounced.session_id)
    stripe_api.mark_async_failed(bounced.session_id)

    result = reconcile(app)

    assert f"Order {bounced.number} ({bounced.session_id}): payment failed" in result.output
    assert state(bounced) == ("cancelled", "failed", 4)
    assert mail_outbox == []
    assert "payment failed" not in reconcile(app).output


def test_running_it_again_changes_nothing(app, place, stripe_api, mail_outbox):
    paid, open_ = place(), place()
    stripe_api.mark_paid(paid.session_id)
    reconcile(app)

    result = reconcile(app)

    assert result.exit_code == 0
    assert "Order " not in result.output
    assert ("Checked 2 Checkout Session(s) from the last 3 day(s) and 0 pending refund(s); changed 0 order(s)."
            in result.output)
    assert state(paid) == ("paid", "paid", 3)
    assert state(open_) == ("pending", "unpaid", 3)
    assert len(mail_outbox) == 1


def test_every_page_of_sessions_is_read(app, place, stripe_api):
    orders = [place() for _ in range(5)]
    for placed in orders:
        stripe_api.mark_paid(placed.session_id)
    stripe_api.page_size = 2

    result = reconcile(app)

    assert "changed 5 order(s)" in result.output
    assert all(state(placed)[1] == "paid" for placed in orders)
    assert len([r for r in stripe_api.requests if r["path"] == "/v1/checkout/sessions" and r["method"] == "GET"]) == 3


def test_only_sessions_of_the_last_days_are_asked_for(app, place, stripe_api):
    old = place()
    stripe_api.mark_paid(old.session_id)
    stripe_api.set_created(old.session_id, int(time.time()) - 5 * 86400)

    result = reconcile(app, "--days", "3")

    assert "changed 0 order(s)" in result.output
    listing = next(r for r in stripe_api.requests if r["path"] == "/v1/checkout/sessions" and r["method"] == "GET")
    assert abs(int(listing["query"]["created[gte]"]) - (time.time() - 3 * 86400)) < 60
    assert state(old)[1] == "unpaid"


def test_sessions_the_shop_did_not_create_are_skipped(app, place, stripe_api):
    ours = place()
    stripe_api.mark_paid(ours.session_id)
    stripe_api._update(ours.session_id, metadata={})

    result = reconcile(app)

    assert "Checked 0 Checkout Session(s)" in result.output
    assert state(ours)[1] == "unpaid"


def test_stripe_being_down_is_reported_and_changes_nothing(app, place, stripe_api):
    placed = place()
    stripe_api.mark_paid(placed.session_id)
    stripe_api.fail_with(500)

    result = reconcile(app)

    assert result.exit_code == 1
    assert "Stripe could not list the Checkout Sessions" in result.output
    assert state(placed)[1] == "unpaid"


def test_without_keys_there_is_nothing_to_reconcile(app):
    app.config["STRIPE_SECRET_KEY"] = None

    result = reconcile(app)

    assert result.exit_code == 1
    assert "No Stripe key is configured" in result.output


@pytest.mark.parametrize("days", ["0", "abc", "91"])
def test_bad_days_are_refused(app, days):
    result = reconcile(app, "--days", days)

    assert result.exit_code == 2
