"""The issue's "done when", as a new shopper on a 390 px phone with JavaScript off.

Browse from the header's menu, narrow a category to a subcategory, open a product, switch photos,
add two variants, check out as a guest to Portland, Oregon with a coupon, pay in test mode and read
the branded confirmation email; then a registered shopper fills a cart on one phone and finds it
on another after logging in there. No page may scroll sideways on the way.
"""
import re
from urllib.parse import quote_plus

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order
from shop.services.demo import seed_demo
from tests.browser.actions import fill_address, follow, log_in
from tests.browser.conftest import STOREFRONT_PRODUCTS, showcase_tee
from tests.browser.site_map import PHONE
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.browser

SHOP_NAME = "Harbour Goods"
COUPON = "WELCOME10"  # the demo's 10% coupon


@pytest.fixture
def app_overrides():
    return {"SHOP_NAME": SHOP_NAME, "CONTACT_EMAIL": "hello@harbour.example"}


@pytest.fixture
def tee(app):
    """Seed the demo catalogue and a registered shopper; return the tee the journey buys."""
    seed_demo(STOREFRONT_PRODUCTS)
    make_user("rita@example.com", name="Rita Regular")
    product = showcase_tee()
    in_stock = [variant for variant in product.variants if variant.stock > 0]
    assert len(product.images) >= 2 and len(in_stock) >= 3, "the demo tee needs two photos and three variants"
    db.session.commit()
    return {"name": product.name, "category": product.category.parent.name, "subcategory": product.category.name,
            "photos": [image.filename for image in product.images],
            "variants": [(variant.id, [value for value in (variant.option1, variant.option2) if value])
                         for variant in in_stock]}


@pytest.fixture
def phone(browser):
    """Return a function opening a new phone with JavaScript off (own cookies: another device)."""
    contexts = []

    def open_phone():
        context = browser.new_context(java_script_enabled=False, viewport=PHONE)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_phone
    for context in contexts:
        context.close()


def fits(page) -> None:
    document_width, window_width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert document_width <= window_width, f"{page.url} scrolls sideways: {document_width} px wide"


def choose_variant(page, variant_id: int, values: list[str]) -> None:
    """Pick each option value of a variant from the product page's picker links, then check the pick."""
    for position, value in enumerate(values, start=1):
        option = page.get_by_test_id(f"option-{position}")
        follow(option.get_by_role("link", name=re.compile(rf"^{re.escape(value)}\b")))
    assert page.locator("form.add-to-cart input[name=variant_id]").input_value() == str(variant_id)


def add_to_cart(page) -> None:
    follow(page.get_by_role("button", name="Add to cart"))
    fits(page)


def test_a_new_shopper_buys_on_a_phone_without_javascript(live_url, phone, tee, delivered, artifacts):
    page = phone()
    page.goto(live_url)
    fits(page)

    # Browse: the categories fold behind "Menu", which opens without JavaScript.
    categories = page.get_by_role("navigation", name="Categories")
    assert not categories.get_by_role("link", name=tee["category"]).is_visible()
    page.locator("summary", has_text="Menu").click()
    follow(categories.get_by_role("link", name=tee["category"]))
    assert page.inner_text("h1") == tee["category"]
    fits(page)
    follow(page.get_by_role("main").get_by_role("link", name=tee["subcategory"], exact=True))
    assert page.inner_text("h1") == tee["subcategory"]
    fits(page)

    # The product: the thumbnails are links that show another photo.
    follow(page.get_by_role("main").get_by_role("link", name=tee["name"]).first)
    assert page.inner_text("h1") == tee["name"]
    main_photo = page.get_by_test_id("main-image").locator("img")
    assert main_photo.get_attribute("src").endswith(tee["photos"][0])
    follow(page.get_by_role("link", name=f"Show photo 2 of {len(tee['photos'])}"))
    assert "image=" in page.url and main_photo.get_attribute("src").endswith(tee["photos"][1])
    fits(page)

    # Two variants into the cart.
    (first_id, first_values), (second_id, second_values) = tee["variants"][:2]
    choose_variant(page, first_id, first_values)
    add_to_cart(page)
    choose_variant(page, second_id, second_values)
    add_to_cart(page)
    assert page.get_by_test_id("cart-count").inner_text() == "2"
    follow(page.get_by_role("link", name=re.compile(r"^Cart")))
    assert page.get_by_test_id("cart-line").count() == 2
    fits(page)

    # Checkout as a guest to Portland, Oregon, with a coupon: the summary shows it before paying.
    follow(page.get_by_role("link", name="Checkout"))
    page.get_by_label("Email", exact=True).fill("gina@example.com")
    fill_address(page, line1="1 SW Main St", city="Portland", postal_code="97201", country="US", region="Oregon")
    page.get_by_label("Coupon code").fill(COUPON)
    follow(page.get_by_role("button", name="Update summary"))
    assert page.get_by_test_id("discount").is_visible(), "the coupon gives no discount"
    assert page.get_by_label("City").input_value() == "Portland", "the form forgot what was typed"
    fits(page)
    follow(page.get_by_role("button", name="Place order and pay"))

    # Pay in test mode.
    assert page.get_by_test_id("test-mode").is_visible()
    follow(page.get_by_role("button", name="Pay"))
    db.session.rollback()
    order = db.session.scalar(sa.select(Order).order_by(Order.id.desc()))
    assert f"Order {order.number} is confirmed" in page.inner_text("h1")
    assert (order.coupon_code, order.ship_region, order.payment_status) == (COUPON, "OR", "paid")
    fits(page)

    # The confirmation email: the shop's name heads it, and the address reads as the US post writes it.
    [confirmation] = [message for message in delivered() if message["Subject"] == f"Your order {order.number}"]
    assert "Portland, OR 97201" in confirmation.get_body(("plain",)).get_content()
    email = phone()
    email.set_content(confirmation.get_body(("html",)).get_content())
    assert email.get_by_test_id("email-header").inner_text() == SHOP_NAME
    assert "Portland, OR 97201" in email.inner_text("body")
    email.screenshot(path=str(artifacts / "confirmation-email-390.png"), full_page=True)


def test_a_cart_filled_on_one_phone_is_there_on_another_after_logging_in(live_url, phone, tee):
    (first_id, first_values), _, (third_id, third_values) = tee["variants"][:3]

    # On the first phone, logged in: one tee into the cart.
    first = phone()
    log_in(first, f"{live_url}/auth/login", "rita@example.com", DEFAULT_PASSWORD)
    first.goto(f"{live_url}/search?q={quote_plus(tee['name'])}")
    follow(first.get_by_role("main").get_by_role("link", name=tee["name"]).first)
    choose_variant(first, first_id, first_values)
    add_to_cart(first)

    # On the second phone, a guest's tee first; logging in brings the account's cart and keeps both.
    second = phone()
    second.goto(f"{live_url}/search?q={quote_plus(tee['name'])}")
    follow(second.get_by_role("main").get_by_role("link", name=tee["name"]).first)
    choose_variant(second, third_id, third_values)
    add_to_cart(second)
    log_in(second, f"{live_url}/auth/login", "rita@example.com", DEFAULT_PASSWORD)
    follow(second.get_by_role("link", name=re.compile(r"^Cart")))
    lines = second.get_by_test_id("cart-line")
    assert lines.count() == 2
    assert all(tee["name"] in line for line in lines.all_inner_texts())
    fits(second)
