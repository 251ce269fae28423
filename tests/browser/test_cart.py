"""A new shopper fills a cart, hits the stock limit and finds the cart and saved items on another browser."""
import pytest

from shop.extensions import db
from tests.browser.actions import follow
from tests.factories import DEFAULT_PASSWORD, make_category, make_product, make_user

pytestmark = pytest.mark.browser


def log_in(page, live_url, email):
    page.goto(live_url + "/cart")
    follow(page.get_by_role("link", name="Log in").first)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    follow(page.get_by_role("button", name="Log in"))


def test_shopper_fills_the_cart_and_finds_saved_items_on_another_browser(live_url, page, browser):
    gear = make_category("Gear")
    tent = make_product("Alpine Tent", category=gear, price_cents=19900,
                        variants=[{"size": "2P", "stock": 4}, {"size": "3P", "stock": 2, "price_cents": 24900}])
    make_product("Camp Mug", category=gear, price_cents=850, stock=50)
    make_user("walker@example.com", name="Wren Walker")
    db.session.commit()
    tent_slug = tent.slug

    log_in(page, live_url, "walker@example.com")
    page.goto(f"{live_url}/products/{tent_slug}")
    page.get_by_label("Quantity").fill("2")
    follow(page.get_by_role("button", name="Add to cart"))
    assert "Added 2 × Alpine Tent (2P) to your cart." in page.content()
    assert page.get_by_test_id("cart-count").inner_text() == "2"

    follow(page.get_by_role("link", name="3P"))
    page.get_by_label("Quantity").fill("5")
    follow(page.get_by_role("button", name="Add to cart"))
    assert "Only 2 of Alpine Tent (3P) available, so your cart now has 2." in page.content()

    page.get_by_role("searchbox", name="Search products").fill("mug")
    follow(page.get_by_role("button", name="Search"))
    follow(page.get_by_role("link", name="Camp Mug"))
    follow(page.get_by_role("button", name="Add to cart"))
    assert page.get_by_test_id("cart-count").inner_text() == "5"

    follow(page.get_by_role("link", name="Cart"))
    assert page.get_by_test_id("cart-line").count() == 3
    assert page.get_by_test_id("subtotal").inner_text() == "$904.50"

    page.get_by_label("Quantity of Camp Mug").fill("3")
    follow(page.get_by_test_id("cart-line").filter(has_text="Camp Mug").get_by_role("button", name="Update"))
    assert "Updated Camp Mug to 3." in page.content()
    assert page.get_by_test_id("subtotal").inner_text() == "$921.50"

    follow(page.get_by_role("button", name="Remove Alpine Tent (3P)"))
    assert "Removed Alpine Tent (3P) from your cart." in page.content()
    assert page.get_by_test_id("cart-line").count() == 2

    follow(page.get_by_role("button", name="Save for later: Alpine Tent (2P)"))
    assert "Saved Alpine Tent (2P) for later." in page.content()
    assert page.get_by_test_id("cart-line").count() == 1
    assert page.get_by_test_id("saved-line").count() == 1

    other = browser.new_context()
    try:
        second = other.new_page()
        log_in(second, live_url, "walker@example.com")
        second.goto(live_url + "/cart")
        # The cart is kept with the account too: the mugs came along.
        assert second.get_by_test_id("cart-line").count() == 1
        assert "Camp Mug" in second.get_by_test_id("cart-line").inner_text()
        saved = second.get_by_test_id("saved-line")
        assert saved.count() == 1 and "Alpine Tent" in saved.inner_text()
        follow(second.get_by_role("button", name="Move to cart: Alpine Tent (2P)"))
        assert "Moved Alpine Tent (2P) to your cart." in second.content()
        assert second.get_by_test_id("cart-line").count() == 2
        assert second.get_by_test_id("cart-count").inner_text() == "5"
    finally:
        other.close()
