"""Checking out with Stripe keys set: off to Stripe Checkout and back, as a shopper's browser goes."""
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, ProductVariant
from shop.services.cart import read_cart
from tests.factories import make_product


@pytest.fixture
def app_overrides(stripe_api, request):
    return {**stripe_api.config, **getattr(request, "param", {})}


@pytest.fixture
def lamp():
    variant = make_product("Lamp", price_cents=2500, stock=5).variants[0]
    db.session.commit()
    return variant


@pytest.fixture
def placed(client, stripe_api, lamp, checkout_cart, checkout_form):
    """A guest's order for 2 lamps, placed and sent to Stripe Checkout."""
    checkout_cart({lamp: 2})
    response = client.post("/checkout", data=checkout_form())
    session = stripe_api.only_session()
    return SimpleNamespace(response=response, session_id=session["id"], variant_id=lamp.id)


def current(model, id_):
    db.session.commit()
    return db.session.scalar(sa.select(model).where(model.id == id_).execution_options(populate_existing=True))


def order_of(placed) -> Order:
    db.session.commit()
    return db.session.scalar(sa.select(Order).where(Order.payment_reference == placed.session_id)
                             .execution_options(populate_existing=True))


def cart_of(client) -> dict:
    with client.session_transaction() as session:
        return read_cart(session)


def test_placing_the_order_sends_the_shopper_to_stripe_checkout(placed, stripe_api):
    assert placed.response.status_code == 303
    assert placed.response.headers["Location"] == stripe_api.only_session()["url"]
    order = order_of(placed)
    assert (order.status, order.payment_status, order.stock_reserved) == ("pending", "unpaid", True)
    assert current(ProductVariant, placed.variant_id).stock == 3
    # Lamps plus Standard shipping ($5.99), exactly as the checkout page priced them.
    assert stripe_api.only_session()["amount_total"] == order.total_cents == 2 * 2500 + 599


def test_back_from_stripe_before_the_webhook_the_paid_session_is_applied(client, placed, stripe_api, mail_outbox):
    stripe_api.mark_paid(placed.session_id)

    page = client.get(f"/checkout/success?session_id={placed.session_id}").get_data(as_text=True)

    order = order_of(placed)
    assert f"Thank you! Order {order.number} is confirmed" in page
    assert (order.status, order.payment_status) == ("paid", "paid")
    assert current(ProductVariant, placed.variant_id).stock == 3
    assert cart_of(client) == {}
    assert [mail["To"] for mail in mail_outbox] == ["guest@example.com"]


def test_back_from_stripe_while_unpaid_the_page_says_processing(client, placed, stripe_api, mail_outbox):
    page = client.get(f"/checkout/success?session_id={placed.session_id}").get_data(as_text=True)

    assert "Payment processing for order" in page
    assert order_of(placed).payment_status == "unpaid"
    assert [r["path"] for r in stripe_api.requests if r["method"] == "GET"] == [
        f"/v1/checkout/sessions/{placed.session_id}"]
    assert mail_outbox == []


def test_back_from_stripe_with_an_async_payment_pending(client, placed, stripe_api):
    stripe_api.mark_processing(placed.session_id)

    page = client.get(f"/checkout/success?session_id={placed.session_id}").get_data(as_text=True)

    assert "Payment processing for order" in page
    assert order_of(placed).payment_status == "processing"


def test_back_from_stripe_while_stripe_is_down_says_processing(client, placed, stripe_api):
    stripe_api.mark_paid(placed.session_id)
    stripe_api.fail_with(500)

    response = client.get(f"/checkout/success?session_id={placed.session_id}")

    assert response.status_code == 200
    assert "Payment processing for order" in response.get_data(as_text=True)
    assert order_of(placed).payment_status == "unpaid"


def test_the_success_page_shows_nothing_to_another_browser(app, placed, stripe_api):
    stripe_api.mark_paid(placed.session_id)

    response = app.test_client().get(f"/checkout/success?session_id={placed.session_id}")

    assert response.status_code == 404
    assert order_of(placed).payment_status == "unpaid"


@pytest.mark.parametrize("session_id", ["", "cs_test_nope", "x" * 5000])
def test_the_success_page_with_a_bad_session_id_is_not_found(client, placed, session_id):
    assert client.get(f"/checkout/success?session_id={session_id}").status_code == 404


def test_cancelling_on_stripe_returns_to_the_full_cart_and_closes_the_session(client, placed, stripe_api, lamp):
    response = client.get(f"/checkout/cancel?session_id={placed.session_id}")

    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    assert cart_of(client) == {lamp.id: 2}
    assert order_of(placed).status == "cancelled"
    assert current(ProductVariant, placed.variant_id).stock == 5
    assert stripe_api.only_session()["status"] == "expired"


@pytest.mark.parametrize("failure", ["server error", "refused", "unreachable"])
def test_stripe_unavailable_at_checkout_charges_nothing_and_keeps_no_stock(
        app, client, stripe_api, lamp, checkout_cart, checkout_form, failure):
    if failure == "server error":
        stripe_api.fail_with(500)
    elif failure == "refused":
        stripe_api.fail_with(402, "Your account cannot currently make live charges.", type_="invalid_request_error")
    else:
        app.config["STRIPE_API_BASE"] = stripe_api.unreachable_url
    checkout_cart({lamp: 2})

    response = client.post("/checkout", data=checkout_form())

    assert response.status_code == 503
    assert "nothing was charged" in response.get_data(as_text=True)
    assert current(ProductVariant, lamp.id).stock == 5
    db.session.commit()
    assert db.session.scalars(sa.select(Order.status)).all() == ["cancelled"]
    assert cart_of(client) == {lamp.id: 2}


def test_the_test_payment_page_is_unreachable_with_keys_set(client, placed):
    assert client.get(f"/checkout/test-payment/{placed.session_id}").status_code == 404
    assert client.post(f"/checkout/test-payment/{placed.session_id}", data={"pay": "Pay"}).status_code == 404
    assert client.get("/checkout/test-payment/test_abc").status_code == 404
    assert order_of(placed).payment_status == "unpaid"


@pytest.mark.parametrize("app_overrides", [{"CURRENCY": "JPY"}], indirect=True)
def test_a_yen_order_is_sent_in_whole_yen(client, stripe_api, checkout_cart, checkout_form):
    bowl = make_product("Tea bowl", price_cents=1500, stock=3).variants[0]
    db.session.commit()
    checkout_cart({bowl: 2})

    assert client.post("/checkout", data=checkout_form()).status_code == 303

    sent = stripe_api.posts("/v1/checkout/sessions")[0]["form"]
    assert [(line["price_data"]["unit_amount"], line["quantity"]) for line in sent["line_items"]] == [("1500", "2")]
    assert sent["line_items"][0]["price_data"]["currency"] == "jpy"
    db.session.commit()
    order = db.session.scalar(sa.select(Order))
    assert (order.currency, stripe_api.only_session()["amount_total"]) == ("jpy", order.total_cents)


def test_an_order_with_nothing_to_pay_skips_stripe_and_is_confirmed(client, stripe_api, lamp, checkout_cart,
                                                                   checkout_form, mail_outbox):
    from shop.models import Coupon, CouponKind, ShippingMethod

    pickup = ShippingMethod(name="Pick up in store", price_cents=0, position=5)
    db.session.add_all([Coupon(code="ONUS", kind=CouponKind.PERCENT, value=100), pickup])
    db.session.commit()
    checkout_cart({lamp: 4})

    response = client.post("/checkout", data=checkout_form(coupon="onus", shipping_method=str(pickup.id)),
                           follow_redirects=True)

    assert stripe_api.requests == [], "Stripe refuses zero-amount sessions, so none is asked for"
    db.session.commit()
    order = db.session.scalar(sa.select(Order))
    assert (order.total_cents, order.status, order.payment_status) == (0, "paid", "paid")
    assert f"Order {order.number} is confirmed" in response.get_data(as_text=True)
    assert current(ProductVariant, lamp.id).stock == 1
    assert [mail["To"] for mail in mail_outbox] == ["guest@example.com"]
