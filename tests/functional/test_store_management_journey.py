"""Issue 13's "Done when", tried as a new shop owner would, through the pages alone.

The owner makes a staff account, a category-limited coupon, a one-country shipping method and a
US state's tax rate; two customers buy; the owner checks the dashboard and the report against
figures worked out by hand; a consented checkout expires and its reminder restores the cart; the
Returns page is renamed and the footer follows.
"""
import html
import re
from datetime import timedelta

import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, User
from shop.models.base import now_utc
from shop.services.mail import deliver_pending
from shop.services.orders import release_expired_reservations
from shop.services.recovery import send_reminders
from tests.factories import make_address, make_category, make_product, make_user
from tests.plugins.accounts import AuthActions
from tests.plugins.checkout import payment_reference_of

CALIFORNIA = {"name": "Ann Buyer", "line1": "1 Market Street", "line2": "", "city": "San Francisco",
              "region": "US-CA", "region_other": "", "postal_code": "94105", "country": "US", "phone": ""}
NEW_YORK = {"name": "Bob Guest", "line1": "5 Broadway", "line2": "", "city": "New York", "region": "US-NY",
            "region_other": "", "postal_code": "10004", "country": "US", "phone": ""}
LONDON = {"name": "Cat Abroad", "line1": "10 Downing Street", "line2": "", "city": "London", "region": "",
          "region_other": "", "postal_code": "SW1A 2AA", "country": "GB", "phone": ""}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def marked(page: str, name: str) -> str:
    """Return the text inside the element marked data-testid=name, tags stripped."""
    match = re.search(rf'data-testid="{re.escape(name)}"[^>]*>(.*?)</(?:dd|strong|td|span)>', page, re.S)
    assert match, f"no {name} on the page"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def confirmed_post(client, url: str, data: dict | None = None):
    """Answer a confirmation page: post again with confirmed=yes, and follow to the result."""
    return client.post(url, data={**(data or {}), "confirmed": "yes"}, follow_redirects=True)


def shipping_method_id(page: str, name: str) -> str:
    match = re.search(r'name="shipping_method" value="(\d+)"[^>]*>\s*' + re.escape(name), page)
    assert match, f"{name} is not offered"
    return match.group(1)


def check_out(client, email: str, address: dict, coupon: str = "", reminder: bool = False):
    """Fill the checkout form as a shopper: press Update summary for the address, then place the order."""
    token = re.search(r'name="placement_token"[^>]*value="([^"]+)"', text(client.get("/checkout"))).group(1)
    form = {"email": email, **address, "coupon": coupon, "placement_token": token}
    summary = text(client.post("/checkout", data={**form, "update": "Update summary"}))
    form["shipping_method"] = shipping_method_id(summary, "US Ground")
    if reminder:
        form["reminder"] = "y"
    return client.post("/checkout", data={**form, "place": "Place order and pay"})


def pay(client, placed) -> Order:
    reference = payment_reference_of(placed)
    assert client.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"}).status_code == 303
    db.session.rollback()
    return db.session.scalar(sa.select(Order).where(Order.payment_reference == reference))


def test_a_new_owner_sets_up_the_shop_sells_and_reads_the_figures(app, client, admin, mail_outbox):
    clothing, kitchen = make_category("Clothing"), make_category("Kitchen")
    shirt = make_product("Linen Shirt", category=clothing, price_cents=2000, stock=10).variants[0]
    mug = make_product("Stoneware Mug", category=kitchen, price_cents=1250, stock=10).variants[0]
    ann = make_user("ann@example.com", name="Ann Buyer")
    make_address(ann, **{"full_name": "Ann Buyer", "line1": "1 Market Street", "city": "San Francisco",
                         "region": "CA", "postal_code": "94105", "country": "US", "is_default": True})
    sam = make_user("sam@example.com", name="Sam Staff")
    db.session.commit()
    shirt_id, mug_id, clothing_id, sam_id = shirt.id, mug.id, clothing.id, sam.id

    # Staff: a shopper account given staff access, who cannot see settings.
    confirmed_post(client, f"/admin/customers/{sam_id}/role/staff")
    assert db.session.get(User, sam_id).role == "staff"
    staff = app.test_client()
    AuthActions(staff).login("sam@example.com")
    assert staff.get("/admin/orders").status_code == 200
    assert staff.get("/admin/settings").status_code == 403

    # The owner's money rules: staff refund at most $20.00; 10 % off clothing once per customer; one
    # shipping method for the United States; California's sales tax on prices entered without tax.
    settings_page = text(client.get("/admin/settings"))
    assert "Largest refund staff may give" in settings_page
    saved = client.post("/admin/settings", data={
        "shop_name": "Shop", "contact_email": "", "address": "", "order_notify_emails": "",
        "reservation_minutes": "60", "low_stock_threshold": "5", "staff_refund_limit_cents": "20.00",
        "low_stock_notify_emails": ""}, follow_redirects=True)
    assert "largest refund staff may give" in text(saved)
    coupon = client.post("/admin/coupons/new", data={
        "code": "shirts10", "kind": "percent", "amount": "10", "min_subtotal": "", "starts_on": "", "ends_on": "",
        "usage_limit": "", "per_customer_limit": "1", "category_ids": [str(clothing_id)], "product_search": ""},
        follow_redirects=True)
    assert "SHIRTS10" in text(coupon), text(coupon)
    method = client.post("/admin/shipping/new", data={"name": "US Ground", "price": "5.00", "free_over": "",
                                                      "places": "US"}, follow_redirects=True)
    assert "US Ground" in text(method)
    rate = client.post("/admin/tax/new", data={"place": "US-CA", "label": "Sales tax", "percent": "7.25"},
                       follow_redirects=True)
    assert "7.25" in text(rate)
    client.post("/admin/tax/settings", data={"tax_shipping": "y"}, follow_redirects=True)

    # Ann, logged in, in California: 2 shirts ($40.00, 10 % off: -$4.00) and a mug ($12.50), shipping
    # $5.00, tax 7.25 % of $53.50 = $3.87875 → $3.88; total $57.38.
    shopper = app.test_client()
    AuthActions(shopper).login("ann@example.com")
    shopper.post("/cart/add", data={"variant_id": shirt_id, "quantity": 2})
    shopper.post("/cart/add", data={"variant_id": mug_id, "quantity": 1})
    ann_order = pay(shopper, check_out(shopper, "ann@example.com", CALIFORNIA, coupon="shirts10"))
    assert (ann_order.subtotal_cents, ann_order.discount_cents, ann_order.shipping_cents, ann_order.tax_cents,
            ann_order.total_cents) == (5250, 400, 500, 388, 5738)
    # Once per customer: Ann's next basket does not get it again.
    shopper.post("/cart/add", data={"variant_id": shirt_id, "quantity": 1})
    again = check_out(shopper, "ann@example.com", CALIFORNIA, coupon="shirts10")
    assert again.status_code != 303
    assert "The coupon SHIRTS10 can be used once per customer, and you have already used it." in text(again)
    shopper.post("/cart/clear")

    # Bob, a guest in New York (no tax rate there): one shirt, $20.00 - $2.00 + $5.00 = $23.00.
    guest = app.test_client()
    guest.post("/cart/add", data={"variant_id": shirt_id, "quantity": 1})
    bob_order = pay(guest, check_out(guest, "bob@example.com", NEW_YORK, coupon="SHIRTS10"))
    assert (bob_order.discount_cents, bob_order.tax_cents, bob_order.total_cents) == (200, 0, 2300)

    # The method is offered in the United States only.
    abroad = app.test_client()
    abroad.post("/cart/add", data={"variant_id": mug_id, "quantity": 1})
    token = re.search(r'name="placement_token"[^>]*value="([^"]+)"', text(abroad.get("/checkout"))).group(1)
    london = text(abroad.post("/checkout", data={"email": "cat@example.com", **LONDON, "coupon": "",
                                                 "placement_token": token, "update": "Update summary"}))
    assert "We do not ship to United Kingdom yet." in london and 'name="shipping_method"' not in london

    # Staff cannot refund $30.00; the owner refunds $10.00 of Bob's order.
    ann_id, bob_id = ann_order.id, bob_order.id
    refused = staff.post(f"/admin/orders/{ann_id}/refund", data={"amount": "30.00", "token": "staff-1",
                                                                 "confirmed": "yes"}, follow_redirects=True)
    assert "ask the shop's owner" in text(refused)
    refunded = client.post(f"/admin/orders/{bob_id}/refund", data={"amount": "10.00", "token": "owner-1",
                                                                   "confirmed": "yes"}, follow_redirects=True)
    assert "$10.00 refunded" in text(refunded)

    # The figures, by hand: sales $57.38 + $23.00 = $80.38 over 2 orders (average $40.19), refunds $10.00,
    # net $70.38, discounts $6.00, shipping $10.00, tax $3.88.
    dashboard = text(client.get("/admin/"))
    assert marked(dashboard, "revenue-today") == "$70.38"
    assert marked(dashboard, "orders-today") == "2"
    assert marked(dashboard, "average-today") == "$40.19"
    assert marked(dashboard, "refunds-today") == "$10.00"
    today = now_utc().date().isoformat()
    report = text(client.get(f"/admin/reports?from={today}&to={today}"))
    assert [marked(report, name) for name in ("net", "orders", "average", "discounts", "shipping", "tax")] == [
        "$70.38", "2", "$40.19", "$6.00", "$10.00", "$3.88"]
    assert marked(report, "sales") == "$80.38" and marked(report, "refunds").startswith("$10.00")
    coupons_csv = client.get(f"/admin/reports?from={today}&to={today}&format=csv&table=coupons")
    assert coupons_csv.mimetype == "text/csv" and "SHIRTS10" in coupons_csv.get_data(as_text=True)

    # Dee ticks the reminder box and walks away; the order expires, and 4 hours on one email restores the cart.
    walker = app.test_client()
    walker.post("/cart/add", data={"variant_id": mug_id, "quantity": 2})
    assert check_out(walker, "dee@example.com", NEW_YORK, reminder=True).status_code == 303
    walker.post("/cart/clear")
    assert release_expired_reservations(now=now_utc() + timedelta(minutes=61)) == 1
    mail_outbox.clear()
    assert send_reminders(now=now_utc() + timedelta(hours=5)) == 1
    deliver_pending()
    [reminder] = [email for email in mail_outbox if email["To"] == "dee@example.com"]
    body = reminder.get_body(("plain",)).get_content()
    restore = re.search(r"http://localhost(/checkout/restore/\S+)", body).group(1)
    assert re.search(r"http://localhost/checkout/reminders/stop/\S+", body)
    returning = app.test_client()
    assert "Stoneware Mug" in text(returning.get(restore))
    cart = text(returning.post(restore, follow_redirects=True))
    assert "Stoneware Mug" in cart and 'data-testid="cart-count">2<' in cart

    # The Returns page, edited from its starting text and renamed, is what the footer links to.
    starting = text(client.get("/admin/pages/new?start=shipping-returns"))
    assert 'value="shipping-returns"' in starting
    saved_page = client.post("/admin/pages/new?start=shipping-returns", data={
        "title": "Returns & refunds", "slug": "shipping-returns", "position": "1", "is_published": "y",
        "show_in_footer": "y", "body": "Send anything back within **60 days** for a full refund."},
        follow_redirects=True)
    assert "The page Returns & refunds was published." in text(saved_page)
    visitor = app.test_client()
    footer = text(visitor.get("/")).split('class="site-footer"')[1]
    assert 'href="/pages/shipping-returns">Returns & refunds<' in footer
    returns = text(visitor.get("/pages/shipping-returns"))
    assert "<strong>60 days</strong>" in returns
