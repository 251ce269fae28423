"""Two browsers on the same cached pages: a logged-in shopper with a cart and an anonymous visitor each see
only their own header, cart, messages and form tokens, on pages the other's visit left in the cache."""
import re

import pytest

from shop.extensions import db
from tests.browser.actions import follow, log_in
from tests.factories import DEFAULT_PASSWORD, make_category, make_product, make_user

pytestmark = pytest.mark.browser

ADDED = "Added 1 × Camp Mug to your cart."


def header_of(tab) -> dict:
    """Return what the header shows the visitor: who they are and their cart."""
    account = tab.get_by_role("navigation", name="Account")
    return {
        "logged in": account.get_by_role("link", name=re.compile(r"^Your account")).count() == 1,
        "log in link": account.get_by_role("link", name="Log in").count() == 1,
        "cart": tab.get_by_test_id("cart-count").inner_text(),
    }


def add_to_cart_token(tab) -> str:
    return tab.locator("form.add-to-cart input[name=csrf_token]").get_attribute("value")


def test_a_shopper_and_a_visitor_share_cached_pages_but_nothing_of_their_own(live_url, page, browser):
    kitchen = make_category("Kitchen")
    mug = make_product("Camp Mug", category=kitchen, price_cents=850, stock=40, is_featured=True)
    make_user("walker@example.com", name="Wren Walker")
    db.session.commit()
    pages = [f"{live_url}/", f"{live_url}/categories/{kitchen.slug}", f"{live_url}/products/{mug.slug}"]
    product_page = pages[-1]

    shopper = page
    log_in(shopper, f"{live_url}/auth/login", "walker@example.com", DEFAULT_PASSWORD)
    for url in pages:
        shopper.goto(url)
    follow(shopper.get_by_role("button", name="Add to cart"))
    assert shopper.get_by_role("status").inner_text() == ADDED
    assert header_of(shopper) == {"logged in": True, "log in link": False, "cart": "1"}
    shopper_token = add_to_cart_token(shopper)

    other = browser.new_context()
    try:
        visitor = other.new_page()
        for url in pages:
            response = visitor.goto(url)
            assert response.headers.get("x-page-cache") == "hit", url
            assert header_of(visitor) == {"logged in": False, "log in link": True, "cart": "0"}, url
            assert ADDED not in visitor.content() and "Wren Walker" not in visitor.content(), url
        visitor_token = add_to_cart_token(visitor)
        assert visitor_token != shopper_token

        follow(visitor.get_by_role("button", name="Add to cart"))
        assert visitor.get_by_role("status").inner_text() == ADDED
        assert header_of(visitor)["cart"] == "1"
    finally:
        other.close()

    response = shopper.goto(product_page)
    assert response.headers.get("x-page-cache") == "hit"
    assert header_of(shopper) == {"logged in": True, "log in link": False, "cart": "1"}
    assert shopper.get_by_role("status").count() == 0, "the flash was shown once, and the visitor's never"
    assert add_to_cart_token(shopper) != visitor_token
