"""The order lifecycle's emails, rendered as the outbox renders them, from real orders, parcels and refunds."""
import re
from types import SimpleNamespace

import pytest

from shop.extensions import db
from shop.models import Order, OrderItem, Refund, Shipment, ShipmentItem
from shop.services.mail import deliver_pending, queue_email
from tests.factories import make_order, make_product

ORDER_URL = "https://shop.example/orders/T1?token=abc.def"
ADMIN_URL = "https://shop.example/admin/orders/7"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def app_overrides():
    return {"SHOP_NAME": "Northwind Outfitters"}


@pytest.fixture
def order(app) -> Order:
    """A paid order of two blue lamps and a mug, shipping by courier to Lübeck."""
    lamp = make_product("Desk Lamp", price_cents=4500, variants=[{"colour": "Blue"}]).variants[0]
    placed = make_order(variant=lamp, quantity=2, status="paid", payment_status="paid", email="ada@example.com")
    db.session.add(OrderItem(order_id=placed.id, variant_id=None, product_name="Enamel Mug", variant_name="Default",
                             sku="MUG-1", unit_price_cents=1250, quantity=1))
    placed.ship_name, placed.ship_city, placed.ship_country = "Ada Lovelace", "Lübeck", "DE"
    placed.shipping_method_name, placed.coupon_code = "Courier", "SPRING10"
    placed.subtotal_cents, placed.discount_cents, placed.shipping_cents = 10250, 1025, 599
    placed.total_cents = 9824
    placed.paid_at = placed.created_at
    db.session.flush()
    db.session.refresh(placed)
    return placed


def parcel(order: Order, quantities: dict[int, int], tracking_url: str = "https://track.example/JD0001") -> Shipment:
    """Send some of the order's items: quantities maps an item's position in the order to units sent."""
    shipment = Shipment(order_id=order.id, carrier="DHL", tracking_number="JD0001", tracking_url=tracking_url)
    # As fulfilment.ship builds it: by id, so the email's template loads each item itself.
    shipment.items += [ShipmentItem(order_item_id=order.items[index].id, quantity=units)
                       for index, units in quantities.items()]
    db.session.add(shipment)
    db.session.flush()
    return shipment


def rendered(template: str, **context) -> tuple[str, str]:
    """Return the text and HTML bodies the outbox would send."""
    email = queue_email("someone@example.com", "Subject", template, **context)
    return email.body_text, email.body_html


def test_a_shipped_email_names_the_carrier_tracking_and_what_is_in_the_parcel(order):
    text, html = rendered("order_shipped", order=order, shipment=parcel(order, {0: 2, 1: 1}), partial=False,
                          order_url=ORDER_URL)
    for body in (text, html):
        assert "Your order is on its way!" in body and order.number in body and "DHL" in body
        assert "JD0001" in body and "2 × Desk Lamp (Blue)" in body and "1 × Enamel Mug" in body
        assert "Northwind Outfitters" in body and "another parcel" not in body and "(Default)" not in body
    assert "Track your parcel: https://track.example/JD0001" in text and f"{ORDER_URL}\n" in text
    assert '<a href="https://track.example/JD0001">Track your parcel</a>' in html
    assert '<a href="https://shop.example/orders/T1?token=abc.def">See your order</a>' in html


def test_a_partial_shipment_lists_only_its_units_and_says_the_rest_follows(order):
    text, html = rendered("order_shipped", order=order, shipment=parcel(order, {0: 1}, tracking_url=""),
                          partial=True, order_url=ORDER_URL)
    for body in (text, html):
        assert "Part of your order is on its way!" in body and "1 × Desk Lamp (Blue)" in body
        assert "Enamel Mug" not in body and "The rest of your order follows in another parcel" in body
        assert "Track your parcel" not in body and "JD0001" in body


def test_a_tracking_address_that_is_not_a_web_page_is_not_linked(order):
    text, html = rendered("order_shipped", order=order, shipment=parcel(order, {0: 2}, "javascript:alert(1)"),
                          partial=False, order_url=ORDER_URL)
    assert "javascript:" not in text and "javascript:" not in html and "JD0001" in html


def test_a_delivered_email_says_so_and_links_to_the_order(order):
    text, html = rendered("order_delivered", order=order, order_url=ORDER_URL)
    for body in (text, html):
        assert order.number in body and "has been delivered" in body and "Northwind Outfitters" in body
    assert ORDER_URL in text and f'href="{ORDER_URL}"' in html


def test_a_cancelled_paid_order_says_what_is_refunded_and_how_long_it_takes(order):
    text, html = rendered("order_cancelled", order=order, refund_cents=9824, order_url=ORDER_URL)
    for body in (text, html):
        assert "has been cancelled" in body and order.number in body and "$98.24" in body
        assert "original payment method" in body and "5-10 business days" in body and "not been charged" not in body
    assert ORDER_URL in text and f'href="{ORDER_URL}"' in html


def test_a_cancelled_unpaid_order_says_nothing_was_charged(order):
    order.status, order.payment_status, order.paid_at = "cancelled", "unpaid", None
    text, html = rendered("order_cancelled", order=order, refund_cents=0, order_url=ORDER_URL)
    for body in (text, html):
        assert "has been cancelled" in body and "You have not been charged" in body
        assert "refunded" not in body and "$" not in body


def test_a_partial_refund_says_the_amount_the_delay_and_what_remains_paid(order):
    refund = Refund(order_id=order.id, amount_cents=2000, reason="Scratched lamp", status="succeeded",
                    actor_kind="admin")
    db.session.add(refund)
    order.refunded_cents, order.payment_status = 3000, "partially refunded"
    db.session.flush()
    text, html = rendered("order_refunded", order=order, refund=refund, fully_refunded=False, order_url=ORDER_URL)
    for body in (text, html):
        assert "Part of your order has been refunded" in body and "$20.00" in body and order.number in body
        assert "5-10 business days" in body and "$30.00" in body and "$98.24" in body and "$68.24" in body
        assert "refunded in full" not in body
    assert "Still paid: $68.24." in text and ORDER_URL in text and f'href="{ORDER_URL}"' in html


def test_the_last_refund_says_the_order_is_refunded_in_full(order):
    refund = Refund(order_id=order.id, amount_cents=6824, status="succeeded", actor_kind="admin")
    db.session.add(refund)
    order.refunded_cents, order.payment_status = 9824, "refunded"
    db.session.flush()
    text, html = rendered("order_refunded", order=order, refund=refund, fully_refunded=True, order_url=ORDER_URL)
    for body in (text, html):
        assert "Your order has been refunded" in body and "$68.24" in body and "refunded in full" in body
        assert "Still paid" not in body and "5-10 business days" in body


def test_the_staff_notification_names_the_order_customer_items_and_total(order):
    order.needs_attention, order.attention_reason = True, "stock short for SKU MUG-1"
    text, html = rendered("order_notify_admin", order=order, admin_url=ADMIN_URL)
    for body in (text, html):
        assert f"New paid order {order.number}" in body and "$98.24" in body and "Ada Lovelace" in body
        assert "ada@example.com" in body and "Courier" in body and "Lübeck, Germany" in body and "SPRING10" in body
        assert "2 × Desk Lamp (Blue)" in body and order.items[0].sku in body and "$90.00" in body
        assert "1 × Enamel Mug" in body and "MUG-1" in body and "stock short for SKU MUG-1" in body
    assert ADMIN_URL in text and f'<a href="{ADMIN_URL}">Open the order</a>' in html


@pytest.mark.parametrize("template, context", [
    ("order_shipped", lambda order: {"shipment": parcel(order, {0: 2, 1: 1}), "partial": False,
                                     "order_url": ORDER_URL}),
    ("order_notify_admin", lambda order: {"admin_url": ADMIN_URL}),
])
def test_html_emails_escape_what_shoppers_and_staff_typed(order, template, context):
    order.items[0].product_name, order.items[0].variant_name = HOSTILE, '"><img src=x onerror=alert(2)>'
    order.ship_name = HOSTILE
    text, html = rendered(template, order=order, **context(order))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert HOSTILE in text  # a text email shows what was typed, without entities


BRANDED = {"SHOP_NAME": "Northwind Outfitters", "CONTACT_EMAIL": "help@northwind.example",
           "ADDRESS": "1 Quay Street, Bristol BS1 4DJ", "BASE_URL": "https://shop.example"}


@pytest.mark.parametrize("app_overrides", [BRANDED])
@pytest.mark.parametrize("template, context", [
    ("order_confirmation", lambda order: {"order": order, "order_url": ORDER_URL}),
    ("order_delivered", lambda order: {"order": order, "order_url": ORDER_URL}),
    ("order_notify_admin", lambda order: {"order": order, "admin_url": ADMIN_URL}),
    ("password_reset", lambda order: {"user": SimpleNamespace(name="Ada"), "link": ORDER_URL, "valid_minutes": 60}),
    ("account_changed", lambda order: {"user": SimpleNamespace(name="Ada"), "change": "password",
                                       "reset_url": ORDER_URL}),
])
def test_every_email_has_the_shops_header_and_a_footer_saying_how_to_reach_it(order, template, context):
    text, html = rendered(template, **context(order))
    assert text.startswith("Northwind Outfitters\n====================\n\n")
    footer = text.rsplit("\n--\n", 1)[1]
    assert footer == ("Northwind Outfitters · https://shop.example/\n1 Quay Street, Bristol BS1 4DJ\n"
                      "Questions? Write to us at help@northwind.example\n")
    header = re.search(r'<a href="https://shop.example/"[^>]*data-testid="email-header">([^<]+)</a>', html)
    assert header and header.group(1) == "Northwind Outfitters"
    html_footer = html.split('data-testid="email-footer"', 1)[1]
    assert '<a href="mailto:help@northwind.example"' in html_footer and "1 Quay Street, Bristol BS1 4DJ" in html_footer
    assert html.count("<html") == 1 and "<title>" in html


def test_without_a_contact_address_the_footer_names_only_the_shop(order):
    text, html = rendered("order_delivered", order=order, order_url=ORDER_URL)
    assert re.fullmatch(r"Northwind Outfitters · http://localhost\S*/\n", text.rsplit("\n--\n", 1)[1])
    assert "mailto:" not in html and "Questions?" not in html


@pytest.mark.parametrize("app_overrides, sender", [
    ({"MAIL_DEFAULT_SENDER": "Demo Shop <orders@shop.localhost>"}, "Demo Shop <orders@shop.localhost>"),
    ({"SHOP_NAME": "Northwind Outfitters", "MAIL_DEFAULT_SENDER": "orders@northwind.example"},
     "Northwind Outfitters <orders@northwind.example>"),
])
def test_emails_come_from_the_configured_sender_under_the_shops_name(order, mail_outbox, sender):
    queue_email("ada@example.com", "Your order", "order_delivered", order=order, order_url=ORDER_URL)
    db.session.commit()
    assert deliver_pending() == (1, 0)
    [email] = mail_outbox
    assert email["From"] == sender
