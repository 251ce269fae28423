"""Admin order pages: the list, the needs-attention filter, one order, refund and fulfil."""
import html
from types import SimpleNamespace

import pytest

from shop.extensions import db
from shop.models import Order, ProductVariant
from shop.services.orders import expire_order, place_order, record_payment
from tests.factories import make_order, make_product, make_user, stock


@pytest.fixture
def lamp(app, shipping_methods):
    variant = make_product("Desk Lamp", price_cents=4500, stock=3).variants[0]
    db.session.commit()
    # Plain values: the test's ORM objects do not survive the requests the test client makes.
    return SimpleNamespace(id=variant.id, sku=variant.sku)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def paid_order(variant, details, quantity=1, email="buyer@example.com") -> int:
    order = place_order({variant.id: quantity}, details(email=email), user_id=None)
    order_id, total = order.id, order.total_cents
    record_payment(order_id, amount_cents=total, currency="usd", reference=f"test_{order_id}", provider="test")
    return order_id


def order_row(order_id: int) -> Order:
    db.session.rollback()
    return db.session.get(Order, order_id)


def test_only_admins_see_orders(client, auth, app):
    assert client.get("/admin/orders").status_code == 302
    make_user("plain@example.com")
    db.session.commit()
    auth.login("plain@example.com")
    assert client.get("/admin/orders").status_code == 403
    assert client.post("/admin/orders/1/refund").status_code == 403


def test_list_and_needs_attention_filter(client, admin, lamp, details):
    calm_id = paid_order(lamp, details, email="calm@example.com")
    short_id = place_order({lamp.id: 2}, details(email="short@example.com"), user_id=None).id
    expire_order(short_id)
    place_order({lamp.id: 2}, details(email="rival@example.com"), user_id=None)
    short = order_row(short_id)
    record_payment(short_id, amount_cents=short.total_cents, currency="usd", reference="test_short", provider="test")
    calm_number, short_number = order_row(calm_id).number, order_row(short_id).number

    everything = text(client.get("/admin/orders"))
    assert calm_number in everything and short_number in everything and "rival@example.com" in everything
    flagged = text(client.get("/admin/orders?attention=1"))
    assert short_number in flagged and calm_number not in flagged and "rival@example.com" not in flagged

    detail = text(client.get(f"/admin/orders/{short_id}"))
    assert "Needs attention" in detail and "stock short" in detail and lamp.sku in detail
    assert "Refund $" in detail


def test_refund_restocks_and_reports(client, admin, lamp, details):
    order_id = paid_order(lamp, details, quantity=2)
    assert stock(lamp.id) == 1
    response = client.post(f"/admin/orders/{order_id}/refund", follow_redirects=True)
    assert "The order was refunded and its stock returned." in text(response)
    assert order_row(order_id).status == "refunded" and stock(lamp.id) == 3
    again = client.post(f"/admin/orders/{order_id}/refund", follow_redirects=True)
    assert "The order was already refunded." in text(again)
    assert stock(lamp.id) == 3


def test_refund_of_an_unpaid_order_is_refused_with_a_message(client, admin, lamp, details):
    order_id = place_order({lamp.id: 1}, details(), user_id=None).id
    response = client.post(f"/admin/orders/{order_id}/refund", follow_redirects=True)
    assert "is not paid, so there is nothing to refund" in text(response)
    assert order_row(order_id).status == "pending" and stock(lamp.id) == 2


def test_refund_needs_a_csrf_token(client, admin, lamp, details):
    order_id = paid_order(lamp, details)
    assert client.post(f"/admin/orders/{order_id}/refund", csrf=False).status_code == 400
    assert order_row(order_id).status == "paid"


def test_fulfil_marks_a_paid_order_shipped_and_refuses_an_unpaid_one(client, admin, lamp, details):
    paid_id = paid_order(lamp, details)
    unpaid_id = place_order({lamp.id: 1}, details(), user_id=None).id
    assert "marked as shipped" in text(client.post(f"/admin/orders/{paid_id}/fulfil", follow_redirects=True))
    assert order_row(paid_id).status == "fulfilled"
    assert "cannot be fulfilled" in text(client.post(f"/admin/orders/{unpaid_id}/fulfil", follow_redirects=True))
    assert order_row(unpaid_id).status == "pending"


@pytest.mark.parametrize("path", ["/admin/orders/999999", "/admin/orders/abc"])
def test_unknown_orders_are_404(client, admin, path):
    assert client.get(path).status_code == 404
    assert client.post("/admin/orders/999999/refund").status_code == 404


@pytest.mark.parametrize("query", ["page=abc", "page=-3", "page=99999999999999999999", "attention=yes"])
def test_bad_list_parameters_fall_back(client, admin, query):
    assert client.get(f"/admin/orders?{query}").status_code == 200


def test_order_list_query_count_does_not_grow(client, admin, count_queries, lamp):
    make_order(variant=db.session.get(ProductVariant, lamp.id))
    db.session.commit()
    with count_queries() as few:
        assert client.get("/admin/orders").status_code == 200
    variant = db.session.get(ProductVariant, lamp.id)
    for _ in range(30):
        make_order(variant=variant)
    db.session.commit()
    with count_queries() as many:
        assert client.get("/admin/orders").status_code == 200
    assert len(few) == len(many) <= 5


def test_the_list_searches_filters_sorts_and_keeps_filters_across_pages(client, admin, count_queries):
    product = make_product("Mug", price_cents=900, stock=500)
    for n in range(55):
        make_order(variant=product.variants[0], quantity=1 + n % 3, email=f"buyer{n}@example.com",
                   status="paid" if n % 2 else "pending")
    special = make_order(variant=product.variants[0], email="zoe@example.com", status="refunded")
    db.session.commit()

    found = text(client.get(f"/admin/orders?q={special.number.lower()}"))
    assert special.number in found and "1 order</p>" in found
    assert "zoe@example.com" in text(client.get("/admin/orders?q=ZOE"))
    refunded = text(client.get("/admin/orders?status=refunded"))
    assert "zoe@example.com" in refunded and "buyer1@example.com" not in refunded

    paid = text(client.get("/admin/orders?status=paid&sort=total_desc"))
    assert "27 orders</p>" in paid
    pending = text(client.get("/admin/orders?status=pending"))
    assert "28 orders</p>" in pending
    everything = text(client.get("/admin/orders?sort=oldest"))
    assert "56 orders · page 1 of 2" in everything
    assert 'href="/admin/orders?sort=oldest&amp;page=2"' in client.get("/admin/orders?sort=oldest").get_data(
        as_text=True)
    assert "No orders match these filters." in text(client.get("/admin/orders?q=nobody"))

    with count_queries() as few:
        client.get("/admin/orders?per_page=5&q=buyer")
    with count_queries() as many:
        client.get("/admin/orders?sort=oldest")
    assert len(few) == len(many)
