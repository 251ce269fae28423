"""What the shop sends to Stripe, checked on the wire against the local Stripe stand-in."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, OrderItem
from shop.models.base import now_utc
from shop.services import payments
from tests.factories import make_order, make_product


@pytest.fixture
def app_overrides(stripe_api, request):
    return {**stripe_api.config, **getattr(request, "param", {})}


def start(app, order_id: int) -> str:
    """Start the payment as the checkout view does, inside a request."""
    with app.test_request_context(base_url="https://shop.example"):
        return payments.start_payment(db.session.get(Order, order_id))


def reload(order_id: int) -> Order:
    """Read the order as it is now, outside the test's earlier read transaction."""
    db.session.commit()
    return db.session.scalar(sa.select(Order).where(Order.id == order_id).execution_options(populate_existing=True))


@pytest.fixture
def full_order():
    """A pending order with two lines, shipping, a coupon discount and tax, reserved for an hour."""
    tee = make_product("Tee", price_cents=1250, variants=[{"size": "M", "colour": "Blue"}]).variants[0]
    mug = make_product("Mug", price_cents=899).variants[0]
    order = make_order(variant=tee, quantity=2, email="ada@example.com")
    db.session.add(OrderItem(order_id=order.id, variant_id=mug.id, product_name="Mug", variant_name="Default",
                             sku=mug.sku, unit_price_cents=899, quantity=1))
    order.subtotal_cents = 2 * 1250 + 899
    order.shipping_cents = 495
    order.shipping_method_name = "Standard post"
    order.coupon_code = "SAVE5"
    order.discount_cents = 500
    order.tax_cents = 341
    order.total_cents = order.subtotal_cents - 500 + 495 + 341
    order.reserved_until = now_utc() + timedelta(minutes=60)
    db.session.commit()
    return order


def test_checkout_session_carries_every_line_in_minor_units(app, stripe_api, full_order):
    url = start(app, full_order.id)

    session = stripe_api.only_session()
    assert url == session["url"]
    sent = stripe_api.posts("/v1/checkout/sessions")[0]["form"]
    assert sent["mode"] == "payment"
    lines = [(line["price_data"]["product_data"]["name"], line["price_data"]["unit_amount"], line["quantity"],
              line["price_data"]["currency"]) for line in sent["line_items"]]
    assert lines == [("Tee (M / Blue)", "1250", "2", "usd"), ("Mug", "899", "1", "usd"), ("Tax", "341", "1", "usd")]
    shipping = sent["shipping_options"][0]["shipping_rate_data"]
    assert shipping["display_name"] == "Standard post"
    assert shipping["fixed_amount"] == {"amount": "495", "currency": "usd"}
    coupon_request = stripe_api.posts("/v1/coupons")[0]["form"]
    assert coupon_request["amount_off"] == "500" and coupon_request["currency"] == "usd"
    assert sent["discounts"] == [{"coupon": next(iter(stripe_api.coupons))}]
    # Stripe's own arithmetic lands on the order's total, so the webhook's amount check passes.
    assert session["amount_total"] == full_order.total_cents == 3735
    assert session["currency"] == "usd"


def test_checkout_session_names_the_order_and_the_way_back(app, stripe_api, full_order):
    start(app, full_order.id)

    sent = stripe_api.posts("/v1/checkout/sessions")[0]["form"]
    order = reload(full_order.id)
    assert sent["customer_email"] == "ada@example.com"
    assert sent["client_reference_id"] == order.number
    assert sent["metadata"]["order_id"] == str(order.id)
    assert sent["success_url"] == "https://shop.example/checkout/success?session_id={CHECKOUT_SESSION_ID}"
    assert sent["cancel_url"] == "https://shop.example/checkout/cancel?session_id={CHECKOUT_SESSION_ID}"
    assert order.payment_reference == stripe_api.only_session()["id"]
    assert order.payment_reference.startswith("cs_test_")
    assert order.payment_provider == "stripe"


def test_the_way_back_from_stripe_is_built_on_the_base_url_not_the_requested_host(app, stripe_api, full_order):
    app.config["BASE_URL"] = "https://real.example"
    start(app, full_order.id)  # requested as shop.example

    sent = stripe_api.posts("/v1/checkout/sessions")[0]["form"]
    assert sent["success_url"].startswith("https://real.example/checkout/success?")
    assert sent["cancel_url"].startswith("https://real.example/checkout/cancel?")


def test_session_expires_with_the_reservation(app, stripe_api, full_order):
    start(app, full_order.id)

    sent = stripe_api.posts("/v1/checkout/sessions")[0]["form"]
    assert int(sent["expires_at"]) == int(reload(full_order.id).reserved_until.timestamp())


@pytest.mark.parametrize("minutes, expected_minutes", [(10, 31), (60 * 24 * 3, 23 * 60 + 55)])
def test_session_expiry_is_clamped_to_what_stripe_accepts(app, stripe_api, full_order, minutes, expected_minutes):
    full_order.reserved_until = now_utc() + timedelta(minutes=minutes)
    db.session.commit()

    start(app, full_order.id)

    sent = stripe_api.posts("/v1/checkout/sessions")[0]["form"]
    expected = (now_utc() + timedelta(minutes=expected_minutes)).timestamp()
    assert abs(int(sent["expires_at"]) - expected) < 10
    assert len(stripe_api.sessions) == 1


@pytest.mark.parametrize("app_overrides", [{"CURRENCY": "JPY"}], indirect=True)
def test_zero_decimal_currency_is_sent_without_multiplying(app, stripe_api):
    variant = make_product("Tea bowl", price_cents=1500).variants[0]
    order = make_order(variant=variant, quantity=2, currency=app.config["CURRENCY"])
    db.session.commit()

    start(app, order.id)

    sent = stripe_api.posts("/v1/checkout/sessions")[0]["form"]
    assert sent["line_items"][0]["price_data"] == {
        "currency": "jpy", "unit_amount": "1500",
        "product_data": {"name": "Tea bowl", "metadata": {"sku": variant.sku}},
    }
    assert stripe_api.only_session()["amount_total"] == 3000


def test_a_retried_start_reuses_the_same_idempotency_key_and_session(app, stripe_api, full_order):
    first = start(app, full_order.id)
    second = start(app, full_order.id)

    keys = [request["headers"]["idempotency-key"] for request in stripe_api.posts("/v1/checkout/sessions")]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert first == second
    assert len(stripe_api.sessions) == 1


def test_each_order_gets_its_own_idempotency_key(app, stripe_api):
    one, two = make_order(), make_order()
    db.session.commit()

    start(app, one.id)
    start(app, two.id)

    keys = {request["headers"]["idempotency-key"] for request in stripe_api.posts("/v1/checkout/sessions")}
    assert len(keys) == 2
    assert len(stripe_api.sessions) == 2


@pytest.mark.parametrize("failure", ["server error", "refused", "unreachable"])
def test_stripe_trouble_raises_payment_unavailable_and_keeps_no_reference(app, stripe_api, full_order, failure):
    if failure == "server error":
        stripe_api.fail_with(500)
    elif failure == "refused":
        stripe_api.fail_with(400, "Invalid email address.", type_="invalid_request_error")
    else:
        app.config["STRIPE_API_BASE"] = stripe_api.unreachable_url

    with pytest.raises(payments.PaymentUnavailable, match="nothing was charged"):
        start(app, full_order.id)

    assert reload(full_order.id).payment_reference is None


def test_test_mode_sends_nothing_to_stripe(app, stripe_api, full_order):
    app.config["STRIPE_SECRET_KEY"] = None

    url = start(app, full_order.id)

    reference = reload(full_order.id).payment_reference
    assert reference.startswith("test_")
    assert url == f"/checkout/test-payment/{reference}"
    assert stripe_api.requests == []


def test_cancel_payment_expires_the_open_session(app, stripe_api, full_order):
    start(app, full_order.id)

    with app.test_request_context():
        payments.cancel_payment(db.session.get(Order, full_order.id).payment_reference)

    assert stripe_api.only_session()["status"] == "expired"


def test_cancel_payment_survives_stripe_being_down(app, stripe_api, full_order):
    start(app, full_order.id)
    stripe_api.fail_with(500)

    with app.test_request_context():
        payments.cancel_payment(db.session.get(Order, full_order.id).payment_reference)

    assert stripe_api.only_session()["status"] == "open"
