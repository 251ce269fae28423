"""Sweeps run from every process at once (each worker, cron on every machine) share the work and do it once.

Each test races SWEEPS threads, each with its own app context and database connection, over many
due rows: every email reaches the SMTP server once, every order expires once with one stock
movement back, every reminder and each day's digest are queued once. On Postgres the sweeps claim
with FOR UPDATE SKIP LOCKED: every sweep is held just after its first claim until all of them have
claimed, so each must have found a row of its own; had one waited on another's locked row instead,
they could never all arrive and the test fails.
"""
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, OrderStatus, OutboxEmail, StockMovement, StockReason
from shop.models.base import now_utc
from shop.services import recovery, stock_alerts
from shop.services.mail import deliver_pending
from shop.services.orders import expire_order, place_order, release_expired_reservations
from shop.services.stock_alerts import send_digest
from tests.concurrency import all_at_once
from tests.factories import make_product, stock

SWEEPS = 4
EMAILS = 40
ORDERS = 24
QUANTITY = 2
CLAIM_WAIT = 30  # seconds a held sweep waits for the others before the test fails


@contextmanager
def first_claims_held_together() -> Iterator[None]:
    """On Postgres, hold each sweep right after its first locking read until all SWEEPS have made theirs."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        yield
        return
    everyone_claimed = threading.Barrier(SWEEPS, timeout=CLAIM_WAIT)
    this_thread = threading.local()

    def hold(connection, cursor, statement, parameters, context, executemany) -> None:
        if "FOR UPDATE" in statement and not getattr(this_thread, "claimed", False):
            this_thread.claimed = True
            everyone_claimed.wait()  # broken if a sweep waits on another's row instead of taking a free one

    sa.event.listen(engine, "after_cursor_execute", hold)
    try:
        yield
    finally:
        sa.event.remove(engine, "after_cursor_execute", hold)


def race(app, sweep: Callable[[], object]) -> list:
    """Run the sweep in SWEEPS threads at the same moment; return what each returned."""

    def run(index: int, together) -> object:
        with app.app_context():
            together()
            try:
                return sweep()
            finally:
                db.session.remove()

    with first_claims_held_together():
        results = all_at_once(SWEEPS, run)
    assert not [result for result in results if isinstance(result, Exception)], results
    db.session.commit()  # the test reads what the sweeps wrote
    return results


def on_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


@pytest.fixture
def lamp(app):
    variant = make_product("Desk Lamp", price_cents=4500, stock=ORDERS * QUANTITY).variants[0]
    db.session.commit()
    return variant


def place_orders(lamp, details, consent: bool = False) -> list[int]:
    return [place_order({lamp.id: QUANTITY}, details(email=f"shopper{n}@example.com", recovery_consent=consent),
                        None).id for n in range(ORDERS)]


def test_senders_at_once_send_every_email_exactly_once(app, mail_outbox):
    db.session.add_all([OutboxEmail(recipient=f"shopper{n}@example.com", subject=f"Note {n}", body_text="Hello.",
                                    body_html="<p>Hello.</p>") for n in range(EMAILS)])
    db.session.commit()

    results = race(app, deliver_pending)

    assert sum(sent for sent, _ in results) == EMAILS and [failed for _, failed in results] == [0] * SWEEPS
    received = Counter(message["Subject"] for message in mail_outbox)
    assert received == {f"Note {n}": 1 for n in range(EMAILS)}
    emails = db.session.scalars(sa.select(OutboxEmail)).all()
    assert all(email.sent_at is not None and email.attempts == 1 for email in emails), "each claimed once"
    if on_postgres():
        assert all(sent > 0 for sent, _ in results), f"each sender took emails of its own: {results}"


def test_release_sweeps_at_once_expire_each_order_once_and_give_its_stock_back_once(app, lamp, details):
    placed = place_orders(lamp, details)
    assert stock(lamp) == 0
    later = now_utc() + timedelta(hours=2)  # every reservation has run out

    results = race(app, lambda: release_expired_reservations(now=later))

    assert sum(results) == ORDERS
    returned = db.session.execute(
        sa.select(StockMovement.order_id, sa.func.count(), sa.func.sum(StockMovement.delta))
        .where(StockMovement.reason == StockReason.EXPIRED).group_by(StockMovement.order_id)
    ).all()
    assert sorted(tuple(row) for row in returned) == [(order_id, 1, QUANTITY) for order_id in sorted(placed)]
    assert stock(lamp) == ORDERS * QUANTITY
    statuses = db.session.scalars(sa.select(Order.status).execution_options(populate_existing=True)).all()
    assert statuses == [OrderStatus.EXPIRED] * ORDERS
    if on_postgres():
        assert all(released > 0 for released in results), f"each sweep expired orders of its own: {results}"


def test_reminder_sweeps_at_once_queue_each_reminder_once(app, lamp, details):
    placed = place_orders(lamp, details, consent=True)
    for order_id in placed:
        expire_order(order_id)
    db.session.execute(sa.update(Order).values(created_at=now_utc() - timedelta(hours=5)))
    db.session.commit()

    results = race(app, recovery.send_reminders)

    assert sum(results) == ORDERS
    reminded = Counter(db.session.scalars(
        sa.select(OutboxEmail.recipient).where(OutboxEmail.subject == "You left something in your cart")))
    assert reminded == {f"shopper{n}@example.com": 1 for n in range(ORDERS)}
    assert db.session.scalar(sa.select(sa.func.count()).where(Order.recovery_sent_at.is_(None))) == 0
    if on_postgres():
        assert all(sent > 0 for sent in results), f"each sweep queued reminders of its own: {results}"


def test_digests_run_at_once_queue_one_digest_a_day(app, monkeypatch):
    app.config.update(LOW_STOCK_DIGEST=True, LOW_STOCK_NOTIFY_EMAILS="stock@example.com, boss@example.com")
    make_product("Kettle", stock=1)
    db.session.commit()

    results = race(app, send_digest)

    assert sorted(outcome.sent_to for outcome in results) == [0] * (SWEEPS - 1) + [2]
    assert {outcome.message for outcome in results if not outcome.sent_to} == {
        "Today's low-stock digest was already queued; nothing sent."}
    digests = db.session.scalars(sa.select(OutboxEmail.recipient).where(OutboxEmail.subject.startswith("Daily"))).all()
    assert sorted(digests) == ["boss@example.com", "stock@example.com"]

    tomorrow = now_utc() + timedelta(days=1)
    monkeypatch.setattr(stock_alerts, "now_utc", lambda: tomorrow)
    assert send_digest().sent_to == 2, "the next day's digest goes"
