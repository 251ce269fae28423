"""The dashboard and the sales report pages: their figures, the chart and its table, CSV downloads, bad ranges."""
import html
import re
from datetime import timedelta

import pytest

from shop.extensions import db
from shop.models import Role
from shop.models.base import now_utc
from shop.models.order import OrderStatus, PaymentStatus
from tests.factories import make_category, make_product, make_user
from tests.integration.test_reports import at, order, refund

MARCH = "/admin/reports?from=2026-03-01&to=2026-03-10"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def figure(page: str, testid: str) -> str:
    return re.search(rf'data-testid="{testid}">(.*?)</', page, re.S).group(1).strip()


def table_rows(page: str, testid: str) -> list[list[str]]:
    """Return the table's body rows as lists of cell texts (tags dropped)."""
    table = re.search(rf'<table[^>]*data-testid="{testid}">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


@pytest.fixture
def sales(app):
    """Two paid orders in early March (one partly refunded, with a coupon), a cancelled unpaid one, and tax."""
    tee = make_product("Tee", category=make_category("Tees"), price_cents=2500,
                       variants=[{"sku": "TEE-M", "size": "M"}]).variants[0]
    mug = make_product("Mug", category=make_category("Mugs"), price_cents=1200,
                       variants=[{"sku": "MUG-1"}]).variants[0]
    first = order("ann@example.com", [(tee, 2), (mug, 1)], at(3, 10), shipping=500, discount=620, tax=298,
                  coupon="SPRING")  # 6200 - 620 + 500 + 298 = 6378
    refund(first, 1000, at(4, 9), reason="Damaged mug")
    order("ben@example.com", [(mug, 3)], at(8, 22), country="GB", region="")  # 3600
    order("cat@example.com", [(tee, 4)], None, status=OrderStatus.CANCELLED, payment=PaymentStatus.UNPAID)
    db.session.commit()


def test_the_report_shows_each_figure_and_table_for_the_range(client, admin, sales):
    page = text(client.get(MARCH))

    assert "2026-03-01 to 2026-03-10: 10 days" in figure(page, "report-range")
    assert [figure(page, name) for name in ("net", "sales", "orders", "average", "discounts", "shipping", "tax")] == [
        "$89.78", "$99.78", "2", "$49.89", "$6.20", "$5.00", "$2.98"]
    assert figure(page, "refunds").startswith("$10.00")
    assert table_rows(page, "products-table") == [["Tee", "2", "$50.00"], ["Mug", "4", "$48.00"]]
    assert table_rows(page, "variants-table") == [["TEE-M", "Tee (M)", "2", "$50.00"], ["MUG-1", "Mug", "4", "$48.00"]]
    assert table_rows(page, "categories-table") == [["Tees", "2", "$50.00"], ["Mugs", "4", "$48.00"]]
    assert table_rows(page, "customers-table") == [["New", "2", "2", "$99.78"], ["Returning", "0", "0", "$0.00"]]
    assert table_rows(page, "coupons-table") == [["SPRING", "1", "$6.20", "$63.78", "$0.00"]]
    assert table_rows(page, "tax-table") == [["United Kingdom", "—", "—", "1", "$0.00", "$36.00"],
                                             ["United States", "Oregon", "—", "1", "$2.98", "$63.78"]]
    refunds = table_rows(page, "refunds-table")
    assert [row[2:4] for row in refunds] == [["$10.00", "Damaged mug"]]
    # Ranked by units instead, the mug (4 sold) comes first.
    by_units = text(client.get(MARCH + "&rank=units"))
    assert [row[0] for row in table_rows(by_units, "products-table")] == ["Mug", "Tee"]


def test_the_chart_is_an_accessible_svg_with_a_table_of_every_day(client, admin, sales):
    page = text(client.get(MARCH))

    svg = re.search(r'<svg[^>]*data-testid="revenue-chart".*?</svg>', page, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="revenue-chart-title revenue-chart-desc"' in svg
    assert '<title id="revenue-chart-title">Revenue per day, 2026-03-01 to 2026-03-10</title>' in svg
    assert "Highest $63.78 on 2026-03-03" in svg and "lowest -$10.00 on 2026-03-04" in svg
    assert len(re.findall(r'<rect class="bar', svg)) == 10
    assert "<title>2026-03-08: $36.00</title>" in svg
    assert re.search(r">\$0</text>", svg) and ">3 Mar</text>" in svg and "Day (UTC)" in svg
    days = table_rows(page, "daily-table")
    assert len(days) == 10
    assert days[2] == ["2026-03-03", "1", "$63.78", "$0.00", "$63.78"]
    assert days[3] == ["2026-03-04", "0", "$0.00", "$10.00", "-$10.00"]


@pytest.mark.parametrize(("table", "heading", "first_row"), [
    ("daily", "day,orders,sales,refunds,refunded,net", "2026-03-01,0,0.00,0,0.00,0.00"),
    ("products", "product_id,product,units,sales", ",Tee,2,50.00"),
    ("variants", "sku,product,variant,units,sales", "TEE-M,Tee,M,2,50.00"),
    ("categories", "category_id,category,units,sales", ",Tees,2,50.00"),
    ("customers", "customers,count,orders,sales", "new,2,2,99.78"),
    ("coupons", "code,orders,discount,sales,refunded", "SPRING,1,6.20,63.78,0.00"),
    ("tax", "country,region,label,orders,tax,sales", "GB,,,1,0.00,36.00"),
    ("refunds", "order,settled_at,amount,reason,by,cancelled_order", ",2026-03-04T09:00:00Z,10.00,Damaged mug"),
])
def test_each_table_downloads_as_csv(client, admin, sales, table, heading, first_row):
    response = client.get(f"{MARCH}&format=csv&table={table}")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=sales-{table}-2026-03-01-to-2026-03-10.csv")
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == heading
    if first_row.startswith(","):  # an id or order number, different on each run, comes first
        assert lines[1].split(",", 1)[1].startswith(first_row[1:])
    else:
        assert lines[1] == first_row


def test_a_bad_range_says_what_is_wrong_and_shows_the_last_30_days(client, admin):
    page = text(client.get("/admin/reports?from=2020-01-01&to=2026-01-01"))
    assert "Choose at most 366 days; that range has 2193." in figure(page, "report-problem")
    today = now_utc().date()
    assert f"{(today - timedelta(days=29)).isoformat()} to {today.isoformat()}: 30 days" in figure(page, "report-range")
    assert 'value="2020-01-01"' in page  # the typed days stay in the form to be corrected

    page = text(client.get("/admin/reports?from=soon"))
    assert "Enter the first day as a date like 2026-12-01." in page

    download = client.get("/admin/reports?from=soon&format=csv&table=daily")
    assert download.status_code == 400 and "Enter the first day" in text(download)
    assert client.get("/admin/reports?format=csv&table=secrets").status_code == 400


def test_the_report_runs_the_same_statements_however_many_orders(client, admin, count_queries):
    variant = make_product(price_cents=500).variants[0]
    order("one@example.com", [(variant, 1)], at(2))
    db.session.commit()
    client.get(MARCH)  # warm: the first request loads what later ones find cached
    with count_queries() as few:
        assert client.get(MARCH).status_code == 200

    for day in range(1, 11):
        for buyer in range(3):
            paid = order(f"b{day}-{buyer}@example.com", [(variant, buyer + 1)], at(day, buyer + 1), coupon=f"C{buyer}")
            refund(paid, 100, at(day, 20))
    db.session.commit()
    with count_queries() as many:
        page = text(client.get(MARCH))

    assert figure(page, "orders") == "31"
    assert len(many) == len(few), many
    report_statements = [statement for statement in many if "orders" in statement or "refunds" in statement]
    assert len(report_statements) == 4, report_statements


def test_the_dashboard_shows_money_taken_work_waiting_and_stock_running_out(client, admin, count_queries):
    low = make_product("Candle", price_cents=1500, variants=[{"sku": "CANDLE-1", "stock": 2}]).variants[0]
    make_product("Vase", variants=[{"sku": "VASE-1", "stock": 0}])
    make_product("Plenty", variants=[{"sku": "PLENTY-1", "stock": 50}])
    now = now_utc()
    today = order("dee@example.com", [(low, 2)], now)  # 3000
    refund(today, 500, now)
    order("eve@example.com", [(low, 1)], now - timedelta(days=3))  # 1500, in the 7 and 30 days
    waiting = order("fox@example.com", [(low, 1)], None, status=OrderStatus.PENDING, payment=PaymentStatus.UNPAID)
    waiting.needs_attention = True
    db.session.commit()

    with count_queries() as statements:
        page = text(client.get("/admin/"))

    assert figure(page, "revenue-today") == "$25.00" and figure(page, "orders-today") == "<strong>2"
    assert figure(page, "refunds-today") == "$5.00" and figure(page, "average-today") == "$30.00"
    assert (figure(page, "revenue-7d"), figure(page, "orders-7d"), figure(page, "average-7d")) == (
        "$40.00", "2", "$22.50")
    assert figure(page, "change-7d-paid_orders") == "up from none the 7 days before"
    assert re.search(r'data-testid="waiting-to-ship"><strong>2</strong>', page)
    assert re.search(r'data-testid="needs-attention"><strong>1</strong>', page)
    assert [row[0] for row in table_rows(page, "running-out")] == ["VASE-1Vase", "CANDLE-1Candle"]
    assert len(table_rows(page, "recent-orders")) == 3
    assert table_rows(page, "recent-orders")[0][1] == "fox@example.com"
    assert "Open the sales report" in page

    for number in range(10):
        order(f"more{number}@example.com", [(low, 1)], now - timedelta(days=number))
        make_product(variants=[{"sku": f"LOW-{number}", "stock": 1}])
    db.session.commit()
    with count_queries() as more:
        client.get("/admin/")
    assert len(more) == len(statements), more


def test_staff_see_the_dashboard_without_the_report_link(client, auth):
    make_user("staff@example.com", role=Role.STAFF)
    db.session.commit()
    auth.login("staff@example.com")

    page = text(client.get("/admin/"))
    assert "Money taken" in page and "Open the sales report" not in page
