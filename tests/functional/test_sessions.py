"""Logins end on the server: logout, log out everywhere and password changes kill copied cookies too."""
import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Address, UserSession
from tests.factories import DEFAULT_PASSWORD, make_user

NEW_PASSWORD = "plum tangerine orbit"
ADDRESS = {"full_name": "Sam Shopper", "line1": "12 Elm Road", "city": "Leeds", "postal_code": "LS1 4AB",
           "country": "GB"}


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def browser_with_cookie(app, value: str):
    """Return a new client that presents a copied session cookie, as a thief's browser would."""
    thief = app.test_client()
    thief.set_cookie("session", value)
    return thief


def log_in(app, email: str):
    """Return a new client logged in as the account: the same person's other browser."""
    other = app.test_client()
    response = other.post("/auth/login", data={"email": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return other


def open_logins(user_id: int) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(UserSession.id).where(UserSession.user_id == user_id)))


def addresses_of(user_id: int) -> list[Address]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Address).where(Address.user_id == user_id)))


@pytest.mark.parametrize("remember", [False, True])
def test_a_cookie_copied_before_logout_opens_nothing_afterwards(app, client, auth, remember):
    ann = make_user("ann@example.com")
    db.session.commit()
    auth.login("ann@example.com", remember=remember)
    assert client.get("/account").status_code == 200
    copied = session_cookie(client)

    auth.logout()

    thief = browser_with_cookie(app, copied)
    account = thief.get("/account")
    assert account.status_code == 302
    assert account.headers["Location"].startswith("/auth/login?next=")
    added = thief.post("/account/addresses/new", data=ADDRESS)
    assert added.status_code == 302
    assert added.headers["Location"].startswith("/auth/login?next=")
    assert addresses_of(ann.id) == []
    assert open_logins(ann.id) == []


def test_logout_asks_the_browser_to_clear_the_sites_cookies(client, user, auth):
    response = auth.logout()
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == '"cookies"'
    # The message comes one redirect later: browsers drop a cookie set next to Clear-Site-Data too.
    with client.session_transaction() as session:
        assert "_flashes" not in session
    page = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "You have been logged out." in page
    assert client.get("/account").status_code == 302


def test_logging_out_one_browser_leaves_the_others_logged_in(app, client, user, auth):
    phone = log_in(app, user.email)
    auth.logout()
    assert client.get("/account").status_code == 302
    assert phone.get("/account").status_code == 200
    assert len(open_logins(user.id)) == 1


def test_log_out_everywhere_ends_every_session_of_the_account(app, client, user):
    phone = log_in(app, user.email)
    copied = session_cookie(client)
    someone_else = make_user("other@example.com")
    db.session.commit()
    their_browser = log_in(app, someone_else.email)
    page = client.get("/account").get_data(as_text=True)
    assert 'action="/account/logout-everywhere"' in page
    assert ">Log out everywhere</button>" in page

    response = client.post("/account/logout-everywhere")
    assert response.headers["Clear-Site-Data"] == '"cookies"'
    page = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "You have been logged out everywhere, on this device as well." in page

    assert client.get("/account").status_code == 302
    assert browser_with_cookie(app, copied).get("/account").status_code == 302
    phone_page = phone.get("/account", follow_redirects=True).get_data(as_text=True)
    assert "You have been logged out. Please log in again." in phone_page
    assert phone.get("/account").status_code == 302
    assert open_logins(user.id) == []
    assert their_browser.get("/account").status_code == 200, "another account's login is not touched"


def test_log_out_everywhere_needs_a_csrf_token(app, client, user):
    phone = log_in(app, user.email)
    assert client.post("/account/logout-everywhere", csrf=False).status_code == 400
    assert client.get("/account").status_code == 200
    assert phone.get("/account").status_code == 200


def test_log_out_everywhere_needs_a_login(client):
    response = client.post("/account/logout-everywhere")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_changing_the_password_ends_the_other_logins_on_the_server(app, client, user):
    phone = log_in(app, user.email)
    phone_cookie = session_cookie(phone)
    with client.session_transaction() as session:
        mine = session["_auth_sid"]
    client.post("/account/password", data={
        "current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert open_logins(user.id) == [mine]
    assert client.get("/account").status_code == 200
    assert browser_with_cookie(app, phone_cookie).get("/account").status_code == 302


def test_a_session_from_before_server_side_logins_is_logged_out(client, user):
    with client.session_transaction() as session:
        del session["_auth_sid"]
    assert client.get("/account").status_code == 302
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_the_login_is_checked_in_the_same_query_that_loads_the_user(app, client, user, count_queries):
    visitor = app.test_client()
    visitor.get("/")  # both are then served the cached home page
    with count_queries() as anonymous:
        visitor.get("/")
    with count_queries() as logged_in:
        client.get("/")
    assert len(logged_in) == len(anonymous) + 1
    [user_query] = [statement for statement in logged_in if "users" in statement]
    assert "user_sessions" in user_query
