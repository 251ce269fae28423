"""The order lifecycle after payment, against a real database: every allowed and refused transition,
parcels, refunds by amount and by item, cancellations, the history, invoice numbers and emails."""
import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import (
    ActorKind,
    AuditRecord,
    Coupon,
    CouponKind,
    Order,
    OrderEvent,
    OrderStatus,
    OutboxEmail,
    PaymentStatus,
    Refund,
    Shipment,
)
from shop.services import ShopError, fulfilment, lifecycle, refunds
from shop.services.fulfilment import Parcel
from shop.services.lifecycle import ORDER_TRANSITIONS, PAYMENT_TRANSITIONS, SYSTEM, Actor, InvalidTransition
from shop.services.orders import cancel_order, expire_order, place_order, record_payment, resend_confirmation
from tests.concurrency import all_at_once
from tests.factories import make_product, stock


@pytest.fixture
def goods(app):
    mug = make_product("Mug", price_cents=1250, stock=5).variants[0]
    lamp = make_product("Lamp", price_cents=4000, stock=5).variants[0]
    db.session.commit()
    return mug.id, lamp.id


def fresh(order_id: int) -> Order:
    db.session.rollback()
    return db.session.scalar(sa.select(Order).where(Order.id == order_id).execution_options(populate_existing=True))


def paid_order(details, lines: dict[int, int], **details_overrides) -> int:
    order_id = place_order(lines, details(**details_overrides), user_id=None).id
    order = fresh(order_id)
    assert record_payment(order_id, amount_cents=order.total_cents, currency=order.currency,
                          reference=f"test_{order_id}", provider="test")
    return order_id


def items_of(order_id: int) -> dict[str, int]:
    """Return {sku: order item id}."""
    return {item.sku: item.id for item in fresh(order_id).items}


def emails(order_id: int, template_subject: str) -> list[OutboxEmail]:
    order = fresh(order_id)
    return [email for email in db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.recipient == order.email))
            if template_subject in email.subject]


def history(order_id: int) -> list[tuple[str, str, str, str]]:
    return [(event.kind, event.from_status, event.to_status, event.actor_kind) for event in lifecycle.history(order_id)]


# The state machine itself.

ALL_MOVES = [(start, end) for start in OrderStatus for end in OrderStatus if start != end]


@pytest.mark.parametrize(("start", "end"), ALL_MOVES)
def test_only_the_listed_order_transitions_are_allowed(app, goods, details, start, end):
    order = fresh(place_order({goods[0]: 1}, details(), user_id=None).id)
    order.status = start
    db.session.commit()
    allowed = end in ORDER_TRANSITIONS[start]
    order = fresh(order.id)
    if allowed:
        lifecycle.transition(order, SYSTEM, status=end)
        assert order.status == end
    else:
        with pytest.raises(InvalidTransition, match=f"Order {order.number} is"):
            lifecycle.transition(order, SYSTEM, status=end)
        assert order.status == start
    db.session.rollback()


@pytest.mark.parametrize(("start", "end"), [(s, e) for s in PaymentStatus for e in PaymentStatus if s != e])
def test_only_the_listed_payment_transitions_are_allowed(app, goods, details, start, end):
    order = fresh(place_order({goods[0]: 1}, details(), user_id=None).id)
    order.payment_status = start
    db.session.commit()
    order = fresh(order.id)
    if end in PAYMENT_TRANSITIONS[start]:
        lifecycle.transition(order, SYSTEM, payment_status=end)
        assert order.payment_status == end
    else:
        with pytest.raises(InvalidTransition):
            lifecycle.transition(order, SYSTEM, payment_status=end)
    db.session.rollback()


def test_the_history_records_each_step_with_who_did_it(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 1})
    lifecycle.add_note(order_id, "Customer asked for gift wrap", clerk)
    fulfilment.ship(order_id, Parcel({items_of(order_id)[fresh(order_id).items[0].sku]: 1}, "UPS", "1Z999"), clerk)
    fulfilment.mark_delivered(order_id, clerk)
    steps = history(order_id)
    assert steps[0] == ("status", "", "pending", ActorKind.CUSTOMER)
    assert steps[1] == ("status", "pending", "paid", ActorKind.SYSTEM)
    assert ("note", "", "", ActorKind.ADMIN) in steps
    assert ("shipment", "", "", ActorKind.ADMIN) in steps
    assert steps[-2:] == [("status", "paid", "shipped", ActorKind.ADMIN), ("status", "shipped", "delivered",
                                                                             ActorKind.ADMIN)]
    notes = [event for event in lifecycle.history(order_id) if event.kind == "note"]
    assert notes[0].note == "Customer asked for gift wrap" and notes[0].actor_email == "boss@example.com"


def test_what_an_admin_does_to_an_order_is_in_the_audit_log(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 1})
    fulfilment.ship(order_id, Parcel({fresh(order_id).items[0].id: 1}, "UPS", "1Z"), clerk)
    records = db.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)).all()
    assert [(r.action, r.entity_type, r.entity_id, r.actor_email) for r in records] == [
        ("order.shipment", "order", order_id, "boss@example.com"),
        ("order.status", "order", order_id, "boss@example.com")]
    assert records[1].changes == {"status": ["paid", "shipped"]}
    assert records[1].summary == f"Order {fresh(order_id).number}: status paid → shipped; everything has shipped"


def test_a_note_must_say_something(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 1})
    with pytest.raises(ShopError, match="Write the note"):
        lifecycle.add_note(order_id, "   ", clerk)
    with pytest.raises(ShopError, match="at most"):
        lifecycle.add_note(order_id, "x" * 2001, clerk)


# Invoices.

def test_invoice_numbers_follow_payments_without_gaps(app, goods, details):
    first = place_order({goods[0]: 1}, details(), user_id=None).id
    second = place_order({goods[0]: 1}, details(email="b@example.com"), user_id=None).id
    unpaid = place_order({goods[0]: 1}, details(email="c@example.com"), user_id=None).id
    for order_id in (second, first):
        order = fresh(order_id)
        record_payment(order_id, amount_cents=order.total_cents, currency="usd", reference=f"test_{order_id}",
                       provider="test")
    assert (fresh(second).invoice_number, fresh(first).invoice_number, fresh(unpaid).invoice_number) == (1, 2, None)
    assert fresh(second).invoice_label == "INV-000001"


def test_concurrent_payments_take_distinct_consecutive_invoice_numbers(app, goods, details):
    order_ids = [place_order({goods[1]: 1}, details(email=f"p{n}@example.com"), user_id=None).id for n in range(5)]
    totals = {order_id: fresh(order_id).total_cents for order_id in order_ids}

    def pay(index: int, together) -> bool:
        with app.app_context():
            together()
            try:
                return record_payment(order_ids[index], amount_cents=totals[order_ids[index]], currency="usd",
                                      reference=f"test_race_{index}", provider="test")
            finally:
                db.session.remove()

    assert all_at_once(len(order_ids), pay) == [True] * 5
    assert sorted(fresh(order_id).invoice_number for order_id in order_ids) == [1, 2, 3, 4, 5]


# Shipping.

def test_partial_shipments_then_shipped_when_everything_has_left(app, goods, details, clerk):
    mug, lamp = goods
    order_id = paid_order(details, {mug: 2, lamp: 1})
    item = {fresh(order_id).items[0].quantity: fresh(order_id).items[0].id, 1: fresh(order_id).items[1].id}
    mug_item, lamp_item = item[2], item[1]
    first = fulfilment.ship(order_id, Parcel({mug_item: 1}, "Royal Mail", "AB123456789GB"), clerk)
    assert first.tracking_url == "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB"
    assert fresh(order_id).status == "paid"
    assert fulfilment.still_to_ship(fresh(order_id)) == {mug_item: 1, lamp_item: 1}
    fulfilment.ship(order_id, Parcel({mug_item: 1, lamp_item: 1}, "Courier Co", "C-1",
                                     "https://courier.example/track/C-1"), clerk)
    order = fresh(order_id)
    assert order.status == "shipped" and order.shipped_at is not None
    shipped = emails(order_id, "shipped")
    assert [email.subject for email in shipped] == [f"Part of your order {order.number} has shipped",
                                                    f"Your order {order.number} has shipped"]
    assert "AB123456789GB" in shipped[0].body_text and "https://courier.example/track/C-1" in shipped[1].body_html


def test_refunding_the_units_not_yet_sent_completes_a_partly_shipped_order(app, goods, details, clerk):
    mug, lamp = goods
    order_id = paid_order(details, {mug: 1, lamp: 1})
    mug_item, lamp_item = (item.id for item in fresh(order_id).items)
    fulfilment.ship(order_id, Parcel({mug_item: 1}, "UPS"), clerk)
    refunds.refund(order_id, refunds.RefundRequest(amount_cents=100), clerk)
    assert fresh(order_id).status == "paid"  # an amount refunds no unit: the lamp still has to go
    refunds.refund(order_id, refunds.RefundRequest(lines={lamp_item: 1}, restock=True), clerk)
    assert (fresh(order_id).status, stock(lamp)) == ("shipped", 5)


def test_shipping_more_than_is_left_or_nothing_is_refused(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 2})
    item_id = fresh(order_id).items[0].id
    with pytest.raises(ShopError, match="Only 2 of"):
        fulfilment.ship(order_id, Parcel({item_id: 3}, "UPS"), clerk)
    with pytest.raises(ShopError, match="at least one item"):
        fulfilment.ship(order_id, Parcel({item_id: 0}, "UPS"), clerk)
    with pytest.raises(ShopError, match="not part of this order"):
        fulfilment.ship(order_id, Parcel({item_id + 999: 1}, "UPS"), clerk)
    with pytest.raises(ShopError, match="https://"):
        fulfilment.ship(order_id, Parcel({item_id: 1}, "UPS", "1Z", "javascript:alert(1)"), clerk)
    assert db.session.scalar(sa.select(sa.func.count(Shipment.id))) == 0


@pytest.mark.parametrize("state", ["pending", "cancelled", "expired"])
def test_an_order_that_is_not_paid_cannot_ship(app, goods, details, clerk, state):
    order_id = place_order({goods[0]: 1}, details(), user_id=None).id
    if state == "cancelled":
        cancel_order(order_id, "test")
    elif state == "expired":
        expire_order(order_id)
    item_id = fresh(order_id).items[0].id
    with pytest.raises(InvalidTransition, match=f"is {'awaiting payment' if state == 'pending' else state}, so it "
                                                "cannot be shipped"):
        fulfilment.ship(order_id, Parcel({item_id: 1}, "UPS"), clerk)
    assert fresh(order_id).status == state


def test_a_cancelled_paid_order_cannot_ship(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 1})
    refunds.cancel(order_id, clerk)
    with pytest.raises(InvalidTransition, match="is cancelled, so it cannot be shipped"):
        fulfilment.ship(order_id, Parcel({fresh(order_id).items[0].id: 1}, "UPS"), clerk)


def test_the_same_ship_form_twice_ships_once(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 2})
    parcel = Parcel({fresh(order_id).items[0].id: 1}, "UPS", "1Z1", token="ship-form-token")
    assert fulfilment.ship(order_id, parcel, clerk).id == fulfilment.ship(order_id, parcel, clerk).id
    assert db.session.scalar(sa.select(sa.func.count(Shipment.id))) == 1
    assert len(emails(order_id, "shipped")) == 1


def test_two_admins_shipping_the_last_units_at_once_ship_them_once(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 2})
    item_id = fresh(order_id).items[0].id

    def ship(index: int, together):
        with app.app_context():
            together()
            try:
                return fulfilment.ship(order_id, Parcel({item_id: 2}, "UPS", f"1Z{index}", token=f"t{index}"),
                                       clerk).id
            finally:
                db.session.remove()

    results = all_at_once(4, ship)
    assert sum(isinstance(result, int) for result in results) == 1, results
    assert all(isinstance(result, (int, ShopError)) for result in results), results
    assert fresh(order_id).status == "shipped" and len(emails(order_id, "shipped")) == 1


def test_delivered_only_after_shipped_and_only_once(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 1})
    with pytest.raises(InvalidTransition, match="is paid, so it cannot be marked delivered"):
        fulfilment.mark_delivered(order_id, clerk)
    fulfilment.ship(order_id, Parcel({fresh(order_id).items[0].id: 1}, "DHL", "JD01"), clerk)
    assert fulfilment.mark_delivered(order_id, clerk) is True
    assert fulfilment.mark_delivered(order_id, clerk) is False
    assert fresh(order_id).status == "delivered" and len(emails(order_id, "delivered")) == 1


# Refunds.

def test_partial_refunds_by_amount_then_the_rest(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 1, goods[1]: 1})
    total = fresh(order_id).total_cents
    first = refunds.refund(order_id, refunds.RefundRequest(amount_cents=1000, reason="Goodwill"), clerk)
    assert first.status == "succeeded"
    order = fresh(order_id)
    assert (order.payment_status, order.refunded_cents, order.remaining_cents) == (
        "partially refunded", 1000, total - 1000)
    with pytest.raises(ShopError, match="can still be refunded"):
        refunds.refund(order_id, refunds.RefundRequest(amount_cents=total), clerk)
    refunds.refund(order_id, refunds.RefundRequest(amount_cents=total - 1000), clerk)
    order = fresh(order_id)
    assert (order.status, order.payment_status, order.refunded_cents) == ("paid", "refunded", total)
    with pytest.raises(ShopError, match="nothing to refund"):
        refunds.refund(order_id, refunds.RefundRequest(amount_cents=1), clerk)
    assert len(emails(order_id, "refunded on your order")) == 2


def test_refunding_items_prices_them_and_can_restock(app, goods, details, clerk):
    mug, lamp = goods
    order_id = paid_order(details, {mug: 3})
    item_id = fresh(order_id).items[0].id
    assert stock(mug) == 2
    quote = refunds.quote_refund(order_id, refunds.RefundRequest(lines={item_id: 2}, restock=True))
    assert quote.amount_cents == 2500 and quote.amount == "$25.00"
    refunds.refund(order_id, refunds.RefundRequest(lines={item_id: 2}, restock=True), clerk)
    assert stock(mug) == 4
    assert fulfilment.still_to_ship(fresh(order_id)) == {item_id: 1}
    with pytest.raises(ShopError, match="Only 1 of"):
        refunds.quote_refund(order_id, refunds.RefundRequest(lines={item_id: 2}))
    refunds.refund(order_id, refunds.RefundRequest(lines={item_id: 1}), clerk)
    assert stock(mug) == 4  # not restocked unless asked


def test_refund_requests_that_make_no_sense_are_refused(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 1})
    for request, message in [
        (refunds.RefundRequest(), "Enter an amount"),
        (refunds.RefundRequest(amount_cents=0), "greater than zero"),
        (refunds.RefundRequest(amount_cents=-5), "greater than zero"),
        (refunds.RefundRequest(lines={999999: 1}), "not part of this order"),
        (refunds.RefundRequest(amount_cents=10, reason="x" * 501), "at most"),
    ]:
        with pytest.raises(ShopError, match=message):
            refunds.refund(order_id, request, clerk)
    assert db.session.scalar(sa.select(sa.func.count(Refund.id))) == 0
    assert fresh(order_id).payment_status == "paid"


def test_the_same_refund_form_twice_refunds_once(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 1})
    request = refunds.RefundRequest(amount_cents=500, token="refund-form-token")
    assert refunds.refund(order_id, request, clerk).id == refunds.refund(order_id, request, clerk).id
    assert fresh(order_id).refunded_cents == 500 and len(emails(order_id, "refunded on your order")) == 1


def test_two_admins_refunding_the_remainder_at_once_refund_it_once(app, goods, details, clerk):
    order_id = paid_order(details, {goods[1]: 1})
    total = fresh(order_id).total_cents

    def refund(index: int, together):
        with app.app_context():
            together()
            try:
                return refunds.refund(order_id, refunds.RefundRequest(amount_cents=total, token=f"r{index}"),
                                      clerk).status
            finally:
                db.session.remove()

    results = all_at_once(4, refund)
    assert results.count("succeeded") == 1, results
    assert all(isinstance(result, ShopError) for result in results if result != "succeeded"), results
    assert fresh(order_id).refunded_cents == total and len(emails(order_id, "refunded on your order")) == 1


# Cancellation.

def test_cancelling_a_pending_order_releases_stock_and_emails(app, goods, details):
    mug = goods[0]
    order_id = place_order({mug: 2}, details(), user_id=None).id
    assert stock(mug) == 3
    message = refunds.cancel(order_id, Actor.customer(email="guest@example.com"))
    assert "Nothing was charged" in message
    order = fresh(order_id)
    assert (order.status, order.payment_status, order.cancelled_at is not None) == ("cancelled", "unpaid", True)
    assert stock(mug) == 5 and len(emails(order_id, "is cancelled")) == 1


def test_cancelling_a_paid_order_refunds_it_all_and_gives_the_coupon_back(app, goods, details):
    db.session.add(Coupon(code="TENOFF", kind=CouponKind.PERCENT, value=10, usage_limit=5))
    db.session.commit()
    mug = goods[0]
    order_id = paid_order(details, {mug: 2}, coupon_code="TENOFF")
    assert db.session.scalar(sa.select(Coupon.times_used)) == 1
    refunds.refund(order_id, refunds.RefundRequest(amount_cents=100), SYSTEM)
    message = refunds.cancel(order_id, Actor.customer(email="guest@example.com"))
    order = fresh(order_id)
    assert f"{order.number} is cancelled and" in message
    assert (order.status, order.payment_status, order.refunded_cents) == ("cancelled", "refunded", order.total_cents)
    assert stock(mug) == 5
    db.session.rollback()
    assert db.session.scalar(sa.select(Coupon.times_used)) == 0
    cancelled = emails(order_id, "is cancelled")
    assert len(cancelled) == 1 and f"{(order.total_cents - 100) / 100:.2f}" in cancelled[0].body_text
    # The cancellation's refund is told in the cancelled email, not in a second one.
    assert len(emails(order_id, "refunded on your order")) == 1


def test_an_order_with_a_parcel_sent_cannot_be_cancelled(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 2})
    fulfilment.ship(order_id, Parcel({fresh(order_id).items[0].id: 1}, "UPS"), clerk)
    with pytest.raises(ShopError, match="already shipped"):
        refunds.cancel(order_id, clerk)
    assert fresh(order_id).status == "paid" and fresh(order_id).refunded_cents == 0


@pytest.mark.parametrize("state", ["shipped", "delivered"])
def test_shipped_and_delivered_orders_cannot_be_cancelled(app, goods, details, clerk, state):
    order_id = paid_order(details, {goods[0]: 1})
    fulfilment.ship(order_id, Parcel({fresh(order_id).items[0].id: 1}, "UPS"), clerk)
    if state == "delivered":
        fulfilment.mark_delivered(order_id, clerk)
    with pytest.raises(InvalidTransition, match=f"is {state}, so it cannot be cancelled"):
        refunds.cancel(order_id, clerk)


def test_cancelling_twice_at_once_cancels_and_refunds_once(app, goods, details):
    order_id = paid_order(details, {goods[0]: 1})

    def cancel(index: int, together):
        with app.app_context():
            together()
            try:
                return refunds.cancel(order_id, SYSTEM)
            finally:
                db.session.remove()

    results = all_at_once(4, cancel)
    assert not any(isinstance(result, Exception) and not isinstance(result, ShopError) for result in results), results
    assert fresh(order_id).status == "cancelled"
    assert db.session.scalar(sa.select(sa.func.count(Refund.id))) == 1
    assert len(emails(order_id, "is cancelled")) == 1


def test_resending_the_confirmation_is_recorded(app, goods, details, clerk):
    order_id = paid_order(details, {goods[0]: 1})
    resend_confirmation(order_id, clerk)
    assert len(emails(order_id, "Your order")) == 2
    assert db.session.scalar(sa.select(OrderEvent.note).where(OrderEvent.kind == "email")).startswith(
        "confirmation sent again")
    unpaid = place_order({goods[0]: 1}, details(), user_id=None).id
    with pytest.raises(ShopError, match="not paid"):
        resend_confirmation(unpaid, clerk)


def test_staff_hear_of_each_paid_order_when_configured(app, goods, details):
    app.config["ORDER_NOTIFY_EMAILS"] = "owner@example.com, packer@example.com,owner@example.com"
    order_id = paid_order(details, {goods[0]: 1})
    number = fresh(order_id).number
    notices = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.subject.startswith("New order"))).all()
    assert sorted(email.recipient for email in notices) == ["owner@example.com", "packer@example.com"]
    assert all(number in email.subject and f"/admin/orders/{order_id}" in email.body_text for email in notices)


def test_no_staff_notice_when_unset(app, goods, details):
    paid_order(details, {goods[0]: 1})
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id)).where(
        OutboxEmail.subject.startswith("New order"))) == 0


def test_below_the_minimum_charge_is_refused_before_anything_is_reserved(app, goods, details):
    cheap = make_product("Sticker", price_cents=10, stock=5).variants[0]
    db.session.commit()
    with pytest.raises(ShopError, match="at least"):
        place_order({cheap.id: 1}, details(shipping_method_id=None), user_id=None, minimum_total_cents=5000)
    assert stock(cheap) == 5 and db.session.scalar(sa.select(sa.func.count(Order.id))) == 0
