"""The order state machine against a real database: placement, payment, release, refund."""
import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Coupon, CouponKind, Order, OutboxEmail, StockMovement
from shop.models.base import now_utc
from shop.services import ShopError, refunds
from shop.services.lifecycle import SYSTEM
from shop.services.orders import (
    OutOfStock,
    cancel_order,
    expire_order,
    mark_payment_processing,
    place_order,
    record_payment,
    record_payment_failure,
    release_expired_reservations,
)
from tests.factories import make_product, stock


@pytest.fixture
def mug(app):
    variant = make_product("Mug", price_cents=1250, stock=5).variants[0]
    db.session.commit()
    return variant


def fresh(order_id: int) -> Order:
    return db.session.scalar(sa.select(Order).where(Order.id == order_id).execution_options(populate_existing=True))


def pay(order_id: int, **overrides) -> bool:
    order = fresh(order_id)
    values = {"amount_cents": order.total_cents, "currency": order.currency, "reference": f"test_{order_id}",
              "provider": "test"}
    values.update(overrides)
    return record_payment(order_id, **values)


def emails_to(address: str) -> list[OutboxEmail]:
    return list(db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.recipient == address)))


def test_place_order_snapshots_items_reserves_stock_and_records_the_movement(app, mug, details):
    order = place_order({mug.id: 2}, details(), user_id=None)
    order = fresh(order.id)
    assert re.fullmatch(r"SH-[2-9A-HJ-NP-Z]{6}", order.number)
    assert (order.status, order.payment_status, order.stock_reserved) == ("pending", "unpaid", True)
    assert order.subtotal_cents == 2500 and order.shipping_cents == 599 and order.total_cents == 3099
    assert [(i.product_name, i.sku, i.unit_price_cents, i.quantity) for i in order.items] == [("Mug", mug.sku, 1250, 2)]
    assert timedelta(minutes=59) < order.reserved_until - now_utc() <= timedelta(minutes=60)
    assert stock(mug) == 3
    movements = db.session.scalars(sa.select(StockMovement).where(StockMovement.order_id == order.id)).all()
    assert [(m.variant_id, m.delta, m.reason) for m in movements] == [(mug.id, -2, "reserve")]


def test_reservation_length_follows_the_setting(app, mug, details):
    app.config["RESERVATION_MINUTES"] = 15
    order = fresh(place_order({mug.id: 1}, details(), user_id=None).id)
    assert timedelta(minutes=14) < order.reserved_until - now_utc() <= timedelta(minutes=15)


def test_a_short_line_reserves_nothing_and_names_the_line(app, mug, details):
    lamp = make_product("Desk Lamp", stock=1, variants=[{"size": "", "colour": "Brass", "stock": 1}]).variants[0]
    db.session.commit()
    with pytest.raises(OutOfStock, match=r"only 1 of “Desk Lamp \(Brass\)” left"):
        place_order({mug.id: 2, lamp.id: 3}, details(), user_id=None)
    assert (stock(mug), stock(lamp)) == (5, 1)
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(StockMovement.id))) == 0


def test_placement_rejects_a_bad_coupon_and_a_vanished_product(app, mug, details):
    with pytest.raises(ShopError, match="not valid"):
        place_order({mug.id: 1}, details(coupon_code="BOGUS"), user_id=None)
    with pytest.raises(ShopError, match="no longer available"):
        place_order({mug.id: 1, 999_999: 1}, details(), user_id=None)
    assert stock(mug) == 5


def test_payment_marks_paid_once_keeps_the_sale_and_queues_one_email(app, mug, details):
    order_id = place_order({mug.id: 2}, details(), user_id=None).id
    assert pay(order_id) is True
    assert pay(order_id) is False
    order = fresh(order_id)
    assert (order.status, order.payment_status, order.stock_reserved) == ("paid", "paid", False)
    assert order.paid_at is not None
    assert stock(mug) == 3
    [email] = emails_to("guest@example.com")
    assert order.number in email.subject and order.number in email.body_text
    assert "2 × Mug" in email.body_text and "$30.99" in email.body_text and "12 High Street" in email.body_text
    assert f"/orders/{order.number}?token=" in email.body_html


@pytest.mark.parametrize("overrides", [{"amount_cents": 3098}, {"currency": "eur"}])
def test_wrong_amount_or_currency_flags_the_order_and_does_not_mark_it_paid(app, mug, details, overrides):
    order_id = place_order({mug.id: 2}, details(), user_id=None).id
    assert pay(order_id, **overrides) is False
    order = fresh(order_id)
    assert (order.status, order.payment_status) == ("pending", "unpaid")
    assert order.needs_attention and "amount mismatch" in order.attention_reason
    assert emails_to("guest@example.com") == []
    assert pay(order_id) is True


@pytest.mark.parametrize("late_call", [
    lambda order_id: expire_order(order_id),
    lambda order_id: cancel_order(order_id, "shopper cancelled"),
    lambda order_id: record_payment_failure(order_id, "card declined"),
    lambda order_id: mark_payment_processing(order_id),
])
def test_events_after_payment_never_regress_a_paid_order(app, mug, details, late_call):
    order_id = place_order({mug.id: 2}, details(), user_id=None).id
    pay(order_id)
    assert late_call(order_id) is False
    order = fresh(order_id)
    assert (order.status, order.payment_status) == ("paid", "paid")
    assert stock(mug) == 3


def test_async_payment_keeps_the_reservation_until_it_settles(app, mug, details):
    order_id = place_order({mug.id: 1}, details(), user_id=None).id
    assert mark_payment_processing(order_id) is True
    assert mark_payment_processing(order_id) is False
    db.session.execute(sa.update(Order).values(reserved_until=now_utc() - timedelta(minutes=1)))
    db.session.commit()
    assert release_expired_reservations() == 0
    assert stock(mug) == 4 and fresh(order_id).payment_status == "processing"
    assert pay(order_id) is True
    assert fresh(order_id).status == "paid" and stock(mug) == 4


def test_failed_async_payment_cancels_and_gives_the_stock_back(app, mug, details):
    order_id = place_order({mug.id: 2}, details(), user_id=None).id
    mark_payment_processing(order_id)
    assert record_payment_failure(order_id, "bank debit failed") is True
    assert record_payment_failure(order_id, "bank debit failed") is False
    order = fresh(order_id)
    assert (order.status, order.payment_status, order.stock_reserved) == ("cancelled", "failed", False)
    assert stock(mug) == 5


@pytest.mark.parametrize("close", [
    lambda order_id: expire_order(order_id),
    lambda order_id: cancel_order(order_id, "shopper cancelled"),
])
def test_closing_an_unpaid_order_releases_its_stock_exactly_once(app, mug, details, close):
    order_id = place_order({mug.id: 2}, details(), user_id=None).id
    assert close(order_id) is True
    assert close(order_id) is False
    assert expire_order(order_id) is False and cancel_order(order_id, "again") is False
    assert stock(mug) == 5
    reasons = db.session.scalars(sa.select(StockMovement.delta).where(StockMovement.order_id == order_id)).all()
    assert sorted(reasons) == [-2, 2]


def test_late_payment_after_release_takes_the_stock_again_when_it_is_there(app, mug, details):
    order_id = place_order({mug.id: 2}, details(), user_id=None).id
    expire_order(order_id)
    assert stock(mug) == 5
    assert pay(order_id) is True
    order = fresh(order_id)
    assert (order.status, order.payment_status, order.needs_attention) == ("paid", "paid", False)
    assert stock(mug) == 3
    assert len(emails_to("guest@example.com")) == 1


def test_late_payment_without_stock_is_paid_but_flagged_stock_short(app, mug, details):
    order_id = place_order({mug.id: 2}, details(), user_id=None).id
    expire_order(order_id)
    rival = place_order({mug.id: 4}, details(email="rival@example.com"), user_id=None)
    assert stock(mug) == 1
    assert pay(order_id) is True
    order = fresh(order_id)
    assert (order.status, order.payment_status) == ("paid", "paid")
    assert order.needs_attention and "stock short" in order.attention_reason and mug.sku in order.attention_reason
    assert stock(mug) == 1  # nothing taken, never negative
    assert len(emails_to("guest@example.com")) == 1
    assert fresh(rival.id).status == "pending"


def test_coupon_usage_is_counted_once_and_only_when_paid(app, mug, details):
    db.session.add(Coupon(code="WELCOME10", kind=CouponKind.PERCENT, value=10))
    db.session.commit()
    paid_id = place_order({mug.id: 2}, details(coupon_code="welcome10"), user_id=None).id
    unpaid_id = place_order({mug.id: 1}, details(coupon_code="WELCOME10"), user_id=None).id
    cancel_order(unpaid_id, "changed my mind")

    def used() -> int:
        return db.session.scalar(sa.select(Coupon.times_used).execution_options(populate_existing=True))

    assert used() == 0
    assert fresh(paid_id).discount_cents == 250 and fresh(paid_id).coupon_code == "WELCOME10"
    pay(paid_id)
    pay(paid_id)
    assert used() == 1


def test_sweep_expires_only_overdue_unpaid_reservations(app, mug, details):
    overdue = place_order({mug.id: 1}, details(), user_id=None).id
    current = place_order({mug.id: 1}, details(), user_id=None).id
    paid = place_order({mug.id: 1}, details(), user_id=None).id
    pay(paid)
    past = now_utc() - timedelta(seconds=1)
    db.session.execute(sa.update(Order).where(Order.id.in_([overdue, paid])).values(reserved_until=past))
    db.session.commit()
    assert stock(mug) == 2

    assert release_expired_reservations() == 1
    assert release_expired_reservations() == 0
    assert [fresh(i).status for i in (overdue, current, paid)] == ["expired", "pending", "paid"]
    assert stock(mug) == 3
    assert release_expired_reservations(now=now_utc() + timedelta(hours=2)) == 1
    assert stock(mug) == 4


def test_release_expired_command_reports_what_it_released(app, mug, details):
    order_id = place_order({mug.id: 2}, details(), user_id=None).id
    db.session.execute(sa.update(Order).values(reserved_until=now_utc() - timedelta(minutes=1)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["shop", "release-expired"])
    assert result.exit_code == 0
    assert "Released the reservations of 1 expired order(s)." in result.output
    assert fresh(order_id).status == "expired" and stock(mug) == 5


def test_placing_an_order_sweeps_overdue_reservations_first(app, details):
    last = make_product("Last One", stock=1).variants[0]
    db.session.commit()
    abandoned = place_order({last.id: 1}, details(), user_id=None).id
    db.session.execute(sa.update(Order).values(reserved_until=now_utc() - timedelta(minutes=1)))
    db.session.commit()
    place_order({last.id: 1}, details(email="next@example.com"), user_id=None)
    assert fresh(abandoned).status == "expired" and stock(last) == 0


def test_cancelling_a_paid_order_refunds_and_restocks_once(app, mug, details):
    order_id = place_order({mug.id: 2}, details(), user_id=None).id
    pay(order_id)
    assert "cancelled and" in refunds.cancel(order_id, SYSTEM)
    assert "already cancelled" in refunds.cancel(order_id, SYSTEM)
    order = fresh(order_id)
    assert (order.status, order.payment_status, order.refunded_cents) == ("cancelled", "refunded", order.total_cents)
    assert stock(mug) == 5
    assert pay(order_id) is False and fresh(order_id).status == "cancelled"


def test_cancelling_a_stock_short_order_returns_nothing_it_never_took(app, mug, details):
    order_id = place_order({mug.id: 2}, details(), user_id=None).id
    expire_order(order_id)
    place_order({mug.id: 5}, details(email="rival@example.com"), user_id=None)
    pay(order_id)
    assert fresh(order_id).needs_attention
    refunds.cancel(order_id, SYSTEM)
    order = fresh(order_id)
    assert order.status == "cancelled" and not order.needs_attention
    assert stock(mug) == 0


def test_an_unpaid_order_cannot_be_refunded(app, mug, details):
    order_id = place_order({mug.id: 2}, details(), user_id=None).id
    with pytest.raises(ShopError, match="nothing to refund"):
        refunds.refund(order_id, refunds.RefundRequest(amount_cents=100), SYSTEM)
    assert fresh(order_id).status == "pending"


def test_zero_decimal_currency_orders_are_paid_in_whole_units(app, details):
    app.config["CURRENCY"] = "jpy"
    tea = make_product("Tea", price_cents=1200, stock=3).variants[0]
    db.session.commit()
    order_id = place_order({tea.id: 2}, details(), user_id=None).id
    order = fresh(order_id)
    assert (order.currency, order.total_cents) == ("jpy", 2400 + 599)
    assert pay(order_id, amount_cents=299_900) is False
    assert pay(order_id, amount_cents=2999) is True


def test_a_payment_applied_outside_any_request_queues_its_email_with_the_shops_address(app, mug, details):
    # reconcile-payments runs from cron: no request, so no header, cart or request host to draw on.
    # (pytest-flask pushes a request context in the test's own thread, so this runs in another.)
    app.config["BASE_URL"] = "https://shop.example"
    order_id = place_order({mug.id: 1}, details(), user_id=None).id
    db.session.commit()
    outcome: list[object] = []

    def cron_job() -> None:
        with app.app_context():
            try:
                outcome.append(pay(order_id))
            except Exception as error:  # asserted below
                outcome.append(error)
            finally:
                db.session.remove()

    worker = threading.Thread(target=cron_job)
    worker.start()
    worker.join(timeout=30)

    assert outcome == [True]
    (email,) = emails_to("guest@example.com")
    assert f"https://shop.example/orders/{fresh(order_id).number}?token=" in email.body_text
