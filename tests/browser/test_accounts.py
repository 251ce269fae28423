"""A new shopper's account journey in a real browser, without JavaScript."""
import re

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import User
from tests.browser.actions import follow

pytestmark = pytest.mark.browser

PASSWORD = "plum tangerine orbit"
NEW_PASSWORD = "copper lantern meadow"


@pytest.fixture
def page(browser):
    """A browser page with JavaScript off: every account page must work as plain forms."""
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def log_in(page, live_url, email, password):
    page.goto(live_url + "/auth/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password").fill(password)
    follow(page.get_by_role("button", name="Log in"))


def test_register_log_out_log_in_reset_addresses_and_delete(live_url, page, delivered):
    page.goto(live_url + "/")
    follow(page.get_by_role("link", name="Register"))
    page.get_by_label("Email", exact=True).fill("Nora@Example.com")
    page.get_by_label("Name").fill("Nora New")
    page.get_by_label("Password", exact=True).fill("password123")
    page.get_by_label("Repeat the password").fill("password123")
    follow(page.get_by_role("button", name="Create account"))
    assert "one of the most common passwords" in page.content()

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    follow(page.get_by_role("button", name="Create account"))
    assert "Your account is ready." in page.content()
    assert page.get_by_role("link", name="Your account (Nora New)").is_visible()
    [confirmation] = delivered()
    assert confirmation["Subject"] == "Confirm your email address"

    follow(page.get_by_role("button", name="Log out"))
    assert "You have been logged out." in page.content()
    log_in(page, live_url, "nora@example.com", "wrong password")
    assert "Incorrect email or password." in page.content()
    log_in(page, live_url, "nora@example.com", PASSWORD)
    assert "Welcome back, Nora New." in page.content()
    follow(page.get_by_role("button", name="Log out"))

    page.goto(live_url + "/auth/login")
    follow(page.get_by_role("link", name="Forgot your password?"))
    page.get_by_label("Email", exact=True).fill("nora@example.com")
    follow(page.get_by_role("button", name="Send the link"))
    assert "If an account exists for that email address" in page.content()
    [_, message] = delivered()
    link = re.search(r"http://\S+/auth/reset/\S+", message.get_body(("plain",)).get_content()).group(0)
    page.goto(link)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    follow(page.get_by_role("button", name="Change password"))
    assert "Your password has been changed" in page.content()
    log_in(page, live_url, "nora@example.com", NEW_PASSWORD)
    assert "Welcome back" in page.content()

    follow(page.get_by_role("link", name="Your account (Nora New)"))
    follow(page.get_by_role("link", name="Addresses"))
    for line1, city in (("12 Elm Road", "Leeds"), ("3 Oak Lane", "York")):
        follow(page.get_by_role("link", name="Add an address"))
        page.get_by_label("Full name").fill("Nora New")
        page.get_by_label("Address line 1").fill(line1)
        page.get_by_label("City").fill(city)
        page.get_by_label("Postal code").fill("LS1 4AB")
        page.get_by_label("Country").select_option("GB")
        follow(page.get_by_role("button", name="Save address"))
        assert "The address has been added." in page.content()
    cards = page.get_by_test_id("address")
    assert cards.count() == 2
    assert "Default shipping address" in cards.nth(0).inner_text()
    assert "12 Elm Road" in cards.nth(0).inner_text()

    follow(page.get_by_role("button", name="Make default 3 Oak Lane"))
    assert "3 Oak Lane" in page.get_by_test_id("address").nth(0).inner_text()
    follow(page.get_by_role("link", name="Edit 12 Elm Road"))
    page.get_by_label("City").fill("Bradford")
    follow(page.get_by_role("button", name="Save address"))
    assert "Bradford" in page.content()
    follow(page.get_by_role("button", name="Delete 12 Elm Road"))
    assert page.get_by_test_id("address").count() == 1

    follow(page.get_by_role("link", name="Delete account"))
    page.get_by_label("Your password").fill(NEW_PASSWORD)
    follow(page.get_by_role("button", name="Delete my account"))
    assert "Your account has been deleted." in page.content()
    assert page.get_by_role("link", name="Log in").is_visible()
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
