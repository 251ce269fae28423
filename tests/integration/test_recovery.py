"""Abandoned-checkout recovery: who gets the one reminder, when, and what its links do."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.database import write_transaction
from shop.extensions import db
from shop.models import EmailOptOut, Order, OrderEvent, OutboxEmail, ProductVariant
from shop.models.base import now_utc
from shop.services import ShopError, recovery
from shop.services.cart import read_cart, write_cart
from shop.services.orders import expire_order, place_order, record_payment
from shop.services.saved_cart import saved_lines
from tests.concurrency import all_at_once
from tests.factories import make_product, make_user

SUBJECT = "You left something in your cart"


@pytest.fixture
def lamp(app):
    variant = make_product("Desk Lamp", price_cents=4500, stock=10).variants[0]
    db.session.commit()
    return variant


def abandon(variant, details, hours_ago: float = 5, consent: bool = True, email: str = "gina@example.com",
            quantity: int = 2) -> Order:
    """Place an order with or without the reminder ticked, let it expire, and date it `hours_ago`."""
    order = place_order({variant.id: quantity}, details(email=email, recovery_consent=consent), None)
    expire_order(order.id)
    with write_transaction():
        db.session.execute(sa.update(Order).where(Order.id == order.id)
                           .values(created_at=now_utc() - timedelta(hours=hours_ago)))
    return db.session.get(Order, order.id)


def reminders() -> list[OutboxEmail]:
    db.session.commit()
    return list(db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.subject == SUBJECT)
                                   .order_by(OutboxEmail.id)))


def links(email: OutboxEmail) -> tuple[str, str]:
    """Return the restore and unsubscribe tokens of a reminder."""
    restore = re.search(r"/checkout/restore/([\w.-]+)", email.body_text)
    stop = re.search(r"/checkout/reminders/stop/([\w.-]+)", email.body_text)
    assert restore and stop, email.body_text
    return restore.group(1), stop.group(1)


def test_one_reminder_after_the_delay_to_a_consenting_shopper(app, lamp, details):
    order = abandon(lamp, details)

    assert recovery.send_reminders() == 1
    assert recovery.send_reminders() == 0, "already reminded"

    [email] = reminders()
    assert email.recipient == "gina@example.com"
    assert "2 × Desk Lamp" in email.body_text and "2 × Desk Lamp" in email.body_html
    assert links(email)
    db.session.refresh(order)
    assert order.recovery_sent_at is not None
    notes = db.session.scalars(sa.select(OrderEvent.note).where(OrderEvent.order_id == order.id))
    assert "checkout reminder sent to gina@example.com" in list(notes), "the admin sees it in the order's history"


def test_no_reminder_before_the_delay_without_consent_or_when_too_old(app, lamp, details):
    abandon(lamp, details, hours_ago=3.5)  # RECOVERY_DELAY_HOURS is 4
    abandon(lamp, details, consent=False, email="silent@example.com")
    abandon(lamp, details, hours_ago=24 * 8, email="late@example.com")

    assert recovery.send_reminders() == 0
    assert reminders() == []


@pytest.mark.parametrize("app_overrides", [{"RECOVERY_DELAY_HOURS": 1}])
def test_the_delay_follows_the_setting(app, lamp, details):
    abandon(lamp, details, hours_ago=1.5)

    assert recovery.send_reminders() == 1


def test_no_reminder_while_the_order_can_still_be_paid_or_once_paid_late(app, lamp, details):
    pending = place_order({lamp.id: 1}, details(email="slow@example.com", recovery_consent=True), None)
    late = abandon(lamp, details, email="late.payer@example.com")
    record_payment(late.id, amount_cents=late.total_cents, currency=late.currency, reference="pi_late",
                   provider="test")
    with write_transaction():
        db.session.execute(sa.update(Order).where(Order.id == pending.id)
                           .values(created_at=now_utc() - timedelta(hours=5)))

    assert recovery.send_reminders() == 0


def test_no_reminder_to_an_address_that_has_since_paid_or_ordered_again(app, lamp, details):
    abandon(lamp, details, email="Back@Example.com", hours_ago=6)
    again = place_order({lamp.id: 1}, details(email="back@example.com"), None)
    record_payment(again.id, amount_cents=again.total_cents, currency=again.currency, reference="pi_1",
                   provider="test")
    abandon(lamp, details, email="twice@example.com", hours_ago=6)
    abandon(lamp, details, email="twice@example.com", hours_ago=5)

    assert recovery.send_reminders() == 1
    [email] = reminders()
    assert email.recipient == "twice@example.com", "only the newer of the two abandoned checkouts"


def test_an_address_that_opted_out_gets_no_reminder(app, lamp, details):
    abandon(lamp, details, email="first@example.com", hours_ago=30)
    recovery.send_reminders()
    _, stop = links(reminders()[0])

    assert recovery.opt_out(stop) == "first@example.com"
    assert recovery.opt_out(stop) == "first@example.com", "a second click changes nothing"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EmailOptOut)) == 1
    abandon(lamp, details, email="FIRST@example.com")

    assert recovery.send_reminders() == 0


def test_two_sweeps_at_once_send_each_reminder_once(app, lamp, details):
    for index in range(3):
        abandon(lamp, details, email=f"shopper{index}@example.com", quantity=1)
    db.session.commit()

    def sweep(index: int, together) -> int:
        with app.app_context():
            together()
            try:
                return recovery.send_reminders()
            finally:
                db.session.remove()

    results = all_at_once(2, sweep)

    assert sum(results) == 3, results
    assert sorted(email.recipient for email in reminders()) == [f"shopper{index}@example.com" for index in range(3)]


def test_restoring_puts_the_items_back_at_todays_prices_and_stock(app, details):
    lamp = make_product("Desk Lamp", price_cents=4500, stock=10).variants[0]
    shade = make_product("Shade", price_cents=900, stock=10).variants[0]
    bulb = make_product("Bulb", price_cents=300, stock=10).variants[0]
    order = place_order({lamp.id: 1, shade.id: 3, bulb.id: 2}, details(recovery_consent=True), None)
    expire_order(order.id)
    with write_transaction():
        db.session.execute(sa.update(ProductVariant).where(ProductVariant.id == lamp.id).values(price_cents=3900))
        db.session.execute(sa.update(ProductVariant).where(ProductVariant.id == shade.id).values(stock=2))
        db.session.execute(sa.update(ProductVariant).where(ProductVariant.id == bulb.id).values(stock=0))
    session: dict = {}
    write_cart(session, {shade.id: 1})

    changes = recovery.restore_cart(session, recovery.restore_token(order.number))

    messages = [change.message for change in changes]
    assert "Added 1 × Desk Lamp to your cart." in messages
    assert "The price of Desk Lamp is now $39.00 (it was $45.00 at your checkout)." in messages
    assert "Only 2 of Shade available, so your cart now has 2." in messages
    assert "Sorry, Bulb is sold out." in messages
    assert read_cart(session) == {shade.id: 2, lamp.id: 1}

    again = recovery.restore_cart(session, recovery.restore_token(order.number))
    assert "Desk Lamp is already in your cart." in [change.message for change in again]
    assert read_cart(session)[lamp.id] == 1, "restoring twice never doubles a line"


def test_restoring_keeps_a_logged_in_shoppers_cart_with_the_account(app, lamp, details):
    shopper = make_user()
    order = abandon(lamp, details)

    session: dict = {}
    recovery.restore_cart(session, recovery.restore_token(order.number), shopper.id)

    assert saved_lines(shopper.id)[lamp.id].quantity == 2


def test_a_bad_expired_or_completed_link_is_refused(app, lamp, details, monkeypatch):
    order = abandon(lamp, details)
    token = recovery.restore_token(order.number)

    with pytest.raises(ShopError, match="not valid"):
        recovery.restore_cart({}, token[:-2] + "xx")
    with pytest.raises(ShopError, match="not valid"):
        recovery.read_opt_out_token(token)  # a restore token is no unsubscribe token

    monkeypatch.setattr(recovery, "RESTORE_LINK_DAYS", -1)  # any age is too old
    with pytest.raises(ShopError, match="expired"):
        recovery.restore_cart({}, recovery.restore_token(order.number))
    monkeypatch.undo()

    record_payment(order.id, amount_cents=order.total_cents, currency=order.currency, reference="pi_2",
                   provider="test")
    with pytest.raises(ShopError, match="went ahead"):
        recovery.restore_cart({}, token)
