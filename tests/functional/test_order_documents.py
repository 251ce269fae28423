"""An order's printable invoice and packing slip in the back office."""
import html
import re
from datetime import UTC, datetime

import pytest

from shop.extensions import db
from shop.models import OrderItem, Refund, RefundItem, RefundStatus, Shipment, ShipmentItem
from tests.factories import make_order, make_product, make_user

SHOP = {"SHOP_NAME": "Northwind Outfitters", "ADDRESS": "12 Harbour Road, Unit 4 ,Kiel 24103,, Germany",
        "TAX_ID": "DE123456789"}


@pytest.fixture
def app_overrides():
    return SHOP


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def cells(page: str) -> list[list[str]]:
    """Return the table rows of a page as lists of their cells' text."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split())
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]


def invoiced_order(**values):
    """Make a paid order of two lamps (blue) and a mug, with a coupon, shipping, tax and an invoice number."""
    lamp = make_product("Desk Lamp", price_cents=4500, variants=[{"colour": "Blue"}]).variants[0]
    order = make_order(variant=lamp, quantity=2, status="paid", payment_status="paid", email="ada@example.com")
    db.session.add(OrderItem(order_id=order.id, variant_id=None, product_name="Enamel Mug", variant_name="Default",
                             sku="MUG-1", unit_price_cents=1250, quantity=1))
    fields = {"ship_name": "Ada Lovelace", "ship_line1": "5 Marktplatz", "ship_line2": "Hinterhaus",
              "ship_city": "Lübeck", "ship_postal_code": "23552", "ship_country": "DE", "ship_phone": "+49 451 0000",
              "shipping_method_name": "Courier", "coupon_code": "SPRING10", "subtotal_cents": 10250,
              "discount_cents": 1025, "shipping_cents": 599, "tax_cents": 1753, "total_cents": 11577,
              "invoice_number": 42, "created_at": datetime(2024, 3, 9, 22, 15, tzinfo=UTC),
              "paid_at": datetime(2024, 3, 10, 8, 0, tzinfo=UTC)}
    fields.update(values)
    for name, value in fields.items():
        setattr(order, name, value)
    db.session.commit()
    return order


def test_the_invoice_shows_the_shop_the_customer_the_lines_and_the_money(client, admin):
    order = invoiced_order()
    response = client.get(f"/admin/orders/{order.id}/invoice")
    assert response.status_code == 200
    page = text(response)
    assert "Northwind Outfitters" in page and "Tax ID: DE123456789" in page
    assert "12 Harbour Road<br>Unit 4<br>Kiel 24103<br>Germany</address>" in page
    assert "INV-000042" in page and "2024-03-10" in page and order.number in page and "2024-03-09" in page
    assert "Ada Lovelace" in page and "ada@example.com" in page and "5 Marktplatz" in page and "Hinterhaus" in page
    assert "23552 Lübeck" in page and "Germany" in page and "+49 451 0000" in page and "Courier" in page
    rows = cells(page)
    assert ["Desk Lamp (Blue)", order.items[0].sku, "2", "$45.00", "$90.00"] in rows
    assert ["Enamel Mug", "MUG-1", "1", "$12.50", "$12.50"] in rows
    assert ["Subtotal", "$102.50"] in rows and ["Discount (SPRING10)", "-$10.25"] in rows
    assert ["Shipping: Courier", "$5.99"] in rows and ["Tax", "$17.53"] in rows
    assert ["Total (USD)", "$115.77"] in rows
    assert "Refunded" not in page and "Remaining" not in page and "(Default)" not in page


def test_the_invoice_of_a_partly_refunded_order_shows_what_was_given_back_and_what_remains(client, admin):
    order = invoiced_order(payment_status="partially refunded", refunded_cents=2000)
    rows = cells(text(client.get(f"/admin/orders/{order.id}/invoice")))
    assert ["Total (USD)", "$115.77"] in rows
    assert ["Refunded", "-$20.00"] in rows and ["Remaining paid", "$95.77"] in rows


def test_an_unpaid_order_has_no_invoice_yet_but_can_be_packed(client, admin):
    order = invoiced_order(status="pending", payment_status="unpaid", invoice_number=None, paid_at=None)
    response = client.get(f"/admin/orders/{order.id}/invoice")
    assert response.status_code == 404
    page = text(response)
    assert f"Order {order.number} has no invoice" in page and "this one's payment is unpaid" in page
    assert "$" not in page and f'href="/admin/orders/{order.id}"' in page
    slip = client.get(f"/admin/orders/{order.id}/packing-slip")
    assert slip.status_code == 200 and "/invoice" not in text(slip)


def test_the_packing_slip_lists_what_is_left_to_pack_and_no_prices(client, admin):
    order = invoiced_order()
    lamp, mug = order.items
    shipment = Shipment(order_id=order.id, carrier="DHL", tracking_number="JD0001")
    shipment.items.append(ShipmentItem(order_item_id=lamp.id, quantity=1))
    returned = Refund(order_id=order.id, amount_cents=1250, status=RefundStatus.SUCCEEDED, actor_kind="admin")
    returned.items.append(RefundItem(order_item_id=mug.id, quantity=1))
    refused = Refund(order_id=order.id, amount_cents=4500, status=RefundStatus.FAILED, actor_kind="admin")
    refused.items.append(RefundItem(order_item_id=lamp.id, quantity=1))
    db.session.add_all([shipment, returned, refused])
    db.session.commit()

    response = client.get(f"/admin/orders/{order.id}/packing-slip")
    assert response.status_code == 200
    page = text(response)
    assert "Packing slip" in page and order.number in page and "Northwind Outfitters" in page
    assert "12 Harbour Road<br>Unit 4" in page and "Ada Lovelace" in page and "Germany" in page
    rows = cells(page)
    assert rows[0] == ["Item", "SKU", "Ordered", "Shipped or refunded", "To pack", "Packed"]
    assert ["Desk Lamp (Blue)", lamp.sku, "2", "1", "1", ""] in rows
    assert ["Enamel Mug", "MUG-1", "1", "1", "0", ""] in rows
    assert ["Units to pack", "1", ""] in rows
    assert "$" not in page and "INV-000042" not in page and "ada@example.com" not in page


def test_a_fresh_packing_slip_packs_everything_and_names_hostile_products_harmlessly(client, admin):
    order = invoiced_order()
    order.items[1].product_name = "<script>alert(1)</script>"
    db.session.commit()
    page = client.get(f"/admin/orders/{order.id}/packing-slip").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    rows = cells(html.unescape(page))
    assert rows[0] == ["Item", "SKU", "Ordered", "To pack", "Packed"]
    assert ["Units to pack", "3", ""] in rows
    assert "Nothing is left to pack" not in page


def test_a_packing_slip_with_everything_shipped_says_so(client, admin):
    order = invoiced_order()
    shipment = Shipment(order_id=order.id, carrier="DHL")
    shipment.items += [ShipmentItem(order_item_id=item.id, quantity=item.quantity) for item in order.items]
    db.session.add(shipment)
    db.session.commit()
    page = text(client.get(f"/admin/orders/{order.id}/packing-slip"))
    assert ["Units to pack", "0", ""] in cells(page) and "Nothing is left to pack" in page


def test_the_papers_stand_alone_with_a_print_stylesheet(client, admin):
    order = invoiced_order()
    for path in ("invoice", "packing-slip"):
        page = text(client.get(f"/admin/orders/{order.id}/{path}"))
        assert re.search(r'<link rel="stylesheet" href="/static/css/print\.css\?v=\w+">', page)
        assert "admin.css" not in page and "Admin sections" not in page and "<form" not in page
        assert f'href="/admin/orders/{order.id}"' in page and "Print command" in page
    stylesheet = client.get("/static/css/print.css")
    assert stylesheet.status_code == 200
    printed = stylesheet.get_data(as_text=True).split("@media print", 1)[1]
    assert ".toolbar { display: none; }" in printed and "break-inside: avoid" in printed


def test_the_shop_address_is_left_out_when_not_set(client, admin, app):
    app.config.update(ADDRESS="", TAX_ID="")
    order = invoiced_order()
    page = text(client.get(f"/admin/orders/{order.id}/invoice"))
    assert "Northwind Outfitters" in page and "Tax ID" not in page and 'data-testid="shop-address"' not in page


@pytest.mark.parametrize("path", ["invoice", "packing-slip"])
def test_missing_orders_are_404(client, admin, path):
    assert client.get(f"/admin/orders/999999/{path}").status_code == 404
    assert client.get(f"/admin/orders/abc/{path}").status_code == 404


@pytest.mark.parametrize("path", ["invoice", "packing-slip"])
def test_only_admins_see_the_papers(client, auth, path):
    order = invoiced_order()
    url = f"/admin/orders/{order.id}/{path}"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    make_user("plain@example.com")
    db.session.commit()
    auth.login("plain@example.com")
    refused = client.get(url)
    assert refused.status_code == 403 and "Lübeck" not in text(refused)


def test_the_papers_take_the_same_few_queries_however_many_lines_and_parcels(client, admin, count_queries):
    small = invoiced_order()
    large = invoiced_order(invoice_number=43)
    for n in range(6):
        item = OrderItem(order_id=large.id, product_name=f"Extra {n}", variant_name="Default", sku=f"X-{n}",
                         unit_price_cents=100, quantity=3)
        db.session.add(item)
        db.session.flush()
        shipment = Shipment(order_id=large.id, carrier="DHL")
        shipment.items.append(ShipmentItem(order_item_id=item.id, quantity=1))
        db.session.add(shipment)
    db.session.commit()
    for path in ("invoice", "packing-slip"):
        with count_queries() as few:
            assert client.get(f"/admin/orders/{small.id}/{path}").status_code == 200
        with count_queries() as many:
            assert client.get(f"/admin/orders/{large.id}/{path}").status_code == 200
        assert len(few) == len(many) <= 7
