"""The audit log page: every admin change newest first, who, what, which object, before and after, when;
filters, pages, and no way to edit or delete an entry."""
import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from shop.extensions import db
from shop.models import AuditRecord, Role, StockReason
from shop.services import audit
from shop.services.audit_log import OBJECT_KINDS
from shop.services.inventory import adjust_stock
from tests.factories import make_brand, make_order, make_product, make_user

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def entries(page: str) -> list[str]:
    """Return the text of each entry row on the page, tags dropped and spaces squeezed."""
    rows = re.findall(r'<tr data-testid="audit-entry">(.*?)</tr>', page, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def logged(action: str, entity_type: str, entity_id: int | None, summary: str, changes=None, *,
           email: str = "boss@example.com", at: datetime = NOON) -> AuditRecord:
    entry = audit.record_by(None, email, action, entity_type, entity_id, summary, changes)
    entry.created_at = at
    db.session.flush()
    return entry


def test_the_log_lists_who_did_what_to_which_object_newest_first(client, admin):
    product = make_product("Desk Lamp")
    brand = make_brand("Gone Brand")
    logged("product.update", "product", product.id, "Desk Lamp: price $19.00 → $21.00",
           {"SKU-1.price_cents": [1900, 2100], "is_active": [False, True], "description": [None, "Bright"]},
           email="ann@example.com", at=NOON)
    logged("brand.delete", "brand", brand.id, "Deleted brand Gone Brand", at=NOON + timedelta(hours=1))
    db.session.delete(brand)
    logged("settings.update", "store_settings", None, "Shop name: Shop → Lamp Land",
           {"shop_name": ["Shop", "Lamp Land"]}, at=NOON + timedelta(hours=2))
    db.session.commit()

    page = text(client.get("/admin/audit"))
    rows = entries(page)
    assert len(rows) == 3
    assert rows[0].startswith("2026-03-10 14:00 boss@example.com settings.update Store settings")
    assert "shop name : from Shop → to Lamp Land" in rows[0]
    assert rows[1].startswith("2026-03-10 13:00 boss@example.com brand.delete")
    assert f"Brand #{brand.id} (no longer exists)" in rows[1]
    assert rows[2].startswith("2026-03-10 12:00 ann@example.com product.update")
    assert "Desk Lamp: price $19.00 → $21.00" in rows[2]
    assert "Before and after (3 fields)" in rows[2]
    assert "SKU-1 price : from $19.00 → to $21.00" in rows[2]
    assert "is active : from no → to yes" in rows[2] and "description : from (none) → to Bright" in rows[2]
    assert f'<a href="/admin/products/{product.id}">Product #{product.id}</a>' in page
    assert f'href="/admin/brands/{brand.id}"' not in page
    assert '<time datetime="2026-03-10T12:00:00+00:00">' in page
    assert 'class="audit-log stacked-table"' in page and 'data-label="What changed"' in page


def test_a_change_made_in_the_admin_appears_with_its_before_and_after(client, admin):
    variant = make_product("Mug", stock=10).variants[0]
    owner = make_user("owner@example.com", role=Role.OWNER)
    db.session.commit()
    adjust_stock(owner, variant.id, StockReason.RECEIVED, delta=5)

    rows = entries(text(client.get("/admin/audit")))
    assert len(rows) == 1
    assert "owner@example.com stock.adjust Variant #" in rows[0]
    assert "stock : from 10 → to 15" in rows[0]
    assert f'href="/admin/inventory/{variant.id}/history"' in text(client.get("/admin/audit"))


def test_an_order_action_links_to_the_order(client, admin):
    product = make_product()
    order = make_order(variant=product.variants[0])
    logged("order.note", "order", order.id, f"Order {order.number}: called the customer")
    db.session.commit()
    assert f'<a href="/admin/orders/{order.id}">Order #{order.id}</a>' in text(client.get("/admin/audit"))


@pytest.fixture
def varied_log(app):
    """Records by two people, on three kinds of object, over three days."""
    logged("product.update", "product", 1, "ann changed a product", email="ann@example.com", at=NOON)
    logged("brand.create", "brand", 2, "bob made a brand", email="bob@example.com", at=NOON + timedelta(days=1))
    logged("order.shipped", "order", 3, "ann shipped an order", email="ann@example.com",
           at=NOON + timedelta(days=2, hours=11, minutes=59))
    logged("widget.spin", "widget_thing", 4, "something newer kinds record", email="bob@example.com",
           at=NOON + timedelta(days=3))
    db.session.commit()


def summaries(client, query: str) -> list[str]:
    page = text(client.get(f"/admin/audit?{query}"))
    return re.findall(r'<td class="audit-what" data-label="What changed">\s*<p>([^<]*)</p>', page)


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["something newer kinds record", "ann shipped an order", "bob made a brand", "ann changed a product"]),
    ("person=ANN", ["ann shipped an order", "ann changed a product"]),
    ("person=bob%40example.com", ["something newer kinds record", "bob made a brand"]),
    ("type=brand", ["bob made a brand"]),
    ("type=widget_thing", ["something newer kinds record"]),
    ("from=2026-03-11", ["something newer kinds record", "ann shipped an order", "bob made a brand"]),
    ("to=2026-03-12", ["ann shipped an order", "bob made a brand", "ann changed a product"]),
    ("from=2026-03-12&to=2026-03-11", ["ann shipped an order", "bob made a brand"]),  # typed backwards
    ("from=2026-03-11&to=2026-03-11&person=bob", ["bob made a brand"]),
    ("person=ann&type=brand", []),
])
def test_filters_by_person_object_type_and_days(client, admin, varied_log, query, expected):
    assert summaries(client, query) == expected


@pytest.mark.parametrize("query", ["from=yesterday&to=2026-02-30", "type=%27%3Bdrop", "type=" + "x" * 500,
                                   "person=%00%20%00", "page=-3", "page=zz"])
def test_junk_filters_are_ignored(client, admin, varied_log, query):
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    assert len(entries(text(response))) == 4


def test_a_filter_matching_nothing_says_so(client, admin, varied_log):
    page = text(client.get("/admin/audit?person=nobody"))
    assert "No audit entries match these filters." in page and entries(page) == []


def test_the_filter_form_offers_object_types_and_todays_admins(client, admin, varied_log):
    make_user("clerk@example.com", role=Role.STAFF)
    make_user("shopper@example.com")
    db.session.commit()
    page = text(client.get("/admin/audit?type=widget_thing"))
    assert '<option value="brand">Brand</option>' in page
    assert '<option value="widget_thing" selected>Widget thing</option>' in page
    people = re.search(r'<datalist id="audit-people">(.*?)</datalist>', page, re.S).group(1)
    assert re.findall(r'value="([^"]+)"', people) == ["admin@example.com", "clerk@example.com"]


def test_pages_of_fifty_with_the_same_statements_whatever_the_size(client, admin, count_queries):
    product = make_product()
    for number in range(3):
        logged("product.update", "product", product.id, f"change {number}", {"price_cents": [number, number + 1]},
               at=NOON + timedelta(minutes=number))
    db.session.commit()
    with count_queries() as small:
        assert len(entries(text(client.get("/admin/audit")))) == 3

    for number in range(3, 120):
        logged("product.update", "product", product.id, f"change {number}", {"price_cents": [number, number + 1]},
               at=NOON + timedelta(minutes=number))
    logged("brand.update", "brand", 99, "change 120", at=NOON + timedelta(minutes=120))
    db.session.commit()
    with count_queries() as large:
        first = text(client.get("/admin/audit"))
    assert len(large) == len(small), large

    assert re.findall(r"<p>(change \d+)</p>", first)[:2] == ["change 120", "change 119"]
    assert len(entries(first)) == 50 and "121 entries · page 1 of 3" in first
    last = text(client.get("/admin/audit?page=3"))
    assert re.findall(r"<p>(change \d+)</p>", last) == [f"change {number}" for number in range(20, -1, -1)]
    assert 'href="/admin/audit?page=2"' in last
    assert "There are no entries on this page." in text(client.get("/admin/audit?page=4"))


def test_entries_cannot_be_edited_or_deleted(client, admin, varied_log):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert client.open("/admin/audit", method=method, data={"csrf_token": client.csrf_token()}).status_code == 405
    audit_rules = [rule for rule in client.application.url_map.iter_rules()
                   if client.application.view_functions[rule.endpoint].__module__ == "shop.admin.audit_log"]
    assert [(rule.rule, sorted(rule.methods)) for rule in audit_rules] == [("/admin/audit", ["GET", "HEAD", "OPTIONS"])]
    page = text(client.get("/admin/audit"))
    assert "<form" in page and 'method="post"' not in page.split('class="admin-main"')[1]
    db.session.rollback()
    assert db.session.query(AuditRecord).count() == 4


def test_an_empty_log_says_nothing_has_changed(client, admin):
    assert "Nothing has been changed in the back office yet." in text(client.get("/admin/audit"))


def test_the_audit_log_is_in_the_navigation(client, admin):
    page = text(client.get("/admin/audit"))
    assert '<a href="/admin/audit" aria-current="page" class="current">Audit log</a>' in page


def test_each_object_kind_links_to_a_page_that_takes_its_id(app):
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    for name, kind in OBJECT_KINDS.items():
        if kind.endpoint not in rules:
            continue  # its section is not built: its records are listed without a link
        expected = {kind.param} if kind.param else set()
        assert rules[kind.endpoint].arguments == expected, name
    linked = {name for name, kind in OBJECT_KINDS.items() if kind.endpoint in rules}
    assert {"order", "product", "product_variant", "category", "brand", "user", "coupon", "tax_rate"} <= linked
