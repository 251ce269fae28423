"""Registration, login, logout and password reset as a visitor uses them."""
import re
import time
import types

import itsdangerous.timed
import limits.storage.memory
import limits.strategies
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from werkzeug.security import generate_password_hash

from shop.extensions import db
from shop.models import User
from shop.services.passwords import verify_password
from tests.factories import DEFAULT_PASSWORD, make_product, make_user

NEW_PASSWORD = "plum tangerine orbit"


def register(client, email="new@example.com", name="Nora New", password=NEW_PASSWORD, confirm=None, **kwargs):
    return client.post("/auth/register", data={
        "email": email, "name": name, "password": password,
        "confirm": password if confirm is None else confirm}, **kwargs)


def users():
    db.session.expire_all()
    return list(db.session.scalars(sa.select(User)))


def logged_in_as(client) -> str | None:
    """Return the name in the header's account link, or None when logged out."""
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'<a href="/account" aria-label="Your account \(([^"]*)\)">Account</a>', page)
    return match.group(1) if match else None


# Registration

def test_registering_creates_a_logged_in_account_with_a_lowercase_email(client):
    response = register(client, email="  Nora.New@Example.COM ")
    assert response.status_code == 302
    [user] = users()
    assert user.email == "nora.new@example.com"
    assert user.name == "Nora New"
    assert user.password_hash.startswith("$argon2id$")
    assert NEW_PASSWORD not in user.password_hash
    assert logged_in_as(client) == "Nora New"


def test_registering_an_email_taken_in_another_case_is_refused(client):
    make_user("taken@example.com")
    db.session.commit()
    page = register(client, email="TAKEN@Example.com").get_data(as_text=True)
    assert "An account with that email address already exists." in page
    assert len(users()) == 1
    assert logged_in_as(client) is None


@pytest.mark.parametrize("fields, message", [
    ({"email": "not-an-email"}, "That email address is not valid"),
    ({"email": "a@b@example.com"}, "That email address is not valid"),
    ({"email": ""}, "Please enter your email address."),
    ({"email": "x" * 250 + "@example.com"}, "Field cannot be longer than 254 characters."),
    ({"name": "   "}, "Please enter your name."),
    ({"name": "Bad\x00Name"}, "The name contains characters we cannot store."),
    ({"password": "short pw"}, "The password must be 10 to 128 characters long."),
    ({"password": "x" * 129}, "The password must be 10 to 128 characters long."),
    ({"password": "Password123"}, "That password is one of the most common passwords."),
    ({"password": "QWERTYUIOP"}, "That password is one of the most common passwords."),
    ({"password": "iloveyou12"}, "That password is one of the most common passwords."),
    ({"confirm": "something different"}, "The two passwords do not match."),
])
def test_bad_registrations_say_why_and_create_nothing(client, fields, message):
    response = register(client, **fields)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert users() == []


def test_register_page_has_the_form(client):
    page = client.get("/auth/register").get_data(as_text=True)
    for name in ("email", "name", "password", "confirm", "csrf_token"):
        assert f'name="{name}"' in page


# Login and logout

def test_login_with_any_case_email_and_logout(client, auth):
    make_user("ann@example.com", name="Ann")
    db.session.commit()
    response = auth.login("  ANN@example.com")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert logged_in_as(client) == "Ann"

    assert auth.logout().status_code == 302
    assert logged_in_as(client) is None


@pytest.mark.parametrize("email, password", [
    ("ann@example.com", "wrong password!"),
    ("nobody@example.com", DEFAULT_PASSWORD),
])
def test_wrong_email_and_wrong_password_get_the_same_message(client, auth, email, password):
    make_user("ann@example.com")
    db.session.commit()
    response = auth.login(email, password)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Incorrect email or password." in page
    assert logged_in_as(client) is None


def test_login_with_missing_fields_is_refused(client):
    response = client.post("/auth/login", data={"email": "", "password": ""})
    assert response.status_code == 200
    assert "Please enter your email address." in response.get_data(as_text=True)
    assert logged_in_as(client) is None


def test_logout_by_get_does_not_log_out(client, user):
    assert client.get("/auth/logout").status_code == 405
    assert logged_in_as(client) == user.name


def test_logout_without_csrf_token_is_refused(client, user):
    response = client.post("/auth/logout", csrf=False)
    assert response.status_code == 400
    assert "Your form expired" in response.get_data(as_text=True)
    assert logged_in_as(client) == user.name


def test_login_without_csrf_token_is_refused(client):
    make_user("ann@example.com")
    db.session.commit()
    response = client.post("/auth/login", data={"email": "ann@example.com", "password": DEFAULT_PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert logged_in_as(client) is None


def test_register_without_csrf_token_creates_nothing(client):
    assert register(client, csrf=False).status_code == 400
    assert users() == []


def test_login_keeps_the_cart_but_not_the_rest_of_the_session(client, auth):
    make_user("ann@example.com")
    variant_id = make_product("Camp Mug").variants[0].id
    db.session.commit()
    with client.session_transaction() as session:
        session["cart"] = {str(variant_id): 2}
        session["planted"] = "by an attacker"
        session["csrf_token"] = "fixed-token"
    auth.login("ann@example.com")
    with client.session_transaction() as session:
        assert session["cart"] == {str(variant_id): 2}
        assert "planted" not in session
        assert session.get("csrf_token") != "fixed-token"


def test_logout_clears_the_whole_session(client, user, auth):
    with client.session_transaction() as session:
        session["cart"] = {"7": 2}
    auth.logout()
    with client.session_transaction() as session:
        assert "cart" not in session
        assert "_user_id" not in session


def test_remember_me_makes_the_session_cookie_outlive_the_browser(client, auth):
    make_user("ann@example.com")
    db.session.commit()
    forgetful = auth.login("ann@example.com")
    assert "Expires=" not in forgetful.headers["Set-Cookie"]
    auth.logout()
    remembered = auth.login("ann@example.com", remember=True)
    cookie = remembered.headers["Set-Cookie"]
    assert "Expires=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


@pytest.mark.parametrize("target", ["/account", "/categories/shoes?page=2"])
def test_login_follows_a_next_path_on_this_site(client, auth, target):
    make_user("ann@example.com")
    db.session.commit()
    assert auth.login("ann@example.com", next=target).headers["Location"] == target


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "http:/evil.example", "evil.example",
    "/%0a/evil.example".replace("%0a", "\n"),
])
def test_login_ignores_next_targets_off_this_site(client, auth, target):
    make_user("ann@example.com")
    db.session.commit()
    assert auth.login("ann@example.com", next=target).headers["Location"] == "/"


def test_the_login_page_passes_a_safe_next_along_and_drops_an_unsafe_one(client):
    assert 'action="/auth/login?next=/account"' in client.get("/auth/login?next=/account").get_data(as_text=True)
    assert 'action="/auth/login"' in client.get("/auth/login?next=//evil.example").get_data(as_text=True)


def test_login_required_pages_send_back_after_login(client, auth):
    make_user("ann@example.com")
    db.session.commit()
    response = client.get("/account/addresses")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")
    login_url = response.headers["Location"]
    follow = client.post(login_url, data={"email": "ann@example.com", "password": DEFAULT_PASSWORD})
    assert follow.headers["Location"] == "/account/addresses"


def test_logged_in_users_are_sent_away_from_login_and_register(client, user):
    assert client.get("/auth/login").status_code == 302
    assert client.get("/auth/register").status_code == 302


# Hashes

def test_outdated_argon2_hash_is_upgraded_on_login(client, auth):
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(DEFAULT_PASSWORD)
    user = make_user("ann@example.com")
    user.password_hash = weak
    db.session.commit()
    assert auth.login("ann@example.com").status_code == 302
    [stored] = users()
    assert stored.password_hash != weak
    assert "m=8," not in stored.password_hash
    assert verify_password(stored.password_hash, DEFAULT_PASSWORD)


def test_legacy_werkzeug_hash_still_logs_in_and_becomes_argon2id(client, auth):
    user = make_user("ann@example.com")
    user.password_hash = generate_password_hash(DEFAULT_PASSWORD, method="pbkdf2:sha256:1000")
    db.session.commit()
    assert auth.login("ann@example.com").status_code == 302
    assert users()[0].password_hash.startswith("$argon2id$")


def test_legacy_hash_with_wrong_password_is_refused(client, auth):
    user = make_user("ann@example.com")
    user.password_hash = generate_password_hash(DEFAULT_PASSWORD, method="pbkdf2:sha256:1000")
    db.session.commit()
    assert auth.login("ann@example.com", "not the password").status_code == 200
    assert users()[0].password_hash.startswith("pbkdf2:")


def test_passwords_are_never_logged(client, auth, caplog):
    make_user("ann@example.com")
    db.session.commit()
    caplog.set_level("DEBUG")
    auth.login("ann@example.com", "secret wrong password")
    auth.login("ann@example.com")
    assert "secret wrong password" not in caplog.text
    assert DEFAULT_PASSWORD not in caplog.text


# Throttling

def test_repeated_failures_for_one_account_are_throttled(client, auth):
    make_user("ann@example.com")
    db.session.commit()
    for _ in range(5):
        assert auth.login("ann@example.com", "wrong password!").status_code == 200
    blocked = auth.login("ANN@example.com", DEFAULT_PASSWORD)
    assert blocked.status_code == 429
    page = blocked.get_data(as_text=True)
    assert "Too many requests" in page
    assert "5 per 1 minute; you can try again in" in page
    assert logged_in_as(client) is None


def test_guesses_spread_across_a_window_edge_are_still_throttled(client, auth, monkeypatch):
    # With a fixed window, a guess before the edge and a burst after it would pass unnoticed.
    now = [1_000_000.0]
    clock = types.SimpleNamespace(time=lambda: now[0])
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    monkeypatch.setattr(limits.strategies, "time", clock)
    make_user("ann@example.com")
    db.session.commit()
    assert auth.login("ann@example.com", "wrong password!").status_code == 200
    now[0] += 50
    for _ in range(4):
        assert auth.login("ann@example.com", "wrong password!").status_code == 200
    now[0] += 11
    assert auth.login("ann@example.com", "wrong password!").status_code == 200
    assert auth.login("ann@example.com", DEFAULT_PASSWORD).status_code == 429


def test_account_limit_does_not_block_other_accounts(client, auth):
    make_user("ann@example.com")
    make_user("bob@example.com", name="Bob")
    db.session.commit()
    for _ in range(6):
        auth.login("ann@example.com", "wrong password!")
    assert auth.login("bob@example.com").status_code == 302


def test_successful_logins_do_not_count_against_the_limit(client, auth):
    make_user("ann@example.com")
    db.session.commit()
    for _ in range(7):
        assert auth.login("ann@example.com").status_code == 302
        auth.logout()


@pytest.fixture
def app_overrides(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_overrides", [{"LOGIN_LIMIT_PER_IP": "3 per minute"}], indirect=True)
def test_failures_across_accounts_from_one_address_are_throttled(client, auth):
    for number in range(3):
        assert auth.login(f"guess{number}@example.com", "wrong password!").status_code == 200
    assert auth.login("guess9@example.com", "wrong password!").status_code == 429
    other_address = client.post("/auth/login", data={"email": "guess9@example.com", "password": "x"},
                                environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_address.status_code == 200


def test_get_login_page_is_never_throttled(client, auth):
    for _ in range(12):
        auth.login("ann@example.com", "wrong password!")
    assert client.get("/auth/login").status_code == 200


# Password reset

def request_reset(client, email):
    return client.post("/auth/reset", data={"email": email}, follow_redirects=True)


def reset_link(mail_outbox) -> str:
    [message] = mail_outbox
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = re.search(r"http://localhost/auth/reset/\S+", text).group(0)
    assert link in html
    return link.removeprefix("http://localhost")


def test_reset_email_link_sets_a_new_password(client, auth, mail_outbox):
    make_user("ann@example.com", name="Ann")
    db.session.commit()
    page = request_reset(client, "Ann@Example.com").get_data(as_text=True)
    assert "If an account exists for that email address" in page
    [message] = mail_outbox
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Reset your password"
    link = reset_link(mail_outbox)

    form = client.get(link)
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "same-origin"
    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=True)
    assert "Your password has been changed" in done.get_data(as_text=True)
    notice = mail_outbox[-1]
    assert (notice["To"], notice["Subject"]) == ("ann@example.com", "Your password was changed")

    assert auth.login("ann@example.com").status_code == 200
    assert auth.login("ann@example.com", NEW_PASSWORD).status_code == 302


def test_the_reset_email_leaves_only_after_the_response(client, mail_outbox):
    # Sent during the request, it would make an existing account answer measurably slower.
    make_user("ann@example.com")
    db.session.commit()
    response = client.post("/auth/reset", data={"email": "ann@example.com"}, buffered=False)
    assert response.status_code == 302
    assert mail_outbox == []
    response.close()
    assert [message["To"] for message in mail_outbox] == ["ann@example.com"]


def test_reset_for_unknown_email_says_the_same_and_sends_nothing(client, mail_outbox):
    make_user("ann@example.com")
    db.session.commit()
    known = request_reset(client, "ann@example.com").get_data(as_text=True)
    unknown = request_reset(client, "nobody@example.com").get_data(as_text=True)
    message = "If an account exists for that email address, we have sent it a link"
    assert message in known and message in unknown
    assert len(mail_outbox) == 1


def test_reset_link_works_only_once(client, mail_outbox):
    make_user("ann@example.com")
    db.session.commit()
    request_reset(client, "ann@example.com")
    link = reset_link(mail_outbox)
    client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    again = client.post(link, data={"password": "another fine password", "confirm": "another fine password"},
                        follow_redirects=True)
    assert "already been used or is no longer valid" in again.get_data(as_text=True)
    assert verify_password(users()[0].password_hash, NEW_PASSWORD)


def test_reset_link_dies_when_the_password_changes_another_way(client, auth, mail_outbox):
    make_user("ann@example.com")
    db.session.commit()
    request_reset(client, "ann@example.com")
    link = reset_link(mail_outbox)
    auth.login("ann@example.com")
    client.post("/account/password", data={
        "current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    response = client.get(link, follow_redirects=True)
    assert "already been used or is no longer valid" in response.get_data(as_text=True)


def test_expired_reset_link_is_refused(client, mail_outbox, monkeypatch):
    make_user("ann@example.com")
    db.session.commit()
    request_reset(client, "ann@example.com")
    link = reset_link(mail_outbox)
    later = int(time.time()) + 3601
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: later)
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=True)
    assert "invalid or has expired" in response.get_data(as_text=True)
    assert verify_password(users()[0].password_hash, DEFAULT_PASSWORD)


@pytest.mark.parametrize("tamper", [
    # The last base64 character may carry padding bits, so alter the one before it.
    lambda token: token[:-2] + ("B" if token[-2] == "A" else "A") + token[-1],
    lambda token: "x" + token,
    lambda token: "garbage",
    lambda token: "%00",
])
def test_tampered_reset_link_is_refused(client, mail_outbox, tamper):
    make_user("ann@example.com")
    db.session.commit()
    request_reset(client, "ann@example.com")
    token = reset_link(mail_outbox).removeprefix("/auth/reset/")
    link = "/auth/reset/" + tamper(token)
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=True)
    assert response.status_code == 200
    assert "invalid or has expired" in response.get_data(as_text=True)
    assert verify_password(users()[0].password_hash, DEFAULT_PASSWORD)


def test_reset_refuses_a_common_or_mismatched_new_password(client, mail_outbox):
    make_user("ann@example.com")
    db.session.commit()
    request_reset(client, "ann@example.com")
    link = reset_link(mail_outbox)
    common = client.post(link, data={"password": "password123", "confirm": "password123"})
    assert "one of the most common passwords" in common.get_data(as_text=True)
    mismatched = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"})
    assert "The two passwords do not match." in mismatched.get_data(as_text=True)
    assert verify_password(users()[0].password_hash, DEFAULT_PASSWORD)


def test_reset_requests_are_throttled_per_email(client, mail_outbox):
    make_user("ann@example.com")
    db.session.commit()
    for number in range(5):
        client.post("/auth/reset", data={"email": "ann@example.com"}, environ_base={"REMOTE_ADDR": f"10.0.0.{number}"})
    blocked = client.post("/auth/reset", data={"email": "ann@example.com"}, environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert blocked.status_code == 429
    assert len(mail_outbox) == 5


def test_reset_request_with_invalid_email_shows_the_form_error(client, mail_outbox):
    response = client.post("/auth/reset", data={"email": ""})
    assert response.status_code == 200
    assert "Please enter your email address." in response.get_data(as_text=True)
    assert mail_outbox == []


def test_over_https_the_reset_form_posts_with_the_referer_its_policy_lets_through(client, mail_outbox):
    # Over HTTPS Flask-WTF wants a same-site Referer on every form. "no-referrer" on the reset page
    # (the token is in its address) made the browser send none, and the new password was refused.
    make_user("ann@example.com", name="Ann")
    db.session.commit()
    request_reset(client, "ann@example.com")
    link = reset_link(mail_outbox)
    page = client.get(link, base_url="https://localhost")
    assert page.headers["Referrer-Policy"] == "same-origin"  # the token never leaves the shop
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}

    refused = client.post(link, data=data, base_url="https://localhost")
    assert refused.status_code == 400

    done = client.post(link, data=data, base_url="https://localhost",
                       headers={"Referer": "https://localhost" + link}, follow_redirects=True)
    assert "Your password has been changed" in done.get_data(as_text=True)
