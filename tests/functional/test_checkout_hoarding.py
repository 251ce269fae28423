"""Nobody can hoard stock: one order per checkout form, one unpaid order per browser, placements limited."""
import html

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from shop.extensions import db
from shop.models import Order, OrderStatus, ProductVariant, StockMovement
from shop.services import payments
from tests.concurrency import all_at_once
from tests.factories import make_product, stock
from tests.plugins.checkout import payment_reference_of
from tests.shopper_http import ADDRESS, HttpShopper, hidden_fields


@pytest.fixture
def kettle(app, shipping_methods):
    variant = make_product("Kettle", price_cents=3000, stock=10).variants[0]
    db.session.commit()
    return variant.id


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def orders() -> list[Order]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Order).order_by(Order.id).execution_options(populate_existing=True)))


def checkout_page_token(client) -> str:
    page = client.get("/checkout")
    assert page.status_code == 200
    return hidden_fields(page.get_data(as_text=True), "/checkout")["placement_token"]


def test_sending_the_same_checkout_form_twice_places_one_order(client, kettle, checkout_cart, checkout_form):
    checkout_cart({kettle: 2})
    form = checkout_form(placement_token=checkout_page_token(client))

    first = client.post("/checkout", data=form)
    second = client.post("/checkout", data=form)

    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(orders()) == 1 and stock(kettle) == 8


def test_the_token_survives_recomputing_the_summary(client, kettle, checkout_cart, checkout_form):
    checkout_cart({kettle: 1})
    token = checkout_page_token(client)
    page = client.post("/checkout", data=checkout_form(placement_token=token, place=None, update="Update summary"))
    assert hidden_fields(page.get_data(as_text=True), "/checkout")["placement_token"] == token
    assert orders() == []


def test_a_form_without_its_token_places_nothing_and_asks_again(client, kettle, checkout_cart, checkout_form):
    checkout_cart({kettle: 1})
    response = client.post("/checkout", data=checkout_form(placement_token=""))
    assert response.status_code == 200
    assert "press “Place order and pay” again" in text(response)
    assert hidden_fields(response.get_data(as_text=True), "/checkout")["placement_token"]
    assert orders() == [] and stock(kettle) == 10


def test_placing_again_from_the_same_browser_releases_the_earlier_unpaid_order(
        client, kettle, checkout_cart, checkout_form):
    checkout_cart({kettle: 3})
    first_reference = payment_reference_of(client.post("/checkout", data=checkout_form()))
    assert stock(kettle) == 7

    checkout_cart({kettle: 2})
    second_reference = payment_reference_of(client.post("/checkout", data=checkout_form()))

    first, second = orders()
    assert (first.status, first.reserved_until) == (OrderStatus.CANCELLED, None)
    assert second.status == OrderStatus.PENDING
    assert stock(kettle) == 8
    assert first_reference != second_reference
    # The released order can no longer be paid; the new one can.
    refused = client.post(f"/checkout/test-payment/{first_reference}", data={"pay": "Pay"}, follow_redirects=True)
    assert "can no longer be paid" in text(refused)
    paid = client.post(f"/checkout/test-payment/{second_reference}", data={"pay": "Pay"})
    assert paid.status_code == 303 and "/checkout/success" in paid.headers["Location"]
    assert [order.status for order in orders()] == [OrderStatus.CANCELLED, OrderStatus.PAID]
    assert stock(kettle) == 8


def test_a_paid_order_of_the_same_browser_is_left_alone(client, kettle, checkout_cart, checkout_form):
    checkout_cart({kettle: 1})
    reference = payment_reference_of(client.post("/checkout", data=checkout_form()))
    client.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"})
    checkout_cart({kettle: 1})
    client.post("/checkout", data=checkout_form())
    assert [order.status for order in orders()] == [OrderStatus.PAID, OrderStatus.PENDING]
    assert stock(kettle) == 8


def test_a_cancelled_order_cannot_be_paid_on_the_test_payment_page(client, kettle, checkout_cart, checkout_form):
    checkout_cart({kettle: 2})
    reference = payment_reference_of(client.post("/checkout", data=checkout_form()))
    client.get(f"/checkout/cancel?session_id={reference}")
    assert stock(kettle) == 10

    page = client.get(f"/checkout/test-payment/{reference}")
    assert "can no longer be paid" in text(page) and 'name="pay"' not in text(page)
    client.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"})

    (order,) = orders()
    assert (order.status, order.payment_status) == ("cancelled", "unpaid")
    assert stock(kettle) == 10


@pytest.mark.parametrize("app_overrides", [{"CHECKOUT_LIMIT_PER_IP": "2 per minute"}])
def test_placements_are_limited_per_client_address(client, app, kettle, checkout_cart, checkout_form):
    checkout_cart({kettle: 1})
    for _ in range(3):  # recomputing the summary is not a placement and is not counted
        assert client.post("/checkout", data=checkout_form(place=None, update="Update")).status_code == 200
    for attempt in range(2):
        other = app.test_client()  # a fresh browser each time, as a hoarder dropping cookies would be
        checkout_cart({kettle: 1}, on=other)
        assert other.post("/checkout", data=checkout_form(email=f"h{attempt}@example.com")).status_code == 303

    refused = client.post("/checkout", data=checkout_form(email="h3@example.com"))

    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert "2 per 1 minute" in text(refused)
    assert len(orders()) == 2 and stock(kettle) == 8


@pytest.mark.parametrize("app_overrides", [{"CHECKOUT_LIMIT_PER_EMAIL": "2 per minute"}])
def test_placements_are_limited_per_email(client, app, kettle, checkout_cart, checkout_form):
    for _ in range(2):
        other = app.test_client()
        checkout_cart({kettle: 1}, on=other)
        assert other.post("/checkout", data=checkout_form(email="hoarder@example.com")).status_code == 303
    checkout_cart({kettle: 1})
    assert client.post("/checkout", data=checkout_form(email="Hoarder@Example.com ")).status_code == 429
    assert client.post("/checkout", data=checkout_form(email="honest@example.com")).status_code == 303
    assert len(orders()) == 3


def test_a_failure_after_placing_releases_the_reservation_at_once(client, kettle, checkout_cart, checkout_form,
                                                                  monkeypatch):
    def database_gone(*args, **kwargs):
        raise OperationalError("UPDATE orders", {}, Exception("database is locked"))

    monkeypatch.setattr(payments, "_store_reference", database_gone)
    checkout_cart({kettle: 4})

    response = client.post("/checkout", data=checkout_form())

    assert response.status_code == 500
    (order,) = orders()
    assert (order.status, order.reserved_until) == (OrderStatus.CANCELLED, None)
    assert stock(kettle) == 10
    db.session.rollback()
    reasons = db.session.scalars(sa.select(StockMovement.reason).order_by(StockMovement.id)).all()
    assert reasons == ["reserve", "cancelled"]


@pytest.mark.parametrize("workers, threads", [(2, 1), (1, 8)], ids=["2 sync workers", "1 worker 8 threads"])
def test_five_concurrent_clicks_on_place_order_make_one_order(app, gunicorn_shop, kettle, workers, threads):
    slug = db.session.get(ProductVariant, kettle).product.slug
    db.session.commit()
    shop = gunicorn_shop(workers=workers, threads=threads)
    shopper = HttpShopper(shop.url, "clicker@example.com")
    shopper.add_to_cart(slug, kettle, 2)
    fields = hidden_fields(shopper.get("/checkout").text, "/checkout")
    fields.update(ADDRESS, email=shopper.email, place="Place order and pay")

    def click(index: int, together) -> str:
        browser = shopper.http.__class__()
        browser.cookies.update(shopper.http.cookies)
        together()
        response = browser.post(shop.url + "/checkout", data=fields, allow_redirects=False, timeout=30)
        return f"{response.status_code} {response.headers.get('Location')}"

    locations = all_at_once(5, click)

    assert len(locations) == 5 and len(set(locations)) == 1, locations
    assert locations[0].startswith("303 ") and "/checkout/test-payment/" in locations[0]
    assert len(orders()) == 1 and stock(kettle) == 8
