"""Twenty shoppers at once against real gunicorn: no 5xx, exactly the stock sold, nothing stranded.

Run with both of the README's process models, on SQLite and (with TEST_DATABASE_URL) Postgres.
"""
import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, OrderStatus, PaymentStatus, ProductVariant
from tests.concurrency import all_at_once
from tests.factories import make_product
from tests.shopper_http import HttpShopper

BUYERS = 20
STOCK = 12
GENEROUS_LIMITS = {"SHOP_CHECKOUT_LIMIT_PER_IP": "1000 per minute", "SHOP_CHECKOUT_LIMIT_PER_EMAIL": "1000 per minute"}


def buy_all_at_once(base_url: str, slug: str, variant_id: int, quantity: int) -> list[HttpShopper]:
    """Let every buyer fill a cart, then place and pay at the same moment; return the shoppers."""
    shoppers = [HttpShopper(base_url, f"buyer{index}@example.com") for index in range(BUYERS)]

    def shop(index: int, together) -> str:
        shopper = shoppers[index]
        shopper.add_to_cart(slug, variant_id, quantity)
        together()
        placed = shopper.place_order()
        location = placed.headers.get("Location", "")
        if placed.status_code == 303 and "/checkout/test-payment/" in location:
            paid = shopper.pay(location)
            return "paid" if "/checkout/success" in paid.url else f"not paid: {paid.status_code}"
        return "refused" if placed.status_code == 302 else f"error: {placed.status_code}"

    for shopper, outcome in zip(shoppers, all_at_once(BUYERS, shop), strict=True):
        shopper.outcome = outcome if isinstance(outcome, str) else f"exception: {outcome!r}"
    return shoppers


@pytest.mark.parametrize("workers, threads", [(2, 1), (1, 8)], ids=["2 sync workers", "1 worker 8 threads"])
@pytest.mark.parametrize("quantity", [1, 5])
def test_concurrent_buyers_get_exactly_the_stock_without_a_server_error(
        app, gunicorn_shop, shipping_methods, workers, threads, quantity):
    product = make_product("Last Lantern", stock=STOCK)
    variant_id, slug = product.variants[0].id, product.slug
    db.session.commit()
    shop = gunicorn_shop(workers=workers, threads=threads, env=GENEROUS_LIMITS)

    shoppers = buy_all_at_once(shop.url, slug, variant_id, quantity)

    errors = [(shopper.email, step) for shopper in shoppers for step in shopper.server_errors()]
    assert errors == [], f"server errors: {errors}\n{shop.log()[-4000:]}"
    outcomes = sorted(shopper.outcome for shopper in shoppers)
    winners = STOCK // quantity
    assert outcomes == ["paid"] * winners + ["refused"] * (BUYERS - winners), shop.log()[-4000:]

    db.session.rollback()
    orders = list(db.session.scalars(sa.select(Order).execution_options(populate_existing=True)))
    paid = [order for order in orders if order.payment_status == PaymentStatus.PAID]
    assert len(paid) == winners and all(order.status == OrderStatus.PAID for order in paid)
    left = db.session.scalar(sa.select(ProductVariant.stock).where(ProductVariant.id == variant_id))
    assert left == STOCK - winners * quantity
    stranded = [order.number for order in orders if order.reserved_until is not None
                and not (order.status == OrderStatus.PENDING and order.payment_status == PaymentStatus.UNPAID)]
    assert stranded == []
    # Every loser was told the lantern sold out, on the cart page with its cart intact.
    refused = [shopper for shopper in shoppers if shopper.outcome == "refused"]
    for shopper in refused:
        cart_page = shopper.get("/cart").text
        assert "Last Lantern" in cart_page and ("sold out" in cart_page or "left" in cart_page)
