"""A coupon with a usage limit is never used more often than the limit, however many shoppers race."""
from datetime import timedelta

import sqlalchemy as sa

from shop.extensions import db
from shop.models import Coupon, CouponKind, Order
from shop.models.base import now_utc
from shop.services import ShopError
from shop.services.orders import place_order, record_payment, release_expired_reservations
from tests.concurrency import all_at_once
from tests.factories import make_product

SHOPPERS = 12
LIMIT = 3


def make_limited_coupon() -> None:
    db.session.add(Coupon(code="FIRST3", kind=CouponKind.PERCENT, value=20, usage_limit=LIMIT))
    db.session.commit()


def pay(order_id: int) -> bool:
    order = db.session.get(Order, order_id)
    return record_payment(order_id, amount_cents=order.total_cents, currency=order.currency,
                          reference=f"test_{order_id}", provider="test")


def times_used() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(Coupon.times_used).execution_options(populate_existing=True))


def test_racing_shoppers_never_use_a_coupon_past_its_limit(app, details):
    variant_id = make_product("Sale Scarf", stock=100).variants[0].id
    make_limited_coupon()

    def shop(index: int, together) -> bool:
        with app.app_context():
            together()
            try:
                order = place_order({variant_id: 1}, details(email=f"r{index}@example.com", coupon_code="first3"),
                                    None)
                return pay(order.id)
            finally:
                db.session.remove()

    results = all_at_once(SHOPPERS, shop)

    assert results.count(True) == LIMIT, results
    refusals = [result for result in results if result is not True]
    assert all(isinstance(error, ShopError) and "FIRST3 has been used up" in str(error) for error in refusals)
    assert times_used() == LIMIT
    assert db.session.scalar(sa.select(sa.func.count(Order.id)).where(Order.coupon_code == "FIRST3")) == LIMIT


def test_unpaid_orders_hold_their_coupon_use_until_released(app, details):
    variant_id = make_product("Sale Scarf", stock=100).variants[0].id
    make_limited_coupon()
    held = [place_order({variant_id: 1}, details(coupon_code="FIRST3"), None).id for _ in range(LIMIT)]
    try:
        place_order({variant_id: 1}, details(coupon_code="FIRST3"), None)
    except ShopError as error:
        assert "used up" in str(error)
    else:
        raise AssertionError("a fourth unpaid order took the coupon")

    # The first order walks away: its reservation, and its hold on the coupon, run out.
    db.session.execute(sa.update(Order).where(Order.id == held[0]).values(reserved_until=now_utc()))
    db.session.commit()
    assert release_expired_reservations(now=now_utc() + timedelta(seconds=1)) == 1
    fourth = place_order({variant_id: 1}, details(coupon_code="FIRST3"), None).id

    assert all(pay(order_id) for order_id in held[1:] + [fourth])
    assert times_used() == LIMIT
    # The walked-away order is paid late: the money counts, the coupon does not pass its limit.
    assert pay(held[0])
    late = db.session.get(Order, held[0])
    assert late.needs_attention and "coupon FIRST3 was already used up" in late.attention_reason
    assert times_used() == LIMIT
