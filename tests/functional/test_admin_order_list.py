"""The admin order list through its pages: filters, search, sort, pagination, and the CSV export of what it shows."""
import csv
import html
import io
import re
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, OrderItem, ShippingMethod
from shop.services import order_search
from tests.factories import make_order, make_product, make_user

ROW = re.compile(r'<tr data-testid="order-row">\s*<td><a href="/admin/orders/\d+">([^<]+)</a>')


def numbers(response) -> list[str]:
    """Return the order numbers the list shows, top to bottom."""
    assert response.status_code == 200
    return ROW.findall(response.get_data(as_text=True))


def csv_rows(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def placed(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def add_order(product, *, email: str, status: str = "pending", payment_status: str = "unpaid", quantity: int = 1,
              **fields):
    """Make an order through the factory, then set the columns the factory leaves at their defaults."""
    order = make_order(variant=product.variants[0], email=email, status=status, payment_status=payment_status,
                       quantity=quantity)
    for name, value in fields.items():
        setattr(order, name, value)
    return order


@pytest.fixture
def shop_orders(app, shipping_methods):
    """Five orders that differ in every way the list filters by; returns their numbers by a short name.

    Standard and Express are offered; Pigeon post is switched off, and Eve's order still went by it.
    """
    db.session.add(ShippingMethod(name="Pigeon post", price_cents=100, is_active=False))
    lamp = make_product("Desk Lamp", price_cents=1250)
    made = {
        "ann": add_order(lamp, email="ann@example.com", status="paid", payment_status="paid", ship_name="Ann Archer",
                         shipping_method_name="Standard", created_at=placed(9, 23, 59, 59)),
        "bob": add_order(lamp, email="bob@example.com", status="shipped", payment_status="paid", ship_name="Bob Baker",
                         shipping_method_name="Express", created_at=placed(10, 0, 0, 0)),
        "carol": add_order(lamp, email="carol@example.com", status="paid", payment_status="partially refunded",
                           ship_name="Carol Ann Cole", shipping_method_name="Express", quantity=3,
                           created_at=placed(10, 23, 59, 59), needs_attention=True, refunded_cents=500),
        "dan": add_order(lamp, email="annex@shop.test", ship_name="Dan Dunn", shipping_method_name="Standard",
                         created_at=placed(11, 0, 0, 0)),
        "eve": add_order(lamp, email="eve@example.com", status="cancelled", payment_status="refunded",
                         ship_name="Eve Evans", shipping_method_name="Pigeon post", created_at=placed(12)),
    }
    db.session.commit()
    return SimpleNamespace(**{name: order.number for name, order in made.items()})


def test_only_admins_see_the_list_and_its_export(client, auth):
    for path in ("/admin/orders", "/admin/orders/export.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    make_user("plain@example.com")
    db.session.commit()
    auth.login("plain@example.com")
    assert client.get("/admin/orders").status_code == 403
    assert client.get("/admin/orders/export.csv").status_code == 403


@pytest.mark.parametrize(("query", "expected"), [
    ("status=shipped", ["bob"]),
    ("status=paid", ["carol", "ann"]),
    ("payment=partially+refunded", ["carol"]),
    ("payment=refunded", ["eve"]),
    ("shipping=Express", ["carol", "bob"]),
    ("shipping=Pigeon+post", ["eve"]),
    ("attention=1", ["carol"]),
    ("placed_from=2026-03-10&placed_to=2026-03-10", ["carol", "bob"]),
    ("placed_from=2026-03-11", ["eve", "dan"]),
    ("placed_to=2026-03-09", ["ann"]),
    ("placed_from=2026-03-11&placed_to=2026-03-10", ["dan", "carol", "bob"]),
    ("status=paid&shipping=Express&q=ann", ["carol"]),
    ("payment=paid&placed_to=2026-03-10&q=example.com", []),
], ids=lambda value: value if isinstance(value, str) else None)
def test_each_filter_and_their_combination_narrow_the_list(client, admin, shop_orders, query, expected):
    assert numbers(client.get(f"/admin/orders?{query}")) == [getattr(shop_orders, name) for name in expected]


def test_the_shipping_filter_offers_every_method_active_first(client, admin, shop_orders):
    page = client.get("/admin/orders?shipping=Pigeon+post").get_data(as_text=True)
    offered = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>',
                         page[page.index('name="shipping"'):page.index("</select>", page.index('name="shipping"'))])
    assert offered == [("", "", "Any shipping"), ("Standard", "", "Standard"), ("Express", "", "Express"),
                       ("Pigeon post", " selected", "Pigeon post (switched off)")]


def test_a_backwards_date_range_is_read_earliest_first(client, admin, shop_orders):
    page = client.get("/admin/orders?placed_from=2026-03-11&placed_to=2026-03-10").get_data(as_text=True)
    assert 'name="placed_from" value="2026-03-10"' in page and 'name="placed_to" value="2026-03-11"' in page


@pytest.mark.parametrize(("term", "expected"), [
    ("ann", ["dan", "carol", "ann"]),  # name anywhere (Ann Archer, Carol Ann Cole), email start (annex@)
    ("ANN@EXAMPLE", ["ann"]),
    ("  Bob  ", ["bob"]),
    ("baker", ["bob"]),
    ("example.com", []),  # an email matches by its start only
    ("%", []),
    ("_", []),
])
def test_search_by_name_or_email(client, admin, shop_orders, term, expected):
    response = client.get("/admin/orders", query_string={"q": term})
    assert numbers(response) == [getattr(shop_orders, name) for name in expected]


def test_search_by_order_number_is_whole_and_ignores_case(client, admin, shop_orders):
    assert numbers(client.get("/admin/orders", query_string={"q": shop_orders.bob.lower()})) == [shop_orders.bob]
    assert numbers(client.get("/admin/orders", query_string={"q": shop_orders.bob[:-1]})) == []
    assert "No orders match these filters." in client.get("/admin/orders?q=nobody").get_data(as_text=True)


@pytest.mark.parametrize("query", [
    "status=refunded", "status=fulfilled", "payment=nope", "shipping=Nowhere", "attention=yes", "sort=sideways",
    "placed_from=2026-02-30", "placed_to=yesterday", "placed_from=20260310", "placed_from=99999-01-01",
    "placed_from=0001-01-01&placed_to=9999-12-31", "placed_to=%EF%BC%92026-03-10", "page=abc", "page=-1",
    "q=%00", "status=&payment=&shipping=&placed_from=&placed_to=", "status[]=paid&q=" + "%20" * 500,
])
def test_junk_parameters_are_ignored(client, admin, shop_orders, query):
    assert len(numbers(client.get(f"/admin/orders?{query}"))) == 5
    assert len(csv_rows(client.get(f"/admin/orders/export.csv?{query}"))) == 6


def test_an_overlong_search_finds_nothing_rather_than_failing(client, admin, shop_orders):
    assert numbers(client.get("/admin/orders", query_string={"q": "x" * 5000})) == []


def test_sorts(client, admin, shop_orders):
    newest = numbers(client.get("/admin/orders"))
    assert newest == [shop_orders.eve, shop_orders.dan, shop_orders.carol, shop_orders.bob, shop_orders.ann]
    assert numbers(client.get("/admin/orders?sort=oldest")) == newest[::-1]
    assert numbers(client.get("/admin/orders?sort=total_desc"))[0] == shop_orders.carol
    assert numbers(client.get("/admin/orders?sort=total_asc"))[-1] == shop_orders.carol


def test_a_row_shows_what_an_admin_looks_for(client, admin, shop_orders):
    carol = db.session.scalar(sa.select(Order.id).where(Order.number == shop_orders.carol))
    db.session.add(OrderItem(order_id=carol, product_name="Bulb", variant_name="Warm", sku="BULB-W",
                             unit_price_cents=300, quantity=2))
    db.session.commit()
    page = html.unescape(client.get(f"/admin/orders?q={shop_orders.carol}").get_data(as_text=True))
    row = page[page.index('data-testid="order-row"'):page.index("</tr>", page.index('data-testid="order-row"'))]
    assert f'href="/admin/orders/{carol}"' in row
    for shown in ("2026-03-10", "23:59", "Carol Ann Cole", "carol@example.com", "5 items", "Desk Lamp +1 more",
                  "$37.50", "$5.00 refunded", "Paid", "Partially refunded", "Express", "Needs attention"):
        assert shown in row, shown
    bob = html.unescape(client.get(f"/admin/orders?q={shop_orders.bob}").get_data(as_text=True))
    assert "1 item<" in bob and "refunded" not in bob.split('data-testid="order-row"')[1].split("</tr>")[0]


def test_pages_keep_every_filter(client, admin, shipping_methods):
    mug = make_product("Mug", price_cents=900)
    for n in range(55):
        add_order(mug, email=f"buyer{n}@example.com", status="paid", payment_status="paid",
                  shipping_method_name="Express" if n % 5 else "Standard", created_at=placed(1 + n % 20))
    db.session.commit()
    query = "q=buyer&status=paid&payment=paid&shipping=Express&placed_from=2026-03-01&placed_to=2026-03-31&sort=oldest"
    first = client.get(f"/admin/orders?{query}")
    page = first.get_data(as_text=True)
    assert "44 orders</p>" in page and len(numbers(first)) == 44

    for n in range(55, 110):
        add_order(mug, email=f"buyer{n}@example.com", status="paid", payment_status="paid",
                  shipping_method_name="Express", created_at=placed(21))
    db.session.commit()
    page = client.get(f"/admin/orders?{query}").get_data(as_text=True)
    assert "99 orders · page 1 of 2" in page
    following = html.unescape(re.search(r'<a rel="next" href="([^"]+)"', page).group(1))
    assert parse_qs(urlsplit(following).query) == {**parse_qs(query), "page": ["2"]}
    second = client.get(following)
    assert len(numbers(second)) == 49 and "page 2 of 2" in second.get_data(as_text=True)


def test_the_list_runs_the_same_queries_for_3_or_30_orders(client, admin, count_queries, shipping_methods):
    lamp = make_product("Desk Lamp")
    counts = []
    for count in (3, 30):
        while db.session.scalar(sa.select(sa.func.count(Order.id))) < count:
            add_order(lamp, email="same@example.com", status="paid", payment_status="paid", ship_name="Sam Same",
                      shipping_method_name="Standard", needs_attention=True, refunded_cents=100)
        db.session.commit()
        with count_queries() as statements:
            shown = numbers(client.get("/admin/orders?q=same&status=paid&attention=1&sort=oldest"))
        with count_queries() as exported:
            rows = csv_rows(client.get("/admin/orders/export.csv?q=same&status=paid&attention=1"))
        assert len(shown) == count and len(rows) == count + 1
        counts.append((len(statements), len(exported)))
    assert counts[0] == counts[1] and counts[0][0] <= 6


def test_the_list_links_to_an_export_of_the_same_filters(client, admin, shop_orders):
    page = html.unescape(client.get("/admin/orders?shipping=Express&placed_from=2026-03-10&status=bogus&page=1"
                                    "&sort=oldest").get_data(as_text=True))
    link = re.search(r'<a href="([^"]+)" download>Export these orders \(CSV\)</a>', page).group(1)
    assert urlsplit(link).path == "/admin/orders/export.csv"
    assert parse_qs(urlsplit(link).query) == {"shipping": ["Express"], "placed_from": ["2026-03-10"]}
    rows = csv_rows(client.get(link))
    assert [row[0] for row in rows[1:]] == [shop_orders.bob, shop_orders.carol]


def test_the_export_is_a_streamed_csv_download_of_the_filtered_orders(client, admin, shop_orders):
    carol = db.session.scalar(sa.select(Order).where(Order.number == shop_orders.carol))
    carol.invoice_number = 7
    carol.paid_at = datetime(2026, 3, 11, 8, 30, 5, tzinfo=UTC)
    carol.subtotal_cents, carol.discount_cents, carol.shipping_cents = 3750, 375, 599
    carol.tax_cents, carol.total_cents, carol.coupon_code = 0, 3974, "SPRING10"
    carol.ship_region = "OR"
    db.session.commit()

    response = client.get("/admin/orders/export.csv?payment=partially+refunded")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "Content-Length" not in response.headers  # streamed: the length is not known up front
    assert re.fullmatch(r"attachment; filename=orders-\d{4}-\d\d-\d\d\.csv", response.headers["Content-Disposition"])
    assert csv_rows(response) == [
        ["number", "invoice_number", "placed_at", "paid_at", "status", "payment_status", "email", "name", "country",
         "region", "shipping_method", "currency", "subtotal", "discount", "shipping", "tax", "total", "refunded",
         "coupon_code", "item_count"],
        [shop_orders.carol, "INV-000007", "2026-03-10T23:59:59Z", "2026-03-11T08:30:05Z", "paid",
         "partially refunded", "carol@example.com", "Carol Ann Cole", "US", "OR", "Express", "usd", "37.50", "3.75",
         "5.99", "0.00", "39.74", "5.00", "SPRING10", "3"],
    ]
    everything = csv_rows(client.get("/admin/orders/export.csv?sort=newest"))
    assert [row[0] for row in everything[1:]] == [shop_orders.ann, shop_orders.bob, shop_orders.carol,
                                                  shop_orders.dan, shop_orders.eve]
    assert everything[1][1] == everything[1][3] == "" and everything[4][5] == "unpaid"


def test_the_export_pages_through_every_order_in_batches(client, admin, shop_orders, monkeypatch, count_queries):
    monkeypatch.setattr(order_search, "EXPORT_BATCH", 2)
    with count_queries() as statements:
        rows = csv_rows(client.get("/admin/orders/export.csv"))
    assert [row[0] for row in rows[1:]] == sorted(vars(shop_orders).values())
    assert sum("LIMIT" in statement.upper() for statement in statements) == 3  # 2 + 2 + 1: a short batch is the last


def test_the_export_defuses_spreadsheet_formulas(client, admin):
    lamp = make_product("Desk Lamp")
    add_order(lamp, email="+cmd@example.com", ship_name='=HYPERLINK("http://evil.test","Click")',
              shipping_method_name="@SUM(A1)", coupon_code="-2+3")
    add_order(lamp, email="plain@example.com", ship_name="\tTabbed", shipping_method_name="'=quoted")
    db.session.commit()
    rows = csv_rows(client.get("/admin/orders/export.csv"))
    columns = rows[0]
    hostile, tabbed = (dict(zip(columns, row, strict=True)) for row in rows[1:])
    assert hostile["email"] == "'+cmd@example.com"
    assert hostile["name"] == '\'=HYPERLINK("http://evil.test","Click")'
    assert hostile["shipping_method"] == "'@SUM(A1)" and hostile["coupon_code"] == "'-2+3"
    assert tabbed["name"] == "'\tTabbed" and tabbed["shipping_method"] == "''=quoted"
    assert tabbed["email"] == "plain@example.com" and tabbed["total"] == "19.99"
