"""Staff and owners in the back office: who may open which page, the navigation each sees, refund limits.

The walks go through every admin route in the URL map, so a page added tomorrow is covered;
tests/functional/test_admin_access.py walks it for anonymous visitors (sent to log in) and shoppers (403).
"""
import html
import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from shop.admin import permissions
from shop.admin.sections import SECTIONS
from shop.extensions import db
from shop.models import Order, Refund, Role
from shop.services import store_settings
from shop.services.orders import place_order, record_payment
from tests.factories import make_brand, make_order, make_product, make_user

OWNER_ONLY_PAGE = "Only the shop's owner can open this page."
LIMIT = 5000  # the staff refund limit these tests set: $50.00
# Staff sections in the navigation, and the owner's alone (a section shows once its page exists).
STAFF_SECTIONS = ["Dashboard", "Orders", "Products", "Categories", "Brands", "Inventory", "Reviews", "Import/Export"]
OWNER_SECTIONS = ["Reports", "Customers", "Coupons", "Shipping & tax", "Pages", "Settings", "Audit log"]


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def log_in_as(auth, role: str, email: str | None = None):
    account = make_user(email or f"{role}@example.com", name=f"A {role}", role=role)
    db.session.commit()
    db.session.refresh(account)
    db.session.expunge(account)
    assert auth.login(account.email).status_code == 302
    return account


@pytest.fixture
def staff(auth):
    """Return a staff account logged in on `client`."""
    return log_in_as(auth, Role.STAFF)


@pytest.fixture
def owner(auth):
    """Return an owner account logged in on `client`."""
    return log_in_as(auth, Role.OWNER)


def admin_requests(app) -> list[tuple[str, str, str]]:
    """Return (endpoint, method, url) for every method of every admin route, its parameters filled with 1."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            url = re.sub(r"<[^>]+>", "1", rule.rule)
            found += [(rule.endpoint, method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(found)


@pytest.fixture
def shop_rows(app):
    """Make a row numbered 1 of what admin URLs name, so the walks reach pages, not only 404s."""
    brand = make_brand("Acme")
    product = make_product("Desk Lamp", brand=brand)
    make_order(variant=product.variants[0], status="paid", payment_status="paid")
    db.session.commit()


def walk(client, app) -> dict[tuple[str, str, str], int]:
    """Request every admin URL as the logged-in account; return the status of each (no action is confirmed)."""
    token = client.csrf_token()
    return {(endpoint, method, url): client.open(url, method=method, data={"csrf_token": token}).status_code
            for endpoint, method, url in admin_requests(app)}


def test_every_admin_page_is_classified_for_staff_or_the_owner(app):
    assert permissions.unclassified_endpoints() == []
    assert ("admin.refund", "POST", "/admin/orders/1/refund") in admin_requests(app)
    classified = permissions.STAFF_ENDPOINTS | permissions.OWNER_ONLY_ENDPOINTS
    assert not permissions.STAFF_ENDPOINTS & permissions.OWNER_ONLY_ENDPOINTS
    assert classified - set(app.view_functions) == set(), "the map names pages that do not exist"


def test_an_unclassified_page_is_found_and_kept_from_staff(app, client, auth):
    app.add_url_rule("/admin/new-page", endpoint="admin.new_page", view_func=lambda: "the new page")
    assert permissions.unclassified_endpoints() == ["admin.new_page"]

    log_in_as(auth, Role.STAFF)
    refused = client.get("/admin/new-page")
    assert refused.status_code == 403 and OWNER_ONLY_PAGE in text(refused)
    auth.logout()
    log_in_as(auth, Role.OWNER)
    assert client.get("/admin/new-page").get_data(as_text=True) == "the new page"


def test_staff_open_their_pages_and_are_refused_the_owners(app, client, staff, shop_rows):
    statuses = walk(client, app)
    for (endpoint, method, url), status in statuses.items():
        if endpoint in permissions.STAFF_ENDPOINTS:
            assert status != 403, f"staff were refused {method} {url}"
        else:
            assert status == 403, f"staff reached {method} {url} ({status})"
    # The walk reached real pages, not only missing rows.
    assert statuses[("admin.product_edit", "GET", "/admin/products/1")] == 200
    assert statuses[("admin.order", "GET", "/admin/orders/1")] == 200


def test_owners_open_every_page(app, client, owner, shop_rows):
    statuses = walk(client, app)
    refused = [f"{method} {url}" for (_, method, url), status in statuses.items() if status == 403]
    assert refused == []
    assert statuses[("admin.orders_export", "GET", "/admin/orders/export.csv")] == 200


@pytest.mark.parametrize("path", ["/admin/orders/export.csv", "/admin/audit", "/admin/settings", "/admin/customers",
                                  "/admin/reports", "/admin/coupons", "/admin/shipping", "/admin/tax", "/admin/pages"])
def test_staff_are_told_the_page_is_the_owners(client, staff, path):
    response = client.get(path)
    assert response.status_code == 403
    assert OWNER_ONLY_PAGE in text(response)


def navigation(page: str) -> list[str]:
    menu = re.search(r'<nav class="admin-nav".*?</nav>', page, re.S).group(0)
    return re.findall(r"<a [^>]*>([^<]+)</a>", menu)


def test_staff_see_only_their_sections_and_still_the_shop_link(client, staff):
    page = text(client.get("/admin/"))
    links = navigation(page)
    assert [label for label in links if label in STAFF_SECTIONS] == STAFF_SECTIONS
    assert not set(links) & set(OWNER_SECTIONS)
    assert "View the shop →" in links
    assert '<a href="/admin/">Admin</a>' in text(client.get("/"))  # the storefront header keeps its link
    make_order()
    db.session.commit()
    orders = text(client.get("/admin/orders"))
    assert "data-testid=\"list-summary\"" in orders and "/admin/orders/export.csv" not in orders


def test_owners_see_every_section_that_exists(client, owner):
    make_order()
    db.session.commit()
    links = navigation(text(client.get("/admin/")))
    endpoints = client.application.view_functions
    assert [label for label in links if label != "View the shop →"] == [
        section.label for section in SECTIONS if section.endpoint in endpoints]
    assert set(OWNER_SECTIONS) <= set(links)
    assert "/admin/orders/export.csv" in text(client.get("/admin/orders"))


# Refunds: staff may give back at most the staff refund limit at once; owners any amount.

@pytest.fixture
def app_overrides():
    return {"STAFF_REFUND_LIMIT_CENTS": LIMIT}


@pytest.fixture
def lamp(app, shipping_methods):
    variant = make_product("Desk Lamp", price_cents=4500, stock=5).variants[0]
    db.session.commit()
    return SimpleNamespace(id=variant.id, sku=variant.sku)


def paid_order(variant, details, quantity: int) -> int:
    order = place_order({variant.id: quantity}, details(email="buyer@example.com"), user_id=None)
    order_id, total = order.id, order.total_cents
    record_payment(order_id, amount_cents=total, currency="usd", reference=f"test_{order_id}", provider="test")
    return order_id


def refunded(order_id: int) -> tuple[int, int]:
    """Return the order's refunded cents and its number of refund rows."""
    db.session.rollback()
    order = db.session.get(Order, order_id)
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(Refund).where(Refund.order_id == order_id))
    return order.refunded_cents, rows


def test_staff_refund_up_to_the_limit(client, staff, lamp, details):
    order_id = paid_order(lamp, details, quantity=2)
    asked = client.post(f"/admin/orders/{order_id}/refund", data={"amount": "50.00", "token": "t1"})
    assert asked.status_code == 200 and "Refund $50.00 on order" in text(asked)
    done = client.post(f"/admin/orders/{order_id}/refund", data={"amount": "50.00", "token": "t1", "confirmed": "yes"},
                       follow_redirects=True)
    assert "$50.00 refunded; the customer has been emailed." in text(done)
    assert refunded(order_id) == (5000, 1)


def test_staff_refund_above_the_limit_is_refused_before_and_after_confirming(client, staff, lamp, details):
    order_id = paid_order(lamp, details, quantity=2)
    message = "You can refund at most $50.00 at a time, and this is $50.01: ask the shop's owner to make this refund."
    asked = client.post(f"/admin/orders/{order_id}/refund", data={"amount": "50.01", "token": "t1"},
                        follow_redirects=True)
    assert message in text(asked) and 'name="confirmed"' not in text(asked)
    # A confirmed form sent directly is refused by the refund itself.
    forced = client.post(f"/admin/orders/{order_id}/refund",
                         data={"amount": "50.01", "token": "t2", "confirmed": "yes"}, follow_redirects=True)
    assert message in text(forced)
    assert refunded(order_id) == (0, 0)


def test_staff_refund_of_items_is_priced_before_the_limit_applies(client, staff, lamp, details):
    order_id = paid_order(lamp, details, quantity=2)
    db.session.rollback()
    item_id = db.session.get(Order, order_id).items[0].id
    response = client.post(f"/admin/orders/{order_id}/refund",
                           data={"amount": "", f"qty-{item_id}": "2", "token": "t1", "confirmed": "yes"},
                           follow_redirects=True)
    assert "this is $90.00: ask the shop's owner" in text(response)
    assert refunded(order_id) == (0, 0)


def test_staff_cannot_cancel_an_order_whose_refund_is_above_the_limit(client, staff, lamp, details):
    order_id = paid_order(lamp, details, quantity=2)
    asked = client.post(f"/admin/orders/{order_id}/cancel", data={"cancel_reason": ""}, follow_redirects=True)
    assert "ask the shop's owner to make this refund" in text(asked) and 'name="confirmed"' not in text(asked)
    forced = client.post(f"/admin/orders/{order_id}/cancel", data={"cancel_reason": "", "confirmed": "yes"},
                         follow_redirects=True)
    assert "ask the shop's owner to make this refund" in text(forced)
    db.session.rollback()
    assert db.session.get(Order, order_id).status == "paid"
    assert refunded(order_id) == (0, 0)


def test_staff_cancel_an_order_within_the_limit(client, staff, details):
    mug = make_product("Mug", price_cents=2000, stock=5).variants[0]
    order_id = paid_order(mug, details, quantity=1)
    done = client.post(f"/admin/orders/{order_id}/cancel", data={"cancel_reason": "", "confirmed": "yes"},
                       follow_redirects=True)
    assert "is cancelled and $25.99 refunded." in text(done)
    db.session.rollback()
    assert db.session.get(Order, order_id).status == "cancelled"


def test_owners_refund_any_amount(client, owner, lamp, details):
    order_id = paid_order(lamp, details, quantity=2)
    done = client.post(f"/admin/orders/{order_id}/refund", data={"amount": "90.00", "token": "t1", "confirmed": "yes"},
                       follow_redirects=True)
    assert "$90.00 refunded" in text(done)
    assert refunded(order_id) == (9000, 1)


def test_the_staff_limit_is_the_owners_setting(client, auth, lamp, details):
    boss = make_user("boss@example.com", role=Role.OWNER)
    db.session.commit()
    store_settings.save(boss, {"staff_refund_limit_cents": 6000})
    log_in_as(auth, Role.STAFF)
    order_id = paid_order(lamp, details, quantity=2)

    done = client.post(f"/admin/orders/{order_id}/refund", data={"amount": "60.00", "token": "t1", "confirmed": "yes"},
                       follow_redirects=True)
    assert "$60.00 refunded" in text(done)
    # The limit is per refund, not per order.
    more = client.post(f"/admin/orders/{order_id}/refund", data={"amount": "0.01", "token": "t2", "confirmed": "yes"},
                       follow_redirects=True)
    assert "$0.01 refunded" in text(more)
    assert refunded(order_id) == (6001, 2)

    assert client.get("/admin/audit").status_code == 403
    auth.logout()
    log_in_as(auth, Role.OWNER, "owner@example.com")
    audit_page = text(client.get("/admin/audit?type=store_settings"))
    assert "staff refund limit : from $50.00 → to $60.00" in " ".join(re.sub(r"<[^>]+>", " ", audit_page).split())
