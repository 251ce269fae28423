"""Customers in the back office: the list of accounts and guests, one customer's page, and the owner's account
actions (disable, enable, password reset, role), each confirmed first and recorded in the audit log."""
import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditRecord, Role, User, UserSession, WishlistItem
from shop.models.base import now_utc
from tests.factories import DEFAULT_PASSWORD, make_address, make_order, make_product, make_user


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def fresh_user(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def names(page: str) -> list[str]:
    return re.findall(r'<td data-label="Customer" class="customer-name">\s*<a href="[^"]*">([^<]*)</a>', page)


def paid_order(customer: User | None, price_cents: int, refunded_cents: int = 0, email: str | None = None,
               days_ago: int = 0, status: str = "paid"):
    """Make an order whose payment was taken, with part of it refunded if asked."""
    variant = make_product(price_cents=price_cents).variants[0]
    payment = "paid" if not refunded_cents else "partially refunded" if refunded_cents < price_cents else "refunded"
    order = make_order(customer, variant, status=status, payment_status=payment, email=email)
    order.refunded_cents = refunded_cents
    order.created_at = now_utc() - timedelta(days=days_ago)
    db.session.flush()
    return order


def log_in(app, email: str):
    """Return a new client logged in as the account: the customer's own browser."""
    browser = app.test_client()
    assert browser.post("/auth/login", data={"email": email, "password": DEFAULT_PASSWORD}).status_code == 302
    return browser


@pytest.fixture
def shoppers(admin):
    """Ann (two paid orders, one partly refunded, an unpaid one, a guest order with her address), Bob (none),
    a guest with a paid order, and the orders of a deleted account."""
    ann = make_user("ann@example.com", name="Ann Archer")
    bob = make_user("bob@example.com", name="Bob Baker")
    paid_order(ann, 5000, days_ago=10)
    paid_order(ann, 3000, refunded_cents=1000, days_ago=5)
    make_order(ann, make_product(price_cents=9900).variants[0])  # unpaid: no money taken
    paid_order(None, 2500, email="ann@example.com", days_ago=2)  # as a guest, with Ann's address
    guest = paid_order(None, 4200, email="gus@example.com", days_ago=1)
    guest.ship_name = "Gus Guest"
    paid_order(None, 7000, email="deleted-99@invalid")
    db.session.commit()
    return {"ann": ann, "bob": bob}


def test_the_list_shows_accounts_and_guests_with_their_paid_orders_and_lifetime_value(client, shoppers):
    page = text(client.get("/admin/customers"))
    assert '<a href="/admin/customers" aria-current="page" class="current">Customers</a>' in page
    # Newest last order first; accounts without orders after everyone with one, the newest account first.
    assert names(page) == ["Gus Guest", "Ann Archer", "Bob Baker", "Admin Person"]
    assert "4 customers" in page and "deleted-99" not in page
    rows = re.findall(r'<tr data-testid="customer-row">(.*?)</tr>', page, re.S)
    ann = next(row for row in rows if "Ann Archer" in row)
    # 50.00 + (30.00 - 10.00) + 25.00 as a guest; the unpaid order counts for nothing.
    assert '<td data-label="Orders" class="num">3</td>' in ann and "$95.00" in ann
    gus = next(row for row in rows if "Gus Guest" in row)
    assert "Guest" in gus and "$42.00" in gus and 'href="/admin/customers/guest?email=gus@example.com"' in gus
    assert f'href="/admin/customers/{shoppers["ann"].id}"' in ann


def test_filters_search_and_sorts(client, shoppers):
    assert names(text(client.get("/admin/customers?kind=guest"))) == ["Gus Guest"]
    assert names(text(client.get("/admin/customers?kind=registered&orders=no"))) == ["Bob Baker", "Admin Person"]
    assert names(text(client.get("/admin/customers?orders=yes"))) == ["Gus Guest", "Ann Archer"]
    assert names(text(client.get("/admin/customers?kind=team"))) == ["Admin Person"]
    assert names(text(client.get("/admin/customers?q=BAKER"))) == ["Bob Baker"]
    assert names(text(client.get("/admin/customers?q=gus@"))) == ["Gus Guest"]
    assert names(text(client.get("/admin/customers?sort=value"))) == ["Ann Archer", "Gus Guest", "Admin Person",
                                                                      "Bob Baker"]
    assert names(text(client.get("/admin/customers?sort=joined")))[-1] == "Gus Guest"
    db.session.execute(sa.update(User).where(User.id == shoppers["bob"].id).values(disabled_at=now_utc()))
    db.session.commit()
    assert names(text(client.get("/admin/customers?kind=disabled"))) == ["Bob Baker"]
    assert "No customers match these filters." in text(client.get("/admin/customers?q=%25_nobody"))
    # Junk is ignored rather than refused.
    assert len(names(text(client.get("/admin/customers?kind=bogus&orders=maybe&sort=x&page=y&q=%00")))) == 4


def test_the_list_pages_in_a_constant_number_of_statements(client, admin, count_queries):
    def statements() -> int:
        with count_queries() as queries:
            assert client.get("/admin/customers").status_code == 200
        return len(queries)

    few = statements()
    for n in range(55):
        customer = make_user(f"many{n:02d}@example.com", name=f"Many {n:02d}")
        if n % 2:
            paid_order(customer, 1000 + n, days_ago=n)
    paid_order(None, 500, email="lone@example.com")
    db.session.commit()
    assert statements() == few <= 4
    page = text(client.get("/admin/customers"))
    assert "57 customers · page 1 of 2" in page and 'href="/admin/customers?page=2"' in page
    assert len(names(text(client.get("/admin/customers?page=2")))) == 7
    assert names(text(client.get("/admin/customers?page=9"))) == names(text(client.get("/admin/customers?page=2")))


def test_an_account_page_shows_orders_guest_orders_addresses_wishlist_and_status(client, shoppers, count_queries):
    ann = shoppers["ann"]
    make_address(ann, line1="12 Elm Road", is_default=True)
    make_address(ann, line1="3 Oak Lane")
    db.session.add(WishlistItem(user_id=ann.id, product_id=make_product().id))
    db.session.add(WishlistItem(user_id=ann.id, product_id=make_product().id))
    db.session.commit()
    with count_queries() as queries:
        page = text(client.get(f"/admin/customers/{ann.id}"))
    assert len(queries) <= 7
    assert "<h1>Ann Archer</h1>" in page and "ann@example.com" in page
    assert 'data-testid="paid-orders">3<' in page and 'data-testid="lifetime-value">$95.00<' in page
    assert 'data-testid="wishlist-size">2 products<' in page
    assert page.count('data-testid="customer-order"') == 4  # the unpaid one is listed too
    assert page.count("Guest order</span>") == 1
    assert page.index("12 Elm Road") < page.index("3 Oak Lane")
    assert "Not confirmed" in page and "Active" in page and "<dd>Customer</dd>" in page
    for action in ("disable", "password-reset", "role/staff", "role/owner"):
        assert f'href="/admin/customers/{ann.id}/{action}"' in page
    assert f"/admin/customers/{ann.id}/role/customer" not in page


def test_a_guest_page_shows_the_address_orders_and_an_address_with_an_account_shows_the_account(client, shoppers):
    page = text(client.get("/admin/customers/guest?email=GUS@example.com"))
    assert "<h1>gus@example.com</h1>" in page and 'data-testid="lifetime-value">$42.00<' in page
    assert page.count('data-testid="customer-order"') == 1 and "Account actions" not in page
    response = client.get("/admin/customers/guest?email=ann@example.com")
    assert response.headers["Location"] == f"/admin/customers/{shoppers['ann'].id}"
    assert client.get("/admin/customers/guest?email=nobody@example.com").status_code == 404
    assert client.get("/admin/customers/guest?email=deleted-99@invalid").status_code == 404
    assert client.get("/admin/customers/guest").status_code == 404
    assert client.get("/admin/customers/999999").status_code == 404


def test_disabling_asks_first_ends_the_logins_at_once_and_refuses_the_next_login(app, client, shoppers, auth):
    ann = shoppers["ann"]
    browser = log_in(app, "ann@example.com")
    assert browser.get("/account").status_code == 200

    ask = text(client.get(f"/admin/customers/{ann.id}/disable"))
    assert "Disable this account?" in ask and "Ann Archer <ann@example.com>" in ask
    client.post(f"/admin/customers/{ann.id}/disable")  # not confirmed: nothing happens
    assert not fresh_user(ann.id).is_disabled

    response = client.post(f"/admin/customers/{ann.id}/disable", data={"confirmed": "yes"})
    assert response.headers["Location"] == f"/admin/customers/{ann.id}"
    assert "is disabled: it cannot log in" in text(client.get(response.headers["Location"]))
    assert fresh_user(ann.id).is_disabled
    assert db.session.scalar(sa.select(sa.func.count()).where(UserSession.user_id == ann.id)) == 0
    record = db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "customer.disable"))
    assert (record.entity_type, record.entity_id, record.changes) == ("user", ann.id, {"disabled": [False, True]})

    # Her open browser is logged out on its next request, and told why.
    assert browser.get("/account").status_code == 302
    assert "your account has been disabled" in text(browser.get("/", follow_redirects=True))
    refused = text(log_in_attempt(browser, "ann@example.com"))
    assert "This account has been disabled" in refused

    page = text(client.get(f"/admin/customers/{ann.id}"))
    assert "Disabled</span> since" in page and f"/admin/customers/{ann.id}/password-reset" not in page
    client.post(f"/admin/customers/{ann.id}/enable", data={"confirmed": "yes"})
    assert not fresh_user(ann.id).is_disabled
    assert db.session.scalar(sa.select(AuditRecord.changes).where(AuditRecord.action == "customer.enable")) == \
        {"disabled": [True, False]}
    assert log_in(app, "ann@example.com")


def log_in_attempt(browser, email: str):
    return browser.post("/auth/login", data={"email": email, "password": DEFAULT_PASSWORD}, follow_redirects=True)


def test_a_wrong_password_for_a_disabled_account_says_only_that_the_login_failed(app, shoppers):
    db.session.execute(sa.update(User).where(User.id == shoppers["bob"].id).values(disabled_at=now_utc()))
    db.session.commit()
    page = text(app.test_client().post("/auth/login", data={"email": "bob@example.com", "password": "wrong password"}))
    assert "Incorrect email or password." in page and "disabled" not in page


def test_an_owner_cannot_disable_themself(client, admin):
    page = text(client.get(f"/admin/customers/{admin.id}"))
    assert f"/admin/customers/{admin.id}/disable" not in page
    response = client.post(f"/admin/customers/{admin.id}/disable", data={"confirmed": "yes"}, follow_redirects=True)
    assert "You cannot disable your own account." in text(response)
    assert not fresh_user(admin.id).is_disabled


def test_sending_a_password_reset_emails_the_customer_a_working_link(client, shoppers, mail_outbox):
    ann = shoppers["ann"]
    assert "Send a password-reset email?" in text(client.get(f"/admin/customers/{ann.id}/password-reset"))
    response = client.post(f"/admin/customers/{ann.id}/password-reset", data={"confirmed": "yes"},
                           follow_redirects=True)
    assert "A password-reset email is on its way to ann@example.com" in text(response)
    [message] = mail_outbox
    assert (message["To"], message["Subject"]) == ("ann@example.com", "Reset your password")
    link = re.search(r"http://localhost(/auth/reset/\S+)", message.get_body(("plain",)).get_content()).group(1)
    assert client.get(link).status_code == 200
    record = db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "customer.password_reset"))
    assert record.entity_id == ann.id and "ann@example.com" in record.summary


def test_a_disabled_account_gets_no_password_reset(client, shoppers, mail_outbox):
    bob = shoppers["bob"]
    db.session.execute(sa.update(User).where(User.id == bob.id).values(disabled_at=now_utc()))
    db.session.commit()
    response = client.post(f"/admin/customers/{bob.id}/password-reset", data={"confirmed": "yes"},
                           follow_redirects=True)
    assert "enable it before sending a password reset" in text(response)
    client.post("/auth/reset", data={"email": "bob@example.com"})
    assert mail_outbox == []


def test_granting_and_revoking_staff_access_and_making_an_owner(app, client, shoppers):
    bob = shoppers["bob"]
    assert "Make Bob Baker staff?" in text(client.get(f"/admin/customers/{bob.id}/role/staff"))
    client.post(f"/admin/customers/{bob.id}/role/staff", data={"confirmed": "yes"})
    assert fresh_user(bob.id).role == Role.STAFF
    bob_browser = log_in(app, "bob@example.com")
    assert bob_browser.get("/admin/orders").status_code == 200
    assert bob_browser.get("/admin/customers").status_code == 403

    client.post(f"/admin/customers/{bob.id}/role/customer", data={"confirmed": "yes"})
    assert fresh_user(bob.id).role == Role.CUSTOMER
    assert bob_browser.get("/admin/orders").status_code == 403  # at once, without logging in again

    page = text(client.post(f"/admin/customers/{bob.id}/role/owner", data={"confirmed": "yes"},
                            follow_redirects=True))
    assert "bob@example.com now has the role Owner." in page
    changes = list(db.session.scalars(sa.select(AuditRecord.changes).where(AuditRecord.action == "customer.role")
                                      .order_by(AuditRecord.id)))
    assert changes == [{"role": ["customer", "staff"]}, {"role": ["staff", "customer"]},
                       {"role": ["customer", "owner"]}]
    assert client.get(f"/admin/customers/{bob.id}/role/admin").status_code == 404
    already = client.get(f"/admin/customers/{bob.id}/role/owner", follow_redirects=True)
    assert "bob@example.com already has the role Owner." in text(already)


def test_the_last_owner_cannot_give_up_the_role_but_one_of_two_can(client, admin):
    response = client.post(f"/admin/customers/{admin.id}/role/staff", data={"confirmed": "yes"},
                           follow_redirects=True)
    assert "is the only owner who can log in" in text(response)
    assert fresh_user(admin.id).role == Role.OWNER

    other = make_user("other-owner@example.com", is_admin=True)
    db.session.commit()
    assert "You are changing your own role" in text(client.get(f"/admin/customers/{admin.id}/role/staff"))
    response = client.post(f"/admin/customers/{admin.id}/role/staff", data={"confirmed": "yes"})
    assert response.headers["Location"] == "/admin/"
    assert fresh_user(admin.id).role == Role.STAFF and fresh_user(other.id).role == Role.OWNER
    assert client.get("/admin/customers").status_code == 403


def test_shoppers_and_staff_cannot_open_the_customer_pages(app, client, user):
    assert client.get("/admin/customers").status_code == 403
    make_user("staff@example.com", role=Role.STAFF)
    db.session.commit()
    staff = log_in(app, "staff@example.com")
    assert staff.get("/admin/customers").status_code == 403
    assert staff.post(f"/admin/customers/{user.id}/disable", data={"confirmed": "yes"}).status_code == 403
    assert not fresh_user(user.id).is_disabled
