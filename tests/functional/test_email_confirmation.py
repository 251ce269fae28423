"""Email confirmation: the signed link emailed at registration and from the account page, and the guest orders
placed with the address joining the account when it is followed."""
import html
import re

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from shop.extensions import db
from shop.models import Order, User
from shop.services import accounts
from tests.factories import DEFAULT_PASSWORD, make_order, make_user

NEW_PASSWORD = "plum tangerine orbit"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def fresh_user(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def owner_of(order_id: int) -> int | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Order.user_id).where(Order.id == order_id))


def confirmation_link(message) -> str:
    """Return the link of a confirmation email (the same in its text and HTML parts), as a local path."""
    assert message["Subject"] == "Confirm your email address"
    plain = message.get_body(("plain",)).get_content()
    link = re.search(r"http://localhost/auth/confirm/\S+", plain).group(0)
    assert link in message.get_body(("html",)).get_content()
    return link.removeprefix("http://localhost")


def register(client, email: str = "nora@example.com"):
    return client.post("/auth/register", data={"email": email, "name": "Nora New", "password": NEW_PASSWORD,
                                               "confirm": NEW_PASSWORD})


def test_registering_emails_a_link_that_confirms_the_address_and_joins_guest_orders(client, mail_outbox):
    mine = make_order(email="nora@example.com", status="paid", payment_status="paid")
    unpaid = make_order(email="nora@example.com")
    someone_elses = make_order(email="other@example.com", status="paid", payment_status="paid")
    owner = make_user("owner@example.com")
    owned = make_order(owner, email="nora@example.com", status="paid", payment_status="paid")
    db.session.commit()

    response = register(client, "Nora@Example.com")
    assert response.status_code == 302
    welcome = text(client.get(response.headers["Location"]))
    assert "We have emailed nora@example.com a link to confirm the address." in welcome
    [message] = mail_outbox
    assert message["To"] == "nora@example.com"
    link = confirmation_link(message)
    nora = db.session.scalar(sa.select(User).where(User.email == "nora@example.com"))
    assert nora.email_confirmed_at is None
    account_page = text(client.get("/account"))
    assert "Confirm your email" in account_page and "Send the link again" in account_page
    assert owner_of(mine.id) is None, "a guest order joins only once the address is confirmed"

    response = client.get(link)
    assert response.headers["Location"] == "/account/orders"
    page = text(client.get(response.headers["Location"]))
    assert "your email address nora@example.com is confirmed" in page
    assert "2 orders you placed as a guest with this address now appear in your account" in page
    assert mine.number in page and unpaid.number in page
    assert fresh_user(nora.id).email_confirmed_at is not None
    assert (owner_of(mine.id), owner_of(unpaid.id)) == (nora.id, nora.id)
    assert (owner_of(someone_elses.id), owner_of(owned.id)) == (None, owner.id)
    assert 'data-testid="email-confirmation"' not in text(client.get("/account"))

    # Following it again is harmless and says so.
    assert "was already confirmed" in text(client.get(link, follow_redirects=True))


def test_the_link_works_in_a_browser_that_is_not_logged_in(app, client, mail_outbox):
    register(client)
    link = confirmation_link(mail_outbox[0])
    elsewhere = app.test_client()
    response = elsewhere.get(link)
    assert response.headers["Location"] == "/auth/login"
    assert "is confirmed" in text(elsewhere.get("/auth/login"))
    assert db.session.scalar(sa.select(User.email_confirmed_at).where(User.email == "nora@example.com"))


def test_the_account_page_sends_a_new_link(client, user, mail_outbox):
    response = client.post("/auth/confirm", follow_redirects=True)
    assert "We have emailed shopper@example.com a new confirmation link" in text(response)
    [message] = mail_outbox
    client.get(confirmation_link(message))
    assert fresh_user(user.id).email_confirmed_at is not None
    again = client.post("/auth/confirm", follow_redirects=True)
    assert "is already confirmed" in text(again) and len(mail_outbox) == 1


def test_asking_for_a_new_link_needs_a_login_and_a_form_token(app, client):
    assert client.post("/auth/confirm").headers["Location"].startswith("/auth/login")
    make_user("ann@example.com")
    db.session.commit()
    client.post("/auth/login", data={"email": "ann@example.com", "password": DEFAULT_PASSWORD})
    assert client.post("/auth/confirm", csrf=False).status_code == 400


def test_changing_the_email_clears_the_confirmation_and_the_old_link_stops_working(client, user, mail_outbox):
    client.post("/auth/confirm")
    old_link = confirmation_link(mail_outbox[0])
    client.post("/account", data={"name": "Sam", "email": "sam@example.com", "current_password": DEFAULT_PASSWORD})
    refused = text(client.get(old_link, follow_redirects=True))
    assert "for an email address the account no longer uses" in refused
    assert fresh_user(user.id).email_confirmed_at is None

    client.post("/auth/confirm")
    client.get(confirmation_link(mail_outbox[-1]))
    assert fresh_user(user.id).email_confirmed_at is not None
    client.post("/account", data={"name": "Sam", "email": "sam2@example.com", "current_password": DEFAULT_PASSWORD})
    assert fresh_user(user.id).email_confirmed_at is None
    assert 'data-testid="email-confirmation"' in text(client.get("/account"))


def test_an_expired_link_is_refused(client, user, monkeypatch):
    token = accounts.make_confirmation_token(fresh_user(user.id))
    monkeypatch.setattr(accounts, "CONFIRM_TOKEN_MAX_AGE", -1)
    page = text(client.get(f"/auth/confirm/{token}", follow_redirects=True))
    assert "invalid or has expired" in page
    assert fresh_user(user.id).email_confirmed_at is None


@pytest.mark.parametrize("tamper", ["signature", "payload", "other-salt"])
def test_a_tampered_link_is_refused(app, client, user, tamper):
    token = accounts.make_confirmation_token(fresh_user(user.id))
    if tamper == "signature":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif tamper == "payload":
        # A reset token is signed by the same key for another purpose: it must not confirm anything.
        token = URLSafeTimedSerializer(app.secret_key, salt="password-reset").dumps({"id": user.id,
                                                                                      "email": user.email})
    else:
        token = URLSafeTimedSerializer(app.secret_key, salt=accounts.CONFIRM_TOKEN_SALT).dumps({"id": "1"})
    response = client.get(f"/auth/confirm/{token}")
    assert response.status_code == 302
    assert "invalid" in text(client.get(response.headers["Location"]))
    assert fresh_user(user.id).email_confirmed_at is None


def test_the_confirmation_page_keeps_its_token_to_the_shop(client, user):
    token = accounts.make_confirmation_token(fresh_user(user.id))
    assert client.get(f"/auth/confirm/{token}").headers["Referrer-Policy"] == "same-origin"
