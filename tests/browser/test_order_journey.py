"""After the payment, in a browser with JavaScript off: the owner ships part of an order with
tracking and refunds it in two goes; the shopper follows the parcel and cancels a second order,
which the owner can then no longer ship. The order pages are photographed at phone and desktop width.

Screenshots go to $SCREENSHOT_DIR when it is set (to look at them), else to the test's tmp_path.
"""
import os
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, Shipment, ShippingMethod
from tests.browser.actions import fill_address, follow, log_in
from tests.factories import DEFAULT_PASSWORD, make_product, make_user, stock

pytestmark = pytest.mark.browser

TRACKING = "AB123456789GB"
TRACKING_URL = f"https://www.royalmail.com/track-your-item#/tracking-results/{TRACKING}"
PHONE, DESKTOP = 390, 1280


@pytest.fixture
def shop(app):
    """An owner, Standard shipping at $5.99, a $42.00 kettle (3 in stock) and a $12.00 tea tin (5 in stock)."""
    make_user("owner@example.com", name="Olive Owner", is_admin=True)
    db.session.add(ShippingMethod(name="Standard", price_cents=599, free_over_cents=7500))
    kettle = make_product("Copper Kettle", price_cents=4200, stock=3)
    tin = make_product("Tea Tin", price_cents=1200, stock=5)
    db.session.commit()
    return {"kettle": (kettle.slug, kettle.variants[0].id, kettle.variants[0].sku),
            "tin": (tin.slug, tin.variants[0].id, tin.variants[0].sku)}


def javascript_off(browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": DESKTOP, "height": 900})
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def shopper(browser):
    context = javascript_off(browser)
    yield context.new_page()
    context.close()


@pytest.fixture
def owner_context(browser):
    context = javascript_off(browser)
    yield context
    context.close()


def latest_order() -> Order:
    db.session.rollback()
    return db.session.scalar(sa.select(Order).order_by(Order.id.desc()))


def order_row(number: str) -> Order:
    db.session.rollback()
    return db.session.scalar(sa.select(Order).where(Order.number == number))


def flash(page) -> str:
    return page.locator(".flashes").inner_text()


def buy(page, live_url, lines: dict[str, int]) -> str:
    """Put each product (by slug) in the cart as many times as asked, check out, pay; return the order number."""
    for slug, times in lines.items():
        for _ in range(times):
            page.goto(f"{live_url}/products/{slug}")
            follow(page.get_by_role("button", name="Add to cart"))
    page.goto(f"{live_url}/checkout")
    page.get_by_label("Email", exact=True).fill("gina@example.com")
    fill_address(page)
    follow(page.get_by_role("button", name="Place order and pay"))
    follow(page.get_by_role("button", name="Pay"))
    assert "is confirmed" in page.inner_text("h1")
    number = latest_order().number
    follow(page.get_by_role("link", name="Link to this order"))
    assert page.inner_text("h1") == f"Order {number}"
    return number


def log_in_as_owner(page, live_url) -> None:
    log_in(page, f"{live_url}/admin/", "owner@example.com", DEFAULT_PASSWORD)


def open_order(page, live_url, number: str) -> None:
    page.goto(f"{live_url}/admin/")
    follow(page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Orders"))
    follow(page.get_by_role("link", name=number, exact=True))
    assert page.inner_text("h1") == f"Order {number}"


def ship_the_kettle(page, number: str) -> None:
    form = page.locator("form#ship")
    form.get_by_label("Tea Tin").fill("0")
    form.get_by_label("Carrier", exact=True).select_option("Royal Mail")
    form.get_by_label("Tracking number").fill(TRACKING)
    follow(form.get_by_role("button", name="Ship…"))
    assert page.inner_text("h1") == f"Ship part of order {number}?"
    question = page.locator(".confirm").inner_text()
    assert f"tracking number {TRACKING}" in question and TRACKING_URL in question and "1 × Copper Kettle" in question
    follow(page.get_by_role("button", name="Ship and email the customer"))
    assert "Parcel recorded (1 item(s))" in flash(page)
    assert page.get_by_test_id("status").inner_text() == "paid"  # the tea tin is still to ship
    assert page.get_by_test_id("shipment").get_by_role("link", name=TRACKING).get_attribute("href") == TRACKING_URL


def refund(page, number: str, amount: str) -> None:
    form = page.locator("form#refund")
    form.get_by_label("Amount").fill(amount)
    form.get_by_label("Reason").fill("Tea tin out of stock")
    follow(form.get_by_role("button", name="Refund…"))
    assert page.inner_text("h1") == f"Refund ${amount} on order {number}?"
    follow(page.get_by_role("button", name=f"Refund ${amount}"))
    assert f"${amount} refunded; the customer has been emailed." in flash(page)


def screenshot(page, shots: Path, name: str) -> None:
    """Photograph the page at phone and desktop width; at phone width nothing may scroll sideways."""
    for width in (PHONE, DESKTOP):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        if width == PHONE:
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            assert scroll <= inner, f"{name} scrolls sideways at {width} px: {scroll} px wide"
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": DESKTOP, "height": 900})


def test_the_owner_ships_refunds_and_cannot_ship_what_the_shopper_cancelled(
        live_url, shopper, owner_context, shop, delivered, tmp_path):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    kettle_slug, kettle_id, _ = shop["kettle"]
    tin_slug, tin_id, tin_sku = shop["tin"]

    # The shopper buys two different things.
    first = buy(shopper, live_url, {kettle_slug: 1, tin_slug: 1})
    assert shopper.get_by_test_id("order-total").inner_text() == "$59.99"
    assert (stock(kettle_id), stock(tin_id)) == (2, 4)

    # The owner ships the kettle with its tracking number.
    owner = owner_context.new_page()
    log_in_as_owner(owner, live_url)
    open_order(owner, live_url, first)
    screenshot(owner, shots, "admin-order-to-ship")
    ship_the_kettle(owner, first)

    # The shopper sees the parcel, and the email links to the same tracking page.
    shipped_emails = [m for m in delivered() if m["Subject"] == f"Part of your order {first} has shipped"]
    assert len(shipped_emails) == 1
    body = shipped_emails[0].get_body(("plain",)).get_content()
    assert TRACKING in body and TRACKING_URL in body and "1 × Copper Kettle" in body
    order_link = body.split("See your order at any time: ")[1].split()[0]
    shopper.goto(order_link)
    parcel = shopper.get_by_test_id("parcel")
    assert "Royal Mail" in parcel.inner_text() and "Copper Kettle" in parcel.inner_text()
    assert parcel.get_by_role("link", name=TRACKING).get_attribute("href") == TRACKING_URL

    # The owner refunds part of the order by amount, then what is left.
    refund(owner, first, "5.00")
    assert (owner.get_by_test_id("refunded").inner_text(), owner.get_by_test_id("remaining").inner_text()) == (
        "$5.00", "$54.99")
    assert owner.get_by_test_id("payment-status").inner_text() == "partially refunded"
    rest = owner.get_by_test_id("refundable").inner_text()
    assert rest == "$54.99"
    refund(owner, first, rest.removeprefix("$"))
    assert (owner.get_by_test_id("refunded").inner_text(), owner.get_by_test_id("remaining").inner_text()) == (
        "$59.99", "$0.00")
    assert owner.get_by_test_id("payment-status").inner_text() == "refunded"
    assert owner.locator("form#refund").count() == 0 and owner.locator("form#ship").count() == 0

    shopper.reload()
    assert shopper.get_by_test_id("order-status").inner_text() == "Paid, refunded"
    refund_lines = shopper.get_by_test_id("refund").all_inner_texts()
    assert len(refund_lines) == 2 and "$5.00 refunded" in refund_lines[0] and "$54.99 refunded" in refund_lines[1]
    assert shopper.get_by_role("link", name="Cancel this order").count() == 0

    screenshot(owner, shots, "admin-order-refunded")
    screenshot(shopper, shots, "shopper-order")

    # A second order: the owner has it open when the shopper cancels it.
    second = buy(shopper, live_url, {tin_slug: 2})
    assert stock(tin_id) == 2
    stale = owner_context.new_page()
    open_order(stale, live_url, second)
    assert stale.locator("form#ship").count() == 1

    follow(shopper.get_by_role("link", name="Cancel this order"))
    assert shopper.inner_text("h1") == f"Cancel order {second}?"
    assert "We will refund $29.99" in shopper.locator(".confirm").inner_text()
    screenshot(shopper, shots, "shopper-cancel")
    follow(shopper.get_by_role("button", name="Yes, cancel my order"))
    assert f"Order {second} is cancelled and $29.99 refunded." in flash(shopper)
    assert shopper.get_by_test_id("order-status").inner_text() == "Cancelled and refunded"

    # The stock is back, in the shop and in the back office.
    shopper.goto(f"{live_url}/products/{tin_slug}")
    assert shopper.get_by_test_id("stock").inner_text() == "Only 4 left"
    follow(owner.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Inventory"))
    owner.get_by_label("Search").fill(tin_sku)
    follow(owner.get_by_role("search").get_by_role("button", name="Apply"))
    assert owner.get_by_test_id(f"variant-{tin_id}").get_by_test_id("stock").inner_text() == "4"

    # The cancelled order offers no Ship form, and the form loaded before cannot ship it.
    open_order(owner, live_url, second)
    assert owner.get_by_test_id("status").inner_text() == "cancelled"
    assert owner.locator("form#ship").count() == 0
    form = stale.locator("form#ship")
    form.get_by_label("Carrier", exact=True).select_option("DPD")
    form.get_by_label("Tracking number").fill("15501234567890")
    follow(form.get_by_role("button", name="Ship…"))
    asked = stale.inner_text("h1") if stale.locator(".confirm").count() else None
    if asked:  # checked last, so the refusal itself is checked whatever this page did
        follow(stale.get_by_role("button", name="Ship and email the customer"))
    assert f"Order {second} is cancelled, so it cannot be shipped." in flash(stale)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Shipment.id)).join(Order).where(Order.number == second)) == 0
    assert order_row(second).status == "cancelled"

    # One email per event, none twice; the cancellation says the refund itself.
    emails = delivered()
    assert Counter(message["Subject"] for message in emails) == Counter([
        f"Your order {first}", f"Part of your order {first} has shipped", f"$5.00 refunded on your order {first}",
        f"$54.99 refunded on your order {first}", f"Your order {second}", f"Your order {second} is cancelled"])
    [cancelled] = [message for message in emails if message["Subject"] == f"Your order {second} is cancelled"]
    assert "We have refunded $29.99" in cancelled.get_body(("plain",)).get_content()
    assert asked is None, f"the owner was asked to confirm shipping a cancelled order: {asked!r}"
