"""The cart service against a real database: reconciliation, limits and save for later."""
import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import ProductVariant, SavedItem
from shop.services import ShopError
from shop.services.cart import (
    MAX_LINES,
    add_to_cart,
    clear_cart,
    item_count,
    load_cart,
    read_cart,
    update_quantity,
    write_cart,
)
from shop.services.lists import move_to_cart, save_for_later
from tests.factories import make_product, make_user


@pytest.fixture
def in_request(app):
    """Run a block as its own request, with its own database session, like a page view."""
    return app.test_request_context


def set_variant(variant_id: int, **values) -> None:
    db.session.execute(sa.update(ProductVariant).where(ProductVariant.id == variant_id).values(**values))
    db.session.commit()


def test_load_cart_reads_everything_from_the_database_in_two_queries(in_request, count_queries):
    variant_ids = [make_product(f"Pin {n:02d}", price_cents=100 + n, images=3).variants[0].id for n in range(MAX_LINES)]
    db.session.commit()
    session = {}
    write_cart(session, {variant_id: 2 for variant_id in variant_ids})
    with in_request(), count_queries() as queries:
        cart = load_cart(session)
    assert len(queries) == 2
    assert [line.product.name for line in cart.lines] == [f"Pin {n:02d}" for n in range(MAX_LINES)]
    assert cart.item_count == 2 * MAX_LINES
    assert cart.subtotal_cents == 2 * sum(100 + n for n in range(MAX_LINES))
    assert all(line.image.position == 0 for line in cart.lines)
    assert cart.notices == []


def test_an_empty_cart_costs_no_queries(in_request, count_queries):
    with in_request(), count_queries() as queries:
        cart = load_cart({})
    assert queries == [] and cart.is_empty and cart.subtotal_cents == 0


def test_load_cart_writes_the_cleaned_cart_back(in_request):
    keep = make_product("Keep", stock=2).variants[0].id
    sold_out = make_product("Gone", stock=0).variants[0].id
    db.session.commit()
    session = {"cart": {str(keep): 5, str(sold_out): 1, "31337": 1}}
    with in_request():
        cart = load_cart(session)
    assert read_cart(session) == {keep: 2}
    assert session["cart_prices"] == {str(keep): 1999}
    assert cart.notices == [
        "Only 2 of Keep left, so we lowered the quantity in your cart from 5 to 2.",
        "Gone is sold out and was removed from your cart.",
        "Some items in your cart are no longer available and were removed.",
    ]


def test_prices_are_never_taken_from_the_session(in_request):
    variant_id = make_product("Lamp", price_cents=4500).variants[0].id
    db.session.commit()
    session = {"cart": {str(variant_id): 2}, "cart_prices": {str(variant_id): 1}}
    with in_request():
        cart = load_cart(session)
    assert cart.subtotal_cents == 9000
    assert cart.lines[0].previous_price_cents == 1
    assert session["cart_prices"] == {str(variant_id): 4500}


def test_a_price_change_is_reported_once(in_request):
    variant_id = make_product("Lamp", price_cents=4500).variants[0].id
    db.session.commit()
    session = {}
    with in_request():
        add_to_cart(session, variant_id, 1)
    set_variant(variant_id, price_cents=3900)
    with in_request():
        first = load_cart(session)
    with in_request():
        second = load_cart(session)
    assert first.notices == ["The price of Lamp changed from $45.00 to $39.00 since you added it."]
    assert first.lines[0].unit_price_cents == 3900
    assert second.notices == [] and second.lines[0].previous_price_cents is None


@pytest.mark.parametrize("quantity", [0, -3, 100, 10**9])
def test_add_refuses_quantities_outside_1_to_99(in_request, quantity):
    variant_id = make_product().variants[0].id
    db.session.commit()
    session = {}
    with in_request(), pytest.raises(ShopError, match="from 1 to 99"):
        add_to_cart(session, variant_id, quantity)
    assert read_cart(session) == {}


def test_update_never_raises_above_stock_and_zero_removes(in_request):
    variant_id = make_product(stock=3).variants[0].id
    db.session.commit()
    session = {}
    with in_request():
        add_to_cart(session, variant_id, 1)
        change = update_quantity(session, variant_id, 50)
    assert change.adjusted and read_cart(session) == {variant_id: 3}
    with in_request():
        update_quantity(session, variant_id, 0)
    assert read_cart(session) == {} and item_count(session) == 0


def test_clear_cart_forgets_quantities_and_seen_prices(in_request):
    variant_id = make_product().variants[0].id
    db.session.commit()
    session = {"other": "kept"}
    with in_request():
        add_to_cart(session, variant_id, 1)
    clear_cart(session)
    assert session == {"other": "kept"}


def test_save_for_later_then_move_back_round_trips_through_the_database(in_request):
    user_id = make_user().id
    variant_id = make_product(stock=10).variants[0].id
    db.session.commit()
    session = {}
    with in_request():
        add_to_cart(session, variant_id, 4)
        save_for_later(session, user_id, variant_id)
    assert read_cart(session) == {}
    saved = db.session.execute(sa.select(SavedItem.id, SavedItem.quantity)).one()
    db.session.rollback()  # end this read, so the next one sees what the request committed
    assert saved.quantity == 4
    with in_request():
        move_to_cart(session, user_id, saved.id)
    assert read_cart(session) == {variant_id: 4}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedItem)) == 0


def test_move_to_cart_keeps_the_saved_item_when_the_cart_is_full(in_request):
    user_id = make_user().id
    variant_ids = [make_product().variants[0].id for _ in range(MAX_LINES + 1)]
    db.session.commit()
    session = {}
    with in_request():
        add_to_cart(session, variant_ids[-1], 1)
        save_for_later(session, user_id, variant_ids[-1])
    write_cart(session, {variant_id: 1 for variant_id in variant_ids[:MAX_LINES]})
    saved_id = db.session.scalar(sa.select(SavedItem.id))
    db.session.rollback()
    with in_request(), pytest.raises(ShopError, match="at most 50 different items"):
        move_to_cart(session, user_id, saved_id)
    assert db.session.scalar(sa.select(SavedItem.variant_id)) == variant_ids[-1]
    assert len(read_cart(session)) == MAX_LINES
