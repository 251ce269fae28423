"""The account pages: details, password, address book, deletion, and session limits."""

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Address, Order, OutboxEmail, User
from shop.services.passwords import verify_password
from tests.conftest import free_port
from tests.factories import DEFAULT_PASSWORD, make_address, make_order, make_product, make_user

NEW_PASSWORD = "plum tangerine orbit"
ADDRESS = {"full_name": "Sam Shopper", "line1": "12 Elm Road", "line2": "Flat 3", "city": "Leeds",
           "postal_code": "LS1 4AB", "country": "gb", "phone": "+44 113 496 0000"}


def fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def addresses_of(user_id):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Address).where(Address.user_id == user_id).order_by(Address.id)))


def test_account_pages_need_a_login(client):
    for path in ("/account", "/account/password", "/account/addresses", "/account/addresses/new",
                 "/account/delete"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login?next=")


def test_account_page_shows_details_in_few_queries(client, user, count_queries):
    with count_queries() as queries:
        page = client.get("/account").get_data(as_text=True)
    assert 'value="shopper@example.com"' in page
    assert 'value="Sam Shopper"' in page
    assert len(queries) <= 3


# Details

def test_changing_the_name_needs_no_password(client, user):
    response = client.post("/account", data={"name": "Samantha", "email": user.email}, follow_redirects=True)
    assert "Your details have been saved." in response.get_data(as_text=True)
    assert fresh(User, user.id).name == "Samantha"


def test_changing_the_email_needs_the_current_password(client, user, auth):
    refused = client.post("/account", data={"name": "Sam", "email": "new@example.com", "current_password": "nope"})
    assert "enter your current password correctly" in refused.get_data(as_text=True)
    assert fresh(User, user.id).email == "shopper@example.com"

    client.post("/account", data={"name": "Sam", "email": "New@Example.com", "current_password": DEFAULT_PASSWORD})
    assert fresh(User, user.id).email == "new@example.com"
    auth.logout()
    assert auth.login("new@example.com").status_code == 302


def test_the_old_address_is_told_of_an_email_change(client, user, mail_outbox):
    client.post("/account", data={"name": "Sam", "email": "new@example.com", "current_password": "nope"})
    client.post("/account", data={"name": "Sammy", "email": user.email})
    assert mail_outbox == [], "nothing to tell: no email change happened"

    client.post("/account", data={"name": "Sam", "email": "new@example.com", "current_password": DEFAULT_PASSWORD})

    [notice] = mail_outbox
    assert (notice["To"], notice["Subject"]) == ("shopper@example.com", "Your email address was changed")
    text = notice.get_body(("plain",)).get_content()
    assert "changed to new@example.com" in text and "http://localhost/auth/reset" in text


def test_changing_to_a_taken_email_is_refused(client, user):
    make_user("other@example.com")
    db.session.commit()
    response = client.post("/account", data={"name": "Sam", "email": "OTHER@example.com",
                                             "current_password": DEFAULT_PASSWORD})
    assert "An account with that email address already exists." in response.get_data(as_text=True)
    assert fresh(User, user.id).email == "shopper@example.com"


@pytest.mark.parametrize("data, message", [
    ({"name": "", "email": "shopper@example.com"}, "Please enter your name."),
    ({"name": "Sam", "email": "nope"}, "That email address is not valid"),
    ({"name": "x" * 121, "email": "shopper@example.com"}, "Field cannot be longer than 120 characters."),
])
def test_bad_details_are_refused(client, user, data, message):
    assert message in client.post("/account", data=data).get_data(as_text=True)
    assert fresh(User, user.id).name == "Sam Shopper"


def test_details_without_csrf_token_change_nothing(client, user):
    response = client.post("/account", data={"name": "Mallory", "email": user.email}, csrf=False)
    assert response.status_code == 400
    assert fresh(User, user.id).name == "Sam Shopper"


# Password

def test_changing_the_password(client, user, auth):
    response = client.post("/account/password", data={
        "current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        follow_redirects=True)
    assert "Your password has been changed." in response.get_data(as_text=True)
    assert client.get("/account").status_code == 200, "this session stays logged in"
    auth.logout()
    assert auth.login(user.email).status_code == 200
    assert auth.login(user.email, NEW_PASSWORD).status_code == 302


def test_the_owner_is_told_of_a_password_change(client, user, mail_outbox):
    client.post("/account/password", data={
        "current_password": "wrong password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert mail_outbox == []

    client.post("/account/password", data={
        "current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    [notice] = mail_outbox
    assert (notice["To"], notice["Subject"]) == ("shopper@example.com", "Your password was changed")
    assert NEW_PASSWORD not in notice.get_body(("plain",)).get_content()


@pytest.mark.parametrize("app_overrides", [{"MAIL_PORT": free_port()}])
def test_a_mail_outage_neither_blocks_nor_undoes_a_password_change(client, user, mail_outbox):
    response = client.post("/account/password", data={
        "current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        follow_redirects=True)
    assert "Your password has been changed." in response.get_data(as_text=True)
    assert verify_password(fresh(User, user.id).password_hash, NEW_PASSWORD)
    [queued] = db.session.scalars(sa.select(OutboxEmail)).all()
    assert (queued.recipient, queued.sent_at) == ("shopper@example.com", None) and queued.last_error


@pytest.mark.parametrize("data, message", [
    ({"current_password": "wrong password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
     "Your current password is not correct."),
    ({"current_password": DEFAULT_PASSWORD, "password": "1234567890", "confirm": "1234567890"},
     "one of the most common passwords"),
    ({"current_password": DEFAULT_PASSWORD, "password": "short", "confirm": "short"},
     "The password must be 10 to 128 characters long."),
    ({"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": "different thing"},
     "The two passwords do not match."),
])
def test_bad_password_changes_are_refused(client, user, data, message):
    assert message in client.post("/account/password", data=data).get_data(as_text=True)
    assert verify_password(fresh(User, user.id).password_hash, DEFAULT_PASSWORD)


def test_changing_the_password_logs_out_other_sessions(app, client, user):
    other = app.test_client()
    other.post("/auth/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert other.get("/account").status_code == 200
    client.post("/account/password", data={
        "current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    response = other.get("/account", follow_redirects=True)
    assert "Your password was changed. Please log in again." in response.get_data(as_text=True)
    assert other.get("/account").status_code == 302


# Session limits

def test_idle_session_expires_and_the_cart_waits_in_the_account(client, user, auth):
    variant_id = make_product("Camp Mug").variants[0].id
    db.session.commit()
    client.post("/cart/add", data={"variant_id": variant_id, "quantity": 1})
    with client.session_transaction() as session:
        session["_auth_seen"] -= 121 * 60
    response = client.get("/account", follow_redirects=True)
    assert "Your session expired. Please log in again." in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session
        assert "cart" not in session  # a copy kept here would be added to itself at the next login
    auth.login(user.email)
    with client.session_transaction() as session:
        assert session["cart"] == {str(variant_id): 1}


def test_active_session_is_not_expired(client, user):
    with client.session_transaction() as session:
        session["_auth_seen"] -= 119 * 60
    assert client.get("/account").status_code == 200


def test_remembered_session_survives_idleness_but_not_its_lifetime(client, auth):
    make_user("ann@example.com")
    db.session.commit()
    auth.login("ann@example.com", remember=True)
    with client.session_transaction() as session:
        session["_auth_seen"] -= 3 * 86400
    assert client.get("/account").status_code == 200
    with client.session_transaction() as session:
        session["_auth_started"] -= 31 * 86400
    assert client.get("/account").status_code == 302


def test_session_of_a_deleted_account_is_logged_out(client, user):
    db.session.delete(db.session.get(User, user.id))
    db.session.commit()
    assert client.get("/account").status_code == 302


# Addresses

def test_first_address_becomes_the_default(client, user):
    response = client.post("/account/addresses/new", data=ADDRESS, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "The address has been added." in page
    assert "12 Elm Road" in page and "Default shipping address" in page
    [address] = addresses_of(user.id)
    assert address.country == "GB"
    assert address.is_default


def test_address_book_lists_addresses_in_few_queries(client, user, count_queries):
    for number in range(5):
        make_address(user, line1=f"{number} High Street")
    db.session.commit()
    with count_queries() as queries:
        page = client.get("/account/addresses").get_data(as_text=True)
    assert page.count('data-testid="address"') == 5
    assert len(queries) <= 4


def test_choosing_another_default_address(client, user):
    make_address(user, is_default=True)
    second = make_address(user, line1="2 Side Street")
    db.session.commit()
    client.post(f"/account/addresses/{second.id}/default")
    assert [a.is_default for a in addresses_of(user.id)] == [False, True]
    client.post("/account/addresses/new", data={**ADDRESS, "is_default": "y"})
    assert [a.is_default for a in addresses_of(user.id)] == [False, False, True]


def test_editing_an_address(client, user):
    address = make_address(user, is_default=True)
    db.session.commit()
    form = client.get(f"/account/addresses/{address.id}/edit").get_data(as_text=True)
    assert 'value="1 Main Street"' in form
    client.post(f"/account/addresses/{address.id}/edit", data=ADDRESS)
    [stored] = addresses_of(user.id)
    assert (stored.line1, stored.city, stored.phone, stored.is_default) == (
        "12 Elm Road", "Leeds", "+44 113 496 0000", True)


def test_deleting_the_default_address_promotes_the_next(client, user):
    first = make_address(user, is_default=True)
    make_address(user, line1="2 Side Street")
    db.session.commit()
    response = client.post(f"/account/addresses/{first.id}/delete", follow_redirects=True)
    assert "The address has been deleted." in response.get_data(as_text=True)
    [remaining] = addresses_of(user.id)
    assert remaining.line1 == "2 Side Street" and remaining.is_default


@pytest.mark.parametrize("change, message", [
    ({"country": "Germany"}, "Please choose a country from the list."),
    ({"country": ""}, "Please choose a country."),
    ({"country": "US"}, "Please choose the state."),
    ({"country": "CA", "region": "US-OR"}, "Oregon is in the United States. Please choose a province or territory"),
    ({"region_other": "Kent\x00"}, "This contains characters we cannot store."),
    ({"line1": ""}, "Please enter the address line 1."),
    ({"city": "x" * 101}, "Field cannot be longer than 100 characters."),
    ({"phone": "call me maybe"}, "Use digits, spaces and + ( ) - . / only."),
    ({"line1": "1 Main\x00Street"}, "The line1 contains characters we cannot store."),
])
def test_bad_addresses_are_refused(client, user, change, message):
    response = client.post("/account/addresses/new", data={**ADDRESS, **change})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert addresses_of(user.id) == []


@pytest.mark.parametrize("method, path", [
    ("get", "/account/addresses/{id}/edit"),
    ("post", "/account/addresses/{id}/edit"),
    ("post", "/account/addresses/{id}/delete"),
    ("post", "/account/addresses/{id}/default"),
])
def test_another_users_address_is_not_found_and_unchanged(client, user, method, path):
    stranger = make_user("stranger@example.com")
    theirs = make_address(stranger, line1="Secret Lane 1", is_default=False)
    db.session.commit()
    stranger_id, address_id = stranger.id, theirs.id
    response = getattr(client, method)(path.format(id=address_id), data=ADDRESS if method == "post" else None)
    assert response.status_code == 404
    [unchanged] = addresses_of(stranger_id)
    assert (unchanged.line1, unchanged.is_default) == ("Secret Lane 1", False)


@pytest.mark.parametrize("path", ["/account/addresses/99999/edit", "/account/addresses/99999999999999999999/edit",
                                  "/account/addresses/-1/edit", "/account/addresses/abc/edit"])
def test_unknown_address_ids_are_not_found(client, user, path):
    assert client.get(path).status_code == 404


def test_address_delete_without_csrf_token_changes_nothing(client, user):
    address = make_address(user)
    db.session.commit()
    assert client.post(f"/account/addresses/{address.id}/delete", csrf=False).status_code == 400
    assert len(addresses_of(user.id)) == 1


# Deletion

def test_deleting_the_account_keeps_anonymised_orders(client, user):
    make_address(user)
    order = make_order(user, status="shipped", payment_status="paid", quantity=2)
    order.ship_phone = "555 0100"
    guest_order = make_order(None, status="paid", email="guest@example.com")
    db.session.commit()
    total, order_id, guest_order_id = order.total_cents, order.id, guest_order.id

    response = client.post("/account/delete", data={"password": DEFAULT_PASSWORD}, follow_redirects=True)
    assert "Your account has been deleted." in response.get_data(as_text=True)
    assert fresh(User, user.id) is None
    assert addresses_of(user.id) == []
    kept = fresh(Order, order_id)
    assert kept.user_id is None
    assert kept.email == f"deleted-{order_id}@invalid"
    assert (kept.ship_name, kept.ship_line1, kept.ship_line2, kept.ship_phone) == ("", "", "", "")
    assert kept.total_cents == total
    assert [item.quantity for item in kept.items] == [2]
    assert fresh(Order, guest_order_id).email == "guest@example.com"
    assert client.get("/account").status_code == 302


def test_deleting_needs_the_right_password(client, user):
    response = client.post("/account/delete", data={"password": "wrong password"})
    assert "Your password is not correct" in response.get_data(as_text=True)
    assert fresh(User, user.id) is not None


def test_deleting_waits_for_open_orders(client, user):
    order = make_order(user, status="paid", payment_status="paid")
    db.session.commit()
    number, order_id = order.number, order.id
    response = client.post("/account/delete", data={"password": DEFAULT_PASSWORD})
    assert f"Order {number} is still being processed." in response.get_data(as_text=True)
    assert fresh(User, user.id) is not None
    assert fresh(Order, order_id).email == user.email


def test_deleting_without_csrf_token_changes_nothing(client, user):
    assert client.post("/account/delete", data={"password": DEFAULT_PASSWORD}, csrf=False).status_code == 400
    assert fresh(User, user.id) is not None
