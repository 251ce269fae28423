"""The checkout, test-payment, success, cancel and order pages, driven as a shopper would."""
import html
from collections import namedtuple
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop import create_app
from shop.extensions import db
from shop.models import Coupon, CouponKind, Order, OutboxEmail, ProductVariant
from shop.models.base import now_utc
from shop.services.cart import read_cart
from shop.services.orders import release_expired_reservations
from tests.conftest import free_port
from tests.factories import make_address, make_product, make_user, stock
from tests.plugins.accounts import AuthActions
from tests.plugins.checkout import payment_reference_of

VariantRef = namedtuple("VariantRef", "id sku")


@pytest.fixture
def mug(app, shipping_methods):
    variant = make_product("Mug", price_cents=1250, stock=5).variants[0]
    db.session.commit()
    # Plain values: the test's ORM objects do not survive the requests the test client makes.
    return VariantRef(variant.id, variant.sku)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def only_order() -> Order:
    db.session.rollback()
    return db.session.scalar(sa.select(Order))


def session_cart(client) -> dict:
    with client.session_transaction() as session:
        return read_cart(session)


def place(client, checkout_form, **fields):
    """Submit the checkout form; return the redirect to the test-payment page."""
    response = client.post("/checkout", data=checkout_form(**fields))
    assert response.status_code == 303, text(response)
    return response


def test_an_empty_cart_cannot_check_out(client, shipping_methods):
    response = client.get("/checkout", follow_redirects=True)
    assert response.request.path == "/cart"
    assert "Your cart is empty" in text(response)


def test_checkout_page_shows_the_form_and_server_side_totals(client, mug, checkout_cart):
    checkout_cart({mug: 2})
    page = text(client.get("/checkout"))
    assert 'name="email"' in page and 'name="postal_code"' in page and "United Kingdom" in page
    assert "Standard" in page and "Express" in page
    assert "Test mode" in page
    assert "$25.00" in page and "$5.99" in page and "$30.99" in page


def test_update_summary_recomputes_without_placing_anything(
        client, mug, checkout_cart, checkout_form, shipping_methods):
    checkout_cart({mug: 2})
    express = shipping_methods[1]
    db.session.add(Coupon(code="FIVEOFF", kind=CouponKind.FIXED, value=500))
    db.session.commit()
    response = client.post("/checkout", data=checkout_form(
        shipping_method=str(express.id), coupon="fiveoff", place=None, update="Update summary"))
    page = text(response)
    assert response.status_code == 200
    assert "-$5.00" in page and "$14.99" in page and "$34.99" in page  # 25.00 - 5.00 + 14.99
    assert only_order() is None and stock(mug) == 5


@pytest.mark.parametrize("coupon_fields, typed, message", [
    (None, "NOSUCH", "The coupon code “NOSUCH” is not valid."),
    ({"ends_at": now_utc() - timedelta(days=1)}, "save", "The coupon SAVE has expired."),
    ({"usage_limit": 1, "times_used": 1}, "SAVE", "The coupon SAVE has been used up."),
    ({"min_subtotal_cents": 5000}, "Save", "The coupon SAVE needs a subtotal of at least $50.00."),
])
def test_bad_coupons_get_a_clear_message_and_no_order(client, mug, checkout_cart, checkout_form,
                                                       coupon_fields, typed, message):
    if coupon_fields is not None:
        db.session.add(Coupon(code="SAVE", kind=CouponKind.FIXED, value=500, **coupon_fields))
        db.session.commit()
    checkout_cart({mug: 2})
    response = client.post("/checkout", data=checkout_form(coupon=typed))
    assert response.status_code == 200
    assert message in text(response)
    assert "$30.99" in text(response)  # totals without the coupon
    assert only_order() is None and stock(mug) == 5


@pytest.mark.parametrize("fields, message", [
    ({"email": ""}, "Please enter your email address."),
    ({"email": "not-an-email"}, "Please enter a valid email address."),
    ({"name": "   "}, "Please enter the name to ship to."),
    ({"line1": "x" * 201}, "Field cannot be longer than 200 characters."),
    ({"country": "XX"}, "Please choose a country from the list."),
    ({"country": ""}, "Please choose a country."),
    ({"shipping_method": "999999"}, "Please choose one of the shipping methods offered."),
    ({"shipping_method": "express'; drop table"}, "Please choose one of the shipping methods offered."),
    ({"phone": "<script>"}, "A phone number has only digits"),
])
def test_invalid_details_are_explained_and_nothing_is_reserved(client, mug, checkout_cart, checkout_form,
                                                                fields, message):
    checkout_cart({mug: 1})
    response = client.post("/checkout", data=checkout_form(**fields))
    assert response.status_code == 200
    assert message in text(response)
    assert only_order() is None and stock(mug) == 5


def test_checkout_form_without_csrf_token_is_refused(client, mug, checkout_cart, checkout_form):
    checkout_cart({mug: 1})
    assert client.post("/checkout", data=checkout_form(), csrf=False).status_code == 400
    assert only_order() is None


def test_guest_buys_with_test_payment_and_gets_the_email(client, mug, checkout_cart, checkout_form, mail_outbox):
    checkout_cart({mug: 2})
    response = place(client, checkout_form, email="Gina@Example.com")
    reference = payment_reference_of(response)
    order = only_order()
    assert (order.status, order.email, order.user_id) == ("pending", "gina@example.com", None)
    number = order.number
    assert stock(mug) == 3

    payment_page = client.get(response.headers["Location"])
    assert "Test payment mode" in text(payment_page) and "No real payment" in text(payment_page)
    paid = client.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"})
    assert paid.status_code == 303
    assert paid.headers["Location"].endswith(f"/checkout/success?session_id={reference}")

    success = client.get(paid.headers["Location"])
    page = text(success)
    assert f"Thank you! Order {number} is confirmed" in page
    assert "2" in page and "Mug" in page and "$30.99" in page
    assert 'data-testid="cart-count">0<' in page
    assert session_cart(client) == {}
    assert only_order().payment_status == "paid" and stock(mug) == 3

    [email] = mail_outbox
    assert email["To"] == "gina@example.com" and number in email["Subject"]
    body = email.get_body(("plain",)).get_content()
    assert "2 × Mug" in body and "Total paid: $30.99" in body and "12 High Street" in body
    link = body.split("See your order at any time: ")[1].split()[0]
    assert link.startswith("http://localhost/orders/" + number)

    stranger = client.application.test_client()
    assert stranger.get(link.removeprefix("http://localhost")).status_code == 200
    assert stranger.get(f"/orders/{number}").status_code == 404
    assert stranger.get(f"/orders/{number}?token=forged").status_code == 404


def test_decline_goes_back_to_the_cart_with_items_and_stock_returned(client, mug, checkout_cart, checkout_form,
                                                                     mail_outbox):
    checkout_cart({mug: 2})
    reference = payment_reference_of(place(client, checkout_form))
    response = client.post(f"/checkout/test-payment/{reference}", data={"decline": "Decline"}, follow_redirects=True)
    assert response.request.path == "/cart"
    assert "The test payment was declined. Nothing was charged" in text(response)
    assert session_cart(client) == {mug.id: 2}
    order = only_order()
    assert (order.status, order.payment_status) == ("cancelled", "failed")
    assert stock(mug) == 5 and mail_outbox == []


def test_cancel_releases_the_reservation_and_keeps_the_cart(client, mug, checkout_cart, checkout_form):
    checkout_cart({mug: 3})
    reference = payment_reference_of(place(client, checkout_form))
    assert stock(mug) == 2
    response = client.get(f"/checkout/cancel?session_id={reference}", follow_redirects=True)
    assert response.request.path == "/cart"
    assert "Checkout cancelled. Nothing was charged" in text(response)
    assert session_cart(client) == {mug.id: 3}
    assert only_order().status == "cancelled" and stock(mug) == 5


def test_someone_else_cannot_pay_see_or_cancel_the_order(client, app, mug, checkout_cart, checkout_form):
    checkout_cart({mug: 1})
    reference = payment_reference_of(place(client, checkout_form))
    stranger = app.test_client()
    assert stranger.get(f"/checkout/test-payment/{reference}").status_code == 404
    assert stranger.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"}).status_code == 404
    assert stranger.get(f"/checkout/success?session_id={reference}").status_code == 404
    stranger.get(f"/checkout/cancel?session_id={reference}")
    assert only_order().status == "pending" and stock(mug) == 4


@pytest.mark.parametrize("path", [
    "/checkout/test-payment/nope", "/checkout/success?session_id=nope", "/checkout/success",
    "/orders/SH-NOPE99", "/orders/" + "A" * 300, "/checkout/success?session_id=" + "x" * 5000,
])
def test_unknown_references_are_404(client, mug, path):
    assert client.get(path).status_code == 404


def test_walk_away_then_sweep_returns_stock_and_the_expired_order_can_no_longer_be_paid(
        client, mug, checkout_cart, checkout_form):
    # A late payment that a real provider took still counts (tests/integration/test_orders.py);
    # the test-payment page is the provider here, and it refuses, as Stripe's expired session does.
    checkout_cart({mug: 2})
    reference = payment_reference_of(place(client, checkout_form))
    assert release_expired_reservations(now=now_utc() + timedelta(minutes=61)) == 1
    assert only_order().status == "expired" and stock(mug) == 5

    page = client.get(f"/checkout/test-payment/{reference}")
    assert "can no longer be paid" in text(page) and 'name="pay"' not in text(page)
    response = client.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"}, follow_redirects=True)
    assert "was expired, so it can no longer be paid" in text(response)
    order = only_order()
    assert (order.status, order.payment_status) == ("expired", "unpaid")
    assert stock(mug) == 5


def test_out_of_stock_at_placement_returns_to_the_cart_naming_the_line(client, mug, checkout_cart, checkout_form):
    checkout_cart({mug: 2})
    db.session.execute(sa.update(ProductVariant).where(ProductVariant.id == mug.id).values(stock=1))
    db.session.commit()
    response = client.post("/checkout", data=checkout_form(), follow_redirects=True)
    assert response.request.path == "/cart"
    assert "Mug" in text(response) and "Nothing was reserved or charged" in text(response)
    assert only_order() is None and stock(mug) == 1


def test_logged_in_shopper_gets_the_default_address_and_sees_the_order_in_the_account(
        client, app, auth, mug, checkout_cart, checkout_form):
    shopper = make_user("sam@example.com", name="Sam Shopper")
    make_address(shopper, full_name="Not Default", line1="9 Old Road")
    make_address(shopper, full_name="Sam S.", line1="5 Elm Row", city="Leeds", postal_code="LS1 1AA",
                 country="GB", is_default=True)
    db.session.commit()
    shopper_id = shopper.id
    assert auth.login("sam@example.com").status_code == 302
    checkout_cart({mug: 1})

    page = text(client.get("/checkout"))
    assert 'value="sam@example.com"' in page and 'value="5 Elm Row"' in page and 'value="Leeds"' in page
    assert '<option selected value="GB">' in page
    assert "9 Old Road" not in page

    reference = payment_reference_of(place(client, checkout_form, email="sam@example.com", line1="5 Elm Row"))
    client.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"})
    order = only_order()
    assert order.user_id == shopper_id
    number = order.number

    orders_page = text(client.get("/account/orders"))
    assert number in orders_page and "Paid" in orders_page and "$18.49" in orders_page
    assert "5 Elm Row" in text(client.get(f"/orders/{number}"))

    make_user("other@example.com")
    db.session.commit()
    intruder = app.test_client()
    assert AuthActions(intruder).login("other@example.com").status_code == 302
    assert intruder.get(f"/orders/{number}").status_code == 404
    assert number not in text(intruder.get("/account/orders"))


def test_account_orders_needs_login_and_paginates(client, auth, mug):
    assert client.get("/account/orders").status_code == 302
    shopper = make_user("many@example.com")
    for number in range(12):
        db.session.add(Order(number=f"SH-T{number:04d}", user_id=shopper.id, email=shopper.email, currency="usd",
                             total_cents=100 + number, created_at=now_utc() - timedelta(hours=number)))
    db.session.commit()
    auth.login(shopper.email)
    first, second = text(client.get("/account/orders")), text(client.get("/account/orders?page=2"))
    assert "SH-T0000" in first and "SH-T0009" in first and "SH-T0010" not in first
    assert "SH-T0011" in second and "Page 2 of 2" in second
    for bad in ("abc", "-1", "0", "99999999999999999999999"):
        assert client.get(f"/account/orders?page={bad}").status_code == 200


@pytest.mark.parametrize("app_overrides", [{"MAIL_PORT": free_port()}])
def test_mail_outage_neither_undoes_nor_blocks_the_order(client, app, mug, checkout_cart, checkout_form,
                                                         mail_outbox, smtp_server):
    checkout_cart({mug: 1})
    reference = payment_reference_of(place(client, checkout_form))
    response = client.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"}, follow_redirects=True)
    assert response.status_code == 200 and "is confirmed" in text(response)
    assert only_order().payment_status == "paid"
    [queued] = db.session.scalars(sa.select(OutboxEmail)).all()
    assert queued.sent_at is None and queued.last_error and mail_outbox == []

    db.session.execute(sa.update(OutboxEmail).values(next_attempt_at=now_utc()))
    db.session.commit()
    controller, _ = smtp_server
    kept = ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "MEDIA_PATH", "MAIL_SERVER")
    mail_back = create_app({key: app.config[key] for key in kept} | {"MAIL_PORT": controller.port})
    with mail_back.app_context():
        result = mail_back.test_cli_runner().invoke(args=["shop", "send-emails"])
    assert "Sent 1 email(s)" in result.output
    [email] = mail_outbox
    assert only_order().number in email["Subject"]


@pytest.mark.parametrize("app_overrides", [{"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_API_BASE": f"http://127.0.0.1:{free_port()}"}])
def test_unreachable_payment_provider_releases_the_stock_and_says_nothing_was_charged(
        client, mug, checkout_cart, checkout_form):
    checkout_cart({mug: 2})
    response = client.post("/checkout", data=checkout_form())
    assert response.status_code == 503
    assert "Payment is unavailable" in text(response) and "nothing was charged" in text(response)
    assert only_order().status == "cancelled" and stock(mug) == 5
    assert session_cart(client) == {mug.id: 2}


@pytest.mark.parametrize("app_overrides", [{"STRIPE_SECRET_KEY": "sk_test_x"}])
def test_test_payment_page_is_unreachable_with_stripe_keys(client, mug, app):
    order = Order(number="SH-KEYS01", email="a@example.com", currency="usd", payment_reference="test_abc")
    db.session.add(order)
    db.session.commit()
    with client.session_transaction() as session:
        session["placed_orders"] = [order.id]
    assert client.get("/checkout/test-payment/test_abc").status_code == 404
    assert client.post("/checkout/test-payment/test_abc", data={"pay": "Pay"}).status_code == 404
    assert only_order().payment_status == "unpaid"


def test_checkout_page_runs_a_constant_number_of_queries(client, mug, checkout_cart, count_queries):
    checkout_cart({mug: 1})
    with count_queries() as small:
        assert client.get("/checkout").status_code == 200
    many = {make_product(f"Thing {n}", stock=5).variants[0]: 1 for n in range(15)}
    db.session.commit()
    checkout_cart({mug: 1, **many})
    with count_queries() as large:
        assert client.get("/checkout").status_code == 200
    assert len(small) == len(large) <= 6
