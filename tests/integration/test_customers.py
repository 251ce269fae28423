"""The customer services against the database: figures to the cent, the owner-only rule, the last enabled owner
under concurrent changes, and guest orders joining an account in the confirmation's transaction."""
import re

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditRecord, Order, OutboxEmail, Role, User
from shop.models.base import now_utc
from shop.services import NotFound, ShopError, accounts, customers
from tests.concurrency import all_at_once
from tests.factories import make_order, make_product, make_user


def order(customer, price_cents: int, status: str = "paid", payment: str = "paid", refunded_cents: int = 0,
          email: str | None = None) -> Order:
    made = make_order(customer, make_product(price_cents=price_cents).variants[0], status=status,
                      payment_status=payment, email=email)
    made.refunded_cents = refunded_cents
    db.session.flush()
    return made


def reload(user: User) -> User:
    db.session.rollback()
    return db.session.scalar(sa.select(User).where(User.id == user.id).execution_options(populate_existing=True))


def test_lifetime_value_is_money_taken_minus_refunds_to_the_cent(app, boss):
    ann = make_user("ann@example.com")
    order(ann, 12345)
    order(ann, 10000, payment="partially refunded", refunded_cents=2501)
    order(ann, 5000, status="cancelled", payment="refunded", refunded_cents=5000)  # paid, cancelled, refunded
    order(ann, 7777, status="pending", payment="unpaid")
    order(ann, 3333, status="cancelled", payment="failed")
    order(ann, 999, status="expired", payment="unpaid")
    order(None, 1111, email="ann@example.com")  # a guest order with her address
    order(None, 2222, email="ann@example.com", status="pending", payment="unpaid")
    db.session.commit()

    detail = customers.customer_detail(ann.id, 1, 25)
    expected = 12345 + (10000 - 2501) + 0 + 1111
    assert (detail.figures.orders, detail.figures.lifetime_cents) == (4, expected)
    assert detail.orders.total == 8
    [row] = [row for row in customers.customer_list("ann@", "", "", "", 1, 50).items]
    assert (row.user_id, row.figures.orders, row.figures.lifetime_cents) == (ann.id, 4, expected)
    assert row.figures.last_order_at == detail.figures.last_order_at


def test_guests_are_order_emails_that_paid_without_an_account(app):
    order(None, 4000, email="gus@example.com")
    order(None, 1000, email="gus@example.com", payment="refunded", refunded_cents=1000)
    order(None, 500, email="window@example.com", status="expired", payment="unpaid")  # never paid: not a customer
    db.session.commit()
    rows = customers.customer_list("", "", "guest", "", 1, 50).items
    assert [(row.email, row.figures.orders, row.figures.lifetime_cents) for row in rows] == \
        [("gus@example.com", 2, 4000)]
    assert customers.guest_detail("Gus@Example.com", 1, 25).figures.lifetime_cents == 4000
    with pytest.raises(NotFound):
        customers.guest_detail("nobody@example.com", 1, 25)


def test_only_an_enabled_owner_may_manage_accounts(app, boss):
    ann = make_user("ann@example.com")
    staff = make_user("staff@example.com", role=Role.STAFF)
    retired = make_user("retired@example.com", is_admin=True)
    retired.disabled_at = now_utc()
    db.session.commit()
    for actor in (staff, ann, retired):
        with pytest.raises(customers.NotOwner):
            customers.set_disabled(actor, ann.id, True)
        with pytest.raises(customers.NotOwner):
            customers.set_role(actor, ann.id, Role.OWNER)
        with pytest.raises(customers.NotOwner):
            customers.send_password_reset(actor, ann.id, lambda token: token)
    assert not reload(ann).is_disabled and reload(ann).role == Role.CUSTOMER
    assert db.session.scalar(sa.select(sa.func.count(AuditRecord.id))) == 0
    with pytest.raises(NotFound):
        customers.set_disabled(boss, 999999, True)


def test_a_disabled_owner_does_not_count_as_the_one_left(app, boss):
    away = make_user("away@example.com", is_admin=True)
    away.disabled_at = now_utc()
    db.session.commit()
    with pytest.raises(ShopError, match="only owner who can log in"):
        customers.set_role(boss, boss.id, Role.STAFF)
    assert customers.set_disabled(boss, away.id, False).changed
    assert customers.set_role(boss, boss.id, Role.STAFF).changed
    assert reload(away).role == Role.OWNER and reload(boss).role == Role.STAFF


def test_disabling_ends_every_login_and_records_it(app, boss):
    ann = make_user("ann@example.com")
    db.session.commit()
    first, second = accounts.open_user_session(ann.id), accounts.open_user_session(ann.id)
    assert customers.set_disabled(boss, ann.id, True).changed
    assert accounts.find_session_user(ann.id, first)[1] is False
    assert accounts.find_session_user(ann.id, second)[1] is False
    assert not customers.set_disabled(boss, ann.id, True).changed  # already: no second record
    assert db.session.scalar(sa.select(sa.func.count(AuditRecord.id))) == 1
    with pytest.raises(ShopError, match="has been disabled"):
        accounts.authenticate("ann@example.com", "correct horse battery")


def test_two_owners_giving_up_the_role_at_once_leave_one_owner(app):
    owners = [make_user(f"owner{n}@example.com", is_admin=True) for n in range(2)]
    db.session.commit()
    ids = [owner.id for owner in owners]

    def step_down(index: int, together) -> bool:
        with app.app_context():
            actor = db.session.get(User, ids[index])
            db.session.commit()
            together()
            try:
                return customers.set_role(actor, actor.id, Role.STAFF).changed
            finally:
                db.session.remove()

    results = all_at_once(2, step_down)
    assert results.count(True) == 1, results
    [refusal] = [result for result in results if result is not True]
    # The loser is refused either as the last owner or as no longer an owner, whichever it saw under the lock.
    assert isinstance(refusal, ShopError)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.role == Role.OWNER)) == 1


def test_two_owners_demoting_each_other_at_once_leave_one_owner(app):
    owners = [make_user(f"owner{n}@example.com", is_admin=True) for n in range(2)]
    db.session.commit()
    ids = [owner.id for owner in owners]

    def demote_the_other(index: int, together) -> bool:
        with app.app_context():
            actor = db.session.get(User, ids[index])
            db.session.commit()
            together()
            try:
                return customers.set_role(actor, ids[1 - index], Role.CUSTOMER).changed
            finally:
                db.session.remove()

    results = all_at_once(2, demote_the_other)
    assert results.count(True) == 1, results
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.role == Role.OWNER)) == 1


def test_registration_queues_the_confirmation_with_the_account(app):
    user = accounts.register_user("Nora@Example.com", "Nora New", "plum tangerine orbit")
    [email] = db.session.scalars(sa.select(OutboxEmail)).all()
    assert (email.recipient, email.subject) == ("nora@example.com", "Confirm your email address")
    token = re.search(r"http://localhost/auth/confirm/(\S+)", email.body_text).group(1)
    outcome = accounts.confirm_email(token)
    assert outcome.user.id == user.id and outcome.newly_confirmed


def test_confirming_joins_guest_orders_in_the_same_transaction(app, monkeypatch):
    user = make_user("ann@example.com")
    guest = order(None, 1000, email="ann@example.com")
    db.session.commit()
    token = accounts.make_confirmation_token(user)

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away mid-confirmation")

    monkeypatch.setattr(accounts, "rows_changed", fail)
    with pytest.raises(RuntimeError):
        accounts.confirm_email(token)
    assert reload(user).email_confirmed_at is None
    monkeypatch.undo()

    outcome = accounts.confirm_email(token)
    assert (outcome.newly_confirmed, outcome.orders_joined) == (True, 1)
    db.session.rollback()
    assert db.session.scalar(sa.select(Order.user_id).where(Order.id == guest.id)) == user.id


def test_the_console_gives_a_locked_out_shop_its_owner_back(app):
    owner = make_user("owner@example.com", is_admin=True)
    owner.disabled_at = now_utc()
    db.session.commit()
    accounts.create_admin("owner@example.com", "plum tangerine orbit")
    assert not reload(owner).is_disabled
    assert accounts.authenticate("owner@example.com", "plum tangerine orbit").id == owner.id
