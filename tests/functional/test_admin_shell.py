"""The admin layout: navigation with the current section, breadcrumbs, and the overview's counts."""
import re

from shop.extensions import db
from tests.factories import make_order, make_product


def test_the_overview_counts_todays_orders_attention_and_stock(client, admin, count_queries):
    make_product(stock=2)  # low
    make_product(stock=0)  # out
    make_product(stock=50)
    make_product(stock=1, is_active=False)  # not for sale: not counted
    order = make_order()
    order.needs_attention = True
    make_order()
    db.session.commit()  # the catalogue's search rows are written at commit, not by the page

    with count_queries() as statements:
        page = client.get("/admin/").get_data(as_text=True)

    def tile(name):
        return re.search(rf'data-testid="{name}"><strong>(\d+)</strong>', page).group(1)

    counts = [tile(name) for name in ("orders-today", "needs-attention", "low-stock", "out-of-stock")]
    assert counts == ["2", "1", "1", "1"]
    # The login's two, the dashboard's five (shop/services/admin_overview.py), and a store settings read.
    assert len(statements) <= 8, statements


def test_the_navigation_marks_the_current_section_and_links_back_to_the_shop(client, admin):
    page = client.get("/admin/orders").get_data(as_text=True)
    assert re.search(r'<a href="/admin/orders" aria-current="page" class="current">Orders</a>', page)
    assert 'href="/admin/">Dashboard</a>' in page
    assert "View the shop" in page
    assert '<nav class="breadcrumbs" aria-label="Breadcrumb">' in page
