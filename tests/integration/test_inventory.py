"""Stock adjustments against a real database: the conditional update, the ledger, the audit log, races."""
import threading
import time

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditRecord, StockMovement, StockReason, User
from shop.services import NotFound, ShopError, inventory
from shop.services.inventory import (
    MAX_STOCK,
    REASON_WORDS,
    InventoryFilters,
    adjust_stock,
    list_variants,
    variant_history,
)
from shop.services.orders import OutOfStock, place_order
from tests.concurrency import all_at_once
from tests.factories import make_order, make_product, stock


@pytest.fixture
def tee(app):
    variant = make_product("Tee", variants=[{"size": "M", "colour": "Red", "sku": "TEE-M-RED", "stock": 4}]).variants[0]
    db.session.commit()
    return variant


def movements(variant_id: int) -> list[StockMovement]:
    db.session.commit()
    return list(db.session.scalars(sa.select(StockMovement).where(StockMovement.variant_id == variant_id)
                                   .order_by(StockMovement.id)))


def audits() -> list[AuditRecord]:
    db.session.commit()
    return list(db.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)))


def test_a_delta_adds_stock_and_records_the_movement_and_who_made_it(boss, tee):
    adjustment = adjust_stock(boss, tee.id, StockReason.RECEIVED, "  delivery 42 ", delta=6)

    assert adjustment.describe() == "Stock of TEE-M-RED: 4 → 10 (received)."
    assert stock(tee) == 10
    [movement] = movements(tee.id)
    assert (movement.delta, movement.reason, movement.actor_id, movement.note, movement.order_id) == (
        6, StockReason.RECEIVED, boss.id, "delivery 42", None)
    [audit] = audits()
    assert (audit.actor_id, audit.actor_email, audit.action, audit.entity_type, audit.entity_id) == (
        boss.id, "boss@example.com", "stock.adjust", "product_variant", tee.id)
    assert audit.changes == {"stock": [4, 10]}
    assert audit.summary == "Stock of TEE-M-RED: 4 → 10 (received): delivery 42"


def test_a_negative_delta_removes_stock(boss, tee):
    adjust_stock(boss, tee.id, StockReason.DAMAGED, delta=-4)

    assert stock(tee) == 0
    assert [(movement.delta, movement.reason) for movement in movements(tee.id)] == [(-4, StockReason.DAMAGED)]
    assert audits()[0].changes == {"stock": [4, 0]}


def test_removing_more_than_is_left_is_refused_and_changes_nothing(boss, tee):
    with pytest.raises(ShopError, match="^Only 4 in stock: cannot remove 5.$"):
        adjust_stock(boss, tee.id, StockReason.DAMAGED, delta=-5)

    assert stock(tee) == 4
    assert movements(tee.id) == [] and audits() == []


def test_setting_the_count_records_the_difference(boss, tee):
    adjustment = adjust_stock(boss, tee.id, StockReason.RECOUNT, set_to=1)

    assert (adjustment.before, adjustment.after) == (4, 1)
    assert adjustment.describe() == "Stock of TEE-M-RED: 4 → 1 (recount)."
    assert stock(tee) == 1
    [movement] = movements(tee.id)
    assert (movement.delta, movement.reason, movement.actor_id) == (-3, StockReason.RECOUNT, boss.id)
    assert audits()[0].changes == {"stock": [4, 1]}

    adjust_stock(boss, tee.id, StockReason.RECEIVED, set_to=12)
    assert stock(tee) == 12
    assert [movement.delta for movement in movements(tee.id)] == [-3, 11]


def test_setting_the_count_it_already_has_records_nothing(boss, tee):
    adjustment = adjust_stock(boss, tee.id, StockReason.RECOUNT, set_to=4)

    assert not adjustment.changed
    assert adjustment.describe() == "Stock of TEE-M-RED is already 4: nothing was changed or recorded."
    assert movements(tee.id) == [] and audits() == []


def test_other_needs_a_note_and_notes_are_plain_text(boss, tee):
    with pytest.raises(ShopError, match="note"):
        adjust_stock(boss, tee.id, StockReason.OTHER, "   ", delta=1)
    with pytest.raises(ShopError, match="characters we cannot store"):
        adjust_stock(boss, tee.id, StockReason.OTHER, "lost\x00", delta=1)
    with pytest.raises(ShopError, match="at most 500"):
        adjust_stock(boss, tee.id, StockReason.RECEIVED, "x" * 501, delta=1)
    adjust_stock(boss, tee.id, StockReason.OTHER, "found behind the shelf", delta=1)

    assert stock(tee) == 5
    assert [movement.note for movement in movements(tee.id)] == ["found behind the shelf"]


def test_only_adjustment_reasons_and_sane_amounts_are_accepted(boss, tee):
    for reason in (StockReason.RESERVE, StockReason.REFUND, StockReason.IMPORT):
        with pytest.raises(ShopError, match="Choose why"):
            adjust_stock(boss, tee.id, reason, delta=1)
    for delta in (0, MAX_STOCK + 1, -MAX_STOCK - 1):
        with pytest.raises(ShopError):
            adjust_stock(boss, tee.id, StockReason.RECEIVED, delta=delta)
    for count in (-1, MAX_STOCK + 1):
        with pytest.raises(ShopError):
            adjust_stock(boss, tee.id, StockReason.RECOUNT, set_to=count)
    assert stock(tee) == 4 and movements(tee.id) == []


def test_stock_cannot_pass_the_limit(boss, tee):
    adjust_stock(boss, tee.id, StockReason.RECEIVED, set_to=MAX_STOCK)

    with pytest.raises(ShopError, match="would pass the limit"):
        adjust_stock(boss, tee.id, StockReason.RECEIVED, delta=1)
    assert stock(tee) == MAX_STOCK


def test_an_unknown_variant_is_not_found(boss):
    with pytest.raises(NotFound):
        adjust_stock(boss, 999, StockReason.RECEIVED, delta=1)
    with pytest.raises(NotFound):
        adjust_stock(boss, 999, StockReason.RECOUNT, set_to=3)
    assert variant_history(999, 1, 10) is None


def test_every_ledger_reason_has_words_for_the_history_page():
    assert set(REASON_WORDS) == set(StockReason)


def test_the_history_is_newest_first_with_orders_and_admins(boss, tee):
    order = make_order(variant=tee)
    db.session.add(StockMovement(variant_id=tee.id, order_id=order.id, delta=-1, reason=StockReason.RESERVE))
    db.session.commit()
    adjust_stock(boss, tee.id, StockReason.RECEIVED, delta=5)

    history = variant_history(tee.id, 1, 10)

    assert history.variant.sku == "TEE-M-RED"
    assert [(line.movement.delta, line.reason_words, line.order_number, line.actor_email) for line in history.lines] \
        == [(5, "Received", None, "boss@example.com"), (-1, "Sale reservation", order.number, None)]


def test_the_list_filters_by_stock_level_status_and_term(boss, app):
    make_product("Low Lamp", variants=[{"sku": "LAMP-1", "stock": 2}])
    make_product("Empty Vase", variants=[{"sku": "VASE-1", "stock": 0}])
    make_product("Full Chair", variants=[{"sku": "CHAIR-1", "stock": 40}])
    make_product("Hidden Lamp", variants=[{"sku": "HIDE-1", "stock": 1}], is_active=False)
    db.session.commit()

    def skus(**filters) -> list[str]:
        return [variant.sku for variant in list_variants(InventoryFilters(**filters), 1, 50).items]

    assert skus() == ["VASE-1", "HIDE-1", "LAMP-1", "CHAIR-1"]
    assert skus(stock="low") == ["HIDE-1", "LAMP-1"]
    assert skus(stock="low", status="active") == ["LAMP-1"]
    assert skus(stock="out") == ["VASE-1"]
    assert skus(status="inactive") == ["HIDE-1"]
    assert skus(term="lamp", sort="sku") == ["HIDE-1", "LAMP-1"]
    assert skus(term="vase-") == ["VASE-1"]
    assert skus(term="%") == [] and skus(term="_") == []
    assert skus(sort="product") == ["VASE-1", "CHAIR-1", "HIDE-1", "LAMP-1"]


RACERS = 10


def test_checkouts_and_removals_racing_never_take_stock_below_zero(app, boss, details):
    """Half the racers buy one, half remove two as damaged: together they want far more than the 5 there are."""
    variant = make_product("Last Lanterns", stock=5).variants[0]
    db.session.commit()
    variant_id, boss_id = variant.id, boss.id

    def race(index: int, together):
        with app.app_context():
            try:
                actor = db.session.get(User, boss_id)
                together()
                if index % 2:
                    return place_order({variant_id: 1}, details(email=f"racer{index}@example.com"), None)
                return adjust_stock(actor, variant_id, StockReason.DAMAGED, delta=-2)
            finally:
                db.session.remove()

    results = all_at_once(RACERS, race)
    db.session.rollback()

    refused = [result for result in results if isinstance(result, Exception)]
    assert refused and all(isinstance(error, (OutOfStock, ShopError)) for error in refused), refused
    taken = sum(1 if index % 2 else 2 for index, result in enumerate(results) if not isinstance(result, Exception))
    assert taken <= 5
    assert stock(variant_id) == 5 - taken >= 0
    assert sum(movement.delta for movement in movements(variant_id)) == -taken


def test_a_sale_committing_while_a_count_is_set_waits_for_it(app, boss, details, monkeypatch):
    """The count is read under the write lock: a sale arriving between its read and its update waits its turn."""
    variant = make_product("Recounted Rug", stock=8).variants[0]
    db.session.commit()
    variant_id, boss_id = variant.id, boss.id
    read = threading.Event()
    locked_stock = inventory._locked_stock

    def slow_read(*args):
        found = locked_stock(*args)
        read.set()
        time.sleep(0.5)  # time enough for the sale to commit, were the row not locked
        return found

    monkeypatch.setattr(inventory, "_locked_stock", slow_read)

    def race(index: int, together):
        with app.app_context():
            try:
                together()
                if index:
                    assert read.wait(10)
                    return place_order({variant_id: 1}, details(email="racer@example.com"), None)
                return adjust_stock(db.session.get(User, boss_id), variant_id, StockReason.RECOUNT, set_to=3)
            finally:
                db.session.remove()

    adjustment, order = all_at_once(2, race)
    db.session.rollback()

    assert not isinstance(order, Exception), order
    assert (adjustment.before, adjustment.after) == (8, 3)
    assert stock(variant_id) == 2
    assert [movement.delta for movement in movements(variant_id)] == [-5, -1]
