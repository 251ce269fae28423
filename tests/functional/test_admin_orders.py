"""Admin order pages: one order, and every action on it asking first and naming the amount."""
import html
import re
from types import SimpleNamespace

import pytest

from shop.extensions import db
from shop.models import Order
from shop.services.orders import expire_order, place_order, record_payment
from tests.factories import make_product, make_user, stock


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
    assert "Refund…" in detail


def confirm(client, path: str, data: dict | None = None):
    """Post an action, check it only asked, then confirm it on the confirmation page; return the result."""
    data = dict(data or {})
    asked = client.post(path, data=data)
    assert asked.status_code == 200 and 'name="confirmed" value="yes"' in asked.get_data(as_text=True)
    return asked, client.post(path, data={**data, "confirmed": "yes"}, follow_redirects=True)


def test_a_refund_names_its_amount_before_money_moves(client, admin, lamp, details, mail_outbox):
    order_id = paid_order(lamp, details, quantity=2)
    asked, done = confirm(client, f"/admin/orders/{order_id}/refund",
                          {"amount": "12.50", "reason": "Late delivery", "token": "refund-1"})
    assert "Refund $12.50 on order" in text(asked) and "cannot be undone" in text(asked)
    assert "$12.50 refunded; the customer has been emailed." in text(done)
    order = order_row(order_id)
    assert (order.payment_status, order.refunded_cents) == ("partially refunded", 1250)
    page = text(client.get(f"/admin/orders/{order_id}"))
    assert "Late delivery" in page and "Remaining" in page
    assert [message["Subject"] for message in mail_outbox if "refunded" in message["Subject"]] == [
        f"$12.50 refunded on your order {order.number}"]


def test_refunding_items_back_to_stock(client, admin, lamp, details):
    order_id = paid_order(lamp, details, quantity=2)
    item_id = order_row(order_id).items[0].id
    asked, done = confirm(client, f"/admin/orders/{order_id}/refund",
                          {"amount": "", f"qty-{item_id}": "1", "restock": "y", "reason": "", "token": "refund-2"})
    assert "Refund $45.00" in text(asked) and "1 × Desk Lamp" in text(asked) and "back in stock" in text(asked)
    assert stock(lamp.id) == 2
    assert order_row(order_id).refunded_cents == 4500


@pytest.mark.parametrize(("fields", "message"), [
    ({"amount": "abc"}, "Refund amount: Enter an amount like 12.50."),
    ({"amount": "1000"}, "can still be refunded"),
    ({"amount": ""}, "Enter an amount, or choose the items to refund."),
    ({"amount": "", "qty-1": "x"}, "whole number"),
    ({"amount": "", "qty-999999": "1"}, "not part of this order"),
])
def test_bad_refunds_are_refused_with_a_message(client, admin, lamp, details, fields, message):
    order_id = paid_order(lamp, details)
    response = client.post(f"/admin/orders/{order_id}/refund", data={"reason": "", "token": "t", **fields},
                           follow_redirects=True)
    assert message in text(response)
    assert order_row(order_id).refunded_cents == 0


def test_refund_of_an_unpaid_order_is_refused_with_a_message(client, admin, lamp, details):
    order_id = place_order({lamp.id: 1}, details(), user_id=None).id
    response = client.post(f"/admin/orders/{order_id}/refund", data={"amount": "1", "token": "t"},
                           follow_redirects=True)
    assert "is unpaid, so there is nothing to refund" in text(response)
    assert order_row(order_id).status == "pending" and stock(lamp.id) == 2


@pytest.mark.parametrize("action", ["refund", "ship", "cancel", "delivered", "notes", "resend-confirmation"])
def test_actions_need_a_csrf_token(client, admin, lamp, details, action):
    order_id = paid_order(lamp, details)
    assert client.post(f"/admin/orders/{order_id}/{action}", data={"confirmed": "yes"}, csrf=False).status_code == 400
    assert order_row(order_id).status == "paid" and order_row(order_id).refunded_cents == 0


def test_shipping_asks_then_records_the_parcel_and_emails_the_tracking(client, admin, lamp, details, mail_outbox):
    order_id = paid_order(lamp, details, quantity=2)
    item_id = order_row(order_id).items[0].id
    form = {f"qty-{item_id}": "2", "carrier": "UPS", "other_carrier": "", "tracking_number": "1Z 999",
            "tracking_url": "", "token": "ship-1"}
    asked, done = confirm(client, f"/admin/orders/{order_id}/ship", form)
    assert "2 × Desk Lamp" in text(asked) and "https://www.ups.com/track?tracknum=1Z%20999" in text(asked)
    assert "Parcel recorded (2 item(s))" in text(done)
    assert order_row(order_id).status == "shipped"
    shipped = [message for message in mail_outbox if "has shipped" in message["Subject"]]
    assert len(shipped) == 1 and "https://www.ups.com/track?tracknum=1Z%20999" in shipped[0].get_body(
        ("plain",)).get_content()
    page = text(client.get(f"/admin/orders/{order_id}"))
    assert "1Z 999" in page and f'action="/admin/orders/{order_id}/ship"' not in page and "Mark delivered" in page


def test_another_carrier_needs_its_name(client, admin, lamp, details):
    order_id = paid_order(lamp, details)
    item_id = order_row(order_id).items[0].id
    form = {f"qty-{item_id}": "1", "carrier": "Other", "other_carrier": "", "tracking_number": "", "token": "s"}
    assert "Type the carrier's name" in text(client.post(f"/admin/orders/{order_id}/ship", data=form,
                                                    follow_redirects=True))
    form["other_carrier"] = "Bike Courier Ltd"
    confirm(client, f"/admin/orders/{order_id}/ship", form)
    assert "Bike Courier Ltd" in text(client.get(f"/admin/orders/{order_id}"))


def test_a_cancelled_order_cannot_be_shipped(client, admin, lamp, details):
    order_id = paid_order(lamp, details)
    item_id = order_row(order_id).items[0].id
    _, cancelled = confirm(client, f"/admin/orders/{order_id}/cancel", {"cancel_reason": "Customer called"})
    assert "is cancelled and $" in text(cancelled)
    page = text(client.get(f"/admin/orders/{order_id}"))
    for action in ("ship", "cancel", "refund"):
        assert f'action="/admin/orders/{order_id}/{action}"' not in page
    form = {f"qty-{item_id}": "1", "carrier": "UPS", "tracking_number": "1Z", "token": "late", "confirmed": "yes"}
    response = client.post(f"/admin/orders/{order_id}/ship", data=form, follow_redirects=True)
    assert f"Order {order_row(order_id).number} is cancelled, so it cannot be shipped." in text(response)
    assert order_row(order_id).status == "cancelled"


def test_cancel_names_the_refund_and_restocks(client, admin, lamp, details):
    order_id = paid_order(lamp, details, quantity=2)
    total = order_row(order_id).total_cents
    asked, done = confirm(client, f"/admin/orders/{order_id}/cancel", {"cancel_reason": ""})
    assert f"Cancel and refund ${total / 100:.2f}" in text(asked)
    assert order_row(order_id).status == "cancelled" and stock(lamp.id) == 3


def test_delivered_note_and_resend(client, admin, lamp, details, mail_outbox):
    order_id = paid_order(lamp, details)
    item_id = order_row(order_id).items[0].id
    confirm(client, f"/admin/orders/{order_id}/ship", {f"qty-{item_id}": "1", "carrier": "DHL",
                                                       "tracking_number": "", "token": "s"})
    _, done = confirm(client, f"/admin/orders/{order_id}/delivered")
    assert "marked delivered" in text(done) and order_row(order_id).status == "delivered"
    added = client.post(f"/admin/orders/{order_id}/notes", data={"note": "Left with neighbour <b>"},
                        follow_redirects=True)
    assert "Note added." in text(added) and "Left with neighbour <b>" in text(added)
    assert "Left with neighbour &lt;b&gt;" in added.get_data(as_text=True)
    assert "Write the note first." in text(client.post(f"/admin/orders/{order_id}/notes", data={"note": " "},
                                                       follow_redirects=True))
    _, resent = confirm(client, f"/admin/orders/{order_id}/resend-confirmation")
    assert "The confirmation was sent again to buyer@example.com." in text(resent)
    subjects = [message["Subject"] for message in mail_outbox]
    assert subjects.count(f"Your order {order_row(order_id).number}") == 2
    history = text(client.get(f"/admin/orders/{order_id}"))
    for step in ("pending → paid", "paid → shipped", "shipped → delivered", "confirmation sent again"):
        assert step in history


def test_the_order_page_reads_a_constant_number_of_queries(client, admin, lamp, details, count_queries):
    order_id = paid_order(lamp, details, quantity=2)
    item_id = order_row(order_id).items[0].id
    client.post(f"/admin/orders/{order_id}/notes", data={"note": "first"})
    client.post(f"/admin/orders/{order_id}/refund", data={"amount": "1", "token": "a", "confirmed": "yes"})
    client.post(f"/admin/orders/{order_id}/ship", data={f"qty-{item_id}": "1", "carrier": "UPS", "token": "s1",
                                                        "confirmed": "yes"})
    with count_queries() as few:
        assert client.get(f"/admin/orders/{order_id}").status_code == 200
    for n in range(15):
        client.post(f"/admin/orders/{order_id}/notes", data={"note": f"note {n}"})
    for token in "bcd":
        client.post(f"/admin/orders/{order_id}/refund", data={"amount": "1", "token": token, "confirmed": "yes"})
    client.post(f"/admin/orders/{order_id}/ship", data={f"qty-{item_id}": "1", "carrier": "UPS", "token": "s2",
                                                        "confirmed": "yes"})
    assert order_row(order_id).status == "shipped"
    with count_queries() as many:
        assert client.get(f"/admin/orders/{order_id}").status_code == 200
    # The shipped order skips the can-it-still-be-cancelled query.
    assert len(many) <= len(few) <= 15, many


@pytest.mark.parametrize("path", ["/admin/orders/999999", "/admin/orders/abc"])
def test_unknown_orders_are_404(client, admin, path):
    assert client.get(path).status_code == 404
    for action in ("refund", "ship", "cancel", "delivered", "notes", "resend-confirmation"):
        assert client.post(f"/admin/orders/999999/{action}").status_code == 404


def test_refund_all_asks_with_the_whole_remaining_amount(client, admin, lamp, details):
    order_id = paid_order(lamp, details)
    client.post(f"/admin/orders/{order_id}/refund", data={"amount": "10.00", "token": "first", "confirmed": "yes"})
    page = client.get(f"/admin/orders/{order_id}").get_data(as_text=True)
    left = order_row(order_id).remaining_cents
    assert f"Refund all ${left / 100:.2f}…" in html.unescape(page)
    assert f'name="amount" value="{left / 100:.2f}"' in page
    assert len(set(re.findall(r'\sid="([^"]+)"', page))) == len(re.findall(r'\sid="([^"]+)"', page)), "duplicate ids"
