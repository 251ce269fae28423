"""The whole purchase in a real browser, in test-payment mode (no Stripe keys)."""
import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, ShippingMethod
from tests.browser.actions import fill_address, follow
from tests.factories import DEFAULT_PASSWORD, make_address, make_product, make_user, stock

pytestmark = pytest.mark.browser


@pytest.fixture
def kettle(app):
    db.session.add(ShippingMethod(name="Standard", price_cents=599, free_over_cents=7500))
    product = make_product("Copper Kettle", price_cents=4200, stock=3)
    db.session.commit()
    return product.slug, product.variants[0].id


def latest_order() -> Order:
    db.session.rollback()
    return db.session.scalar(sa.select(Order).order_by(Order.id.desc()))


def add_to_cart_and_check_out(page, live_url, slug: str) -> None:
    page.goto(f"{live_url}/products/{slug}")
    follow(page.get_by_role("button", name="Add to cart"))
    page.goto(f"{live_url}/checkout")


def test_guest_buys_and_pays_in_test_mode(live_url, page, kettle, delivered):
    slug, variant_id = kettle
    add_to_cart_and_check_out(page, live_url, slug)
    assert page.get_by_test_id("total").inner_text() == "$47.99"
    page.get_by_label("Email", exact=True).fill("gina@example.com")
    fill_address(page)
    follow(page.get_by_role("button", name="Place order and pay"))

    assert page.get_by_test_id("test-mode").is_visible()
    assert "No real payment happens here" in page.content()
    assert stock(variant_id) == 2
    follow(page.get_by_role("button", name="Pay"))

    number = latest_order().number
    assert f"Order {number} is confirmed" in page.inner_text("h1")
    assert page.get_by_test_id("cart-count").inner_text() == "0"
    assert latest_order().payment_status == "paid" and stock(variant_id) == 2
    assert [message["Subject"] for message in delivered()] == [f"Your order {number}"]


def test_declined_payment_returns_to_a_full_cart(live_url, page, kettle):
    slug, variant_id = kettle
    add_to_cart_and_check_out(page, live_url, slug)
    page.get_by_label("Email", exact=True).fill("gina@example.com")
    fill_address(page)
    follow(page.get_by_role("button", name="Place order and pay"))
    follow(page.get_by_role("button", name="Decline"))

    assert page.url == f"{live_url}/cart"
    assert "The test payment was declined" in page.content()
    assert page.get_by_test_id("cart-count").inner_text() == "1"
    assert latest_order().status == "cancelled" and stock(variant_id) == 3


def test_logged_in_shopper_buys_with_the_saved_address(live_url, page, kettle):
    slug, variant_id = kettle
    shopper = make_user("lou@example.com", name="Lou Loyal")
    make_address(shopper, full_name="Lou Loyal", line1="7 Quay Road", city="Cork", postal_code="T12",
                 country="IE", is_default=True)
    db.session.commit()
    page.goto(f"{live_url}/auth/login")
    page.get_by_label("Email", exact=True).fill("lou@example.com")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    follow(page.get_by_role("button", name="Log in"))

    add_to_cart_and_check_out(page, live_url, slug)
    assert page.get_by_label("Email", exact=True).input_value() == "lou@example.com"
    assert page.get_by_label("Address", exact=True).input_value() == "7 Quay Road"
    follow(page.get_by_role("button", name="Place order and pay"))
    follow(page.get_by_role("button", name="Pay"))
    assert "is confirmed" in page.inner_text("h1")

    page.goto(f"{live_url}/account/orders")
    number = latest_order().number
    follow(page.get_by_role("link", name=number))
    assert "7 Quay Road" in page.content() and page.get_by_test_id("order-status").inner_text() == "Paid"
