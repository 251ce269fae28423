"""Low-stock emails: one per crossing of the threshold, from any stock movement, and the daily digest."""
import pytest
import sqlalchemy as sa

from shop.database import write_transaction
from shop.extensions import db
from shop.models import OutboxEmail, ProductVariant, StockMovement, StockReason
from shop.services.inventory import adjust_stock
from shop.services.orders import OutOfStock, expire_order, place_order
from tests.concurrency import all_at_once
from tests.factories import make_product, make_user

WATCHERS = "stock@example.com, Boss@example.com ,stock@example.com"


SETTINGS = {"LOW_STOCK_NOTIFY_EMAILS": WATCHERS, "LOW_STOCK_THRESHOLD": 5}
DIGEST_ON = pytest.mark.parametrize("app_overrides", [{**SETTINGS, "LOW_STOCK_DIGEST": True}])


@pytest.fixture
def app_overrides():
    return SETTINGS


def alerts() -> list[OutboxEmail]:
    """Return the low-stock emails queued so far, as the database has them now."""
    db.session.commit()
    return list(db.session.scalars(
        sa.select(OutboxEmail).where(OutboxEmail.subject.startswith("Low stock")).order_by(OutboxEmail.id)))


def alerted(variant) -> bool:
    db.session.commit()
    return db.session.scalar(sa.select(ProductVariant.low_stock_alerted).where(ProductVariant.id == variant.id))


def test_a_sale_reaching_the_threshold_emails_each_watcher_once(app, details):
    variant = make_product("Wool Hat", stock=7).variants[0]
    db.session.commit()

    place_order({variant.id: 1}, details(), None)
    assert alerts() == [], "6 left is above the threshold of 5"

    place_order({variant.id: 1}, details(), None)
    emails = alerts()
    assert sorted(email.recipient for email in emails) == ["Boss@example.com", "stock@example.com"]
    assert all(email.subject == "Low stock: Wool Hat" for email in emails)
    assert f"Wool Hat [{variant.sku}]: 5 left" in emails[0].body_text
    assert "/admin/inventory" in emails[0].body_text
    assert alerted(variant)


def test_one_email_per_crossing_not_per_sale_and_again_after_restocking(app, details):
    admin = make_user(is_admin=True)
    variant = make_product("Mug", stock=6).variants[0]
    db.session.commit()

    for _ in range(3):
        place_order({variant.id: 1}, details(), None)  # 5, 4, 3 left
    assert len(alerts()) == 2, "one email to each of the two watchers"

    adjust_stock(admin, variant.id, StockReason.RECOUNT, set_to=4)  # still low: no new crossing
    assert len(alerts()) == 2 and alerted(variant)

    adjust_stock(admin, variant.id, StockReason.RECEIVED, delta=20)
    assert not alerted(variant), "back above the threshold, the next crossing alerts again"

    adjust_stock(admin, variant.id, StockReason.DAMAGED, delta=-24, note="water")
    emails = alerts()
    assert len(emails) == 4
    assert f"Mug [{variant.sku}]: sold out" in emails[-1].body_text


def test_stock_given_back_above_the_threshold_rearms_the_alert(app, details):
    variant = make_product("Scarf", stock=6).variants[0]
    db.session.commit()
    order = place_order({variant.id: 2}, details(), None)
    assert alerted(variant)

    expire_order(order.id)

    assert not alerted(variant)


def test_one_email_lists_every_variant_a_sale_takes_low(app, details):
    first = make_product("Left Glove", stock=3).variants[0]
    second = make_product("Right Glove", stock=8).variants[0]
    plenty = make_product("Coat", stock=50).variants[0]
    db.session.commit()

    place_order({first.id: 1, second.id: 3, plenty.id: 1}, details(), None)

    emails = alerts()
    assert len(emails) == 2 and emails[0].subject == "Low stock: 2 variants"
    assert "Left Glove" in emails[0].body_text and "Right Glove" in emails[0].body_text
    assert "Coat" not in emails[0].body_text


def test_no_email_for_a_variant_off_sale_or_a_sale_that_rolls_back(app, details):
    admin = make_user(is_admin=True)
    retired = make_product("Old Tee", stock=9).variants[0]
    retired.is_active = False
    hidden = make_product("Hidden Tee", stock=9, is_active=False).variants[0]
    scarce = make_product("Cap", stock=6).variants[0]
    gone = make_product("Badge", stock=0).variants[0]
    db.session.commit()

    adjust_stock(admin, retired.id, StockReason.DAMAGED, delta=-8)
    adjust_stock(admin, hidden.id, StockReason.DAMAGED, delta=-8)
    with pytest.raises(OutOfStock):
        place_order({scarce.id: 2, gone.id: 1}, details(), None)  # the cap is taken, then the order fails

    assert alerts() == []
    assert not alerted(scarce) and not alerted(retired)


@pytest.mark.parametrize("app_overrides", [{**SETTINGS, "LOW_STOCK_NOTIFY_EMAILS": " , "}])
def test_no_watchers_means_no_email(app, details):
    variant = make_product("Pin", stock=2).variants[0]
    db.session.commit()

    place_order({variant.id: 1}, details(), None)

    assert alerts() == [] and not alerted(variant)


def test_a_bulk_inserted_movement_alerts_too(app):
    """The CSV import writes its ledger with one bulk insert, not objects."""
    variant = make_product("Import Tee", stock=9).variants[0]
    db.session.commit()

    with write_transaction():
        db.session.execute(sa.update(ProductVariant).where(ProductVariant.id == variant.id).values(stock=1))
        db.session.execute(sa.insert(StockMovement), [
            {"variant_id": variant.id, "delta": -8, "reason": StockReason.IMPORT, "note": "CSV import"}])

    assert len(alerts()) == 2 and alerted(variant)


def test_two_sales_crossing_at_once_send_one_email(app, details):
    variant = make_product("Last Lamp", stock=7).variants[0]
    db.session.commit()
    variant_id = variant.id

    def buy(index: int, together) -> int:
        with app.app_context():
            together()
            try:
                return place_order({variant_id: 1}, details(email=f"racer{index}@example.com"), None).id
            finally:
                db.session.remove()

    results = all_at_once(4, buy)

    assert all(isinstance(result, int) for result in results), results
    db.session.rollback()
    assert len(alerts()) == 2, "one email per watcher, although three of the sales left 5 or fewer"


def test_the_digest_is_off_until_the_setting_is_on(app, runner):
    make_product("Kettle", stock=1)
    db.session.commit()

    result = runner.invoke(args=["shop", "low-stock-digest"])

    assert result.exit_code == 0, result.output
    assert "off" in result.output and alerts() == []


@DIGEST_ON
def test_the_digest_lists_every_low_variant_on_sale(app, runner, mail_outbox):
    make_product("Kettle", stock=1)
    make_product("Teapot", stock=0)
    make_product("Cup", stock=5)
    make_product("Plate", stock=6)
    make_product("Retired Bowl", stock=1, is_active=False)
    db.session.commit()

    result = runner.invoke(args=["shop", "low-stock-digest"])

    assert result.exit_code == 0, result.output
    assert "3 variant(s) queued for 2 address(es)" in result.output
    assert sorted(message["To"] for message in mail_outbox) == ["Boss@example.com", "stock@example.com"]
    body = mail_outbox[0].get_body(("plain",)).get_content()
    assert mail_outbox[0]["Subject"] == "Daily low-stock digest: 3 variants"
    assert body.index("Teapot") < body.index("Kettle") < body.index("Cup"), "lowest stock first"
    assert "Plate" not in body and "Retired Bowl" not in body


@DIGEST_ON
def test_the_digest_sends_nothing_when_nothing_is_low(app, runner):
    make_product("Kettle", stock=40)
    db.session.commit()

    result = runner.invoke(args=["shop", "low-stock-digest"])

    assert "nothing sent" in result.output and alerts() == []
