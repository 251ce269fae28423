"""A logged-in shopper's cart kept with the account: writes on every change, the merge at login, races."""
import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import CartLine, Product, ProductVariant, SavedItem
from shop.services import ShopError
from shop.services.cart import (
    MAX_LINES,
    MAX_QUANTITY,
    SEEN_PRICES_KEY,
    add_to_cart,
    clear_cart,
    load_cart,
    merge_saved_cart,
    read_cart,
    remove_from_cart,
    update_quantity,
    write_cart,
)
from shop.services.lists import move_to_cart, save_for_later
from tests.concurrency import all_at_once
from tests.factories import make_product, make_user


def saved_rows(user_id: int) -> dict[int, tuple[int, int | None]]:
    """Return the account's cart as {variant_id: (quantity, seen price)}, read afresh."""
    db.session.commit()
    rows = db.session.execute(
        sa.select(CartLine.variant_id, CartLine.quantity, CartLine.seen_price_cents).where(CartLine.user_id == user_id)
    )
    return {row.variant_id: (row.quantity, row.seen_price_cents) for row in rows}


def save(user_id: int, lines: dict[int, int], seen: dict[int, int] | None = None) -> None:
    """Put lines in the account's cart as an earlier login on another device left them."""
    seen = seen or {}
    db.session.add_all(CartLine(user_id=user_id, variant_id=variant_id, quantity=quantity,
                                seen_price_cents=seen.get(variant_id))
                       for variant_id, quantity in lines.items())
    db.session.commit()


def guest_cart(lines: dict[int, int], seen: dict[int, int] | None = None) -> dict:
    """Return a guest's session holding these lines and the prices they saw."""
    session: dict = {}
    write_cart(session, lines)
    session[SEEN_PRICES_KEY] = {str(variant_id): cents for variant_id, cents in (seen or {}).items()}
    return session


def merge(app, session: dict, user_id: int) -> list[str]:
    with app.test_request_context():
        return [change.message for change in merge_saved_cart(session, user_id)]


def set_variant(variant_id: int, **values) -> None:
    db.session.execute(sa.update(ProductVariant).where(ProductVariant.id == variant_id).values(**values))
    db.session.commit()


# --- Every change made while logged in is written to the account -----------------------------

def test_add_update_remove_and_clear_are_written_to_the_account(app):
    user_id = make_user().id
    mug_id = make_product("Camp Mug", price_cents=850).variants[0].id
    tent_id = make_product("Tent", price_cents=1000, stock=3).variants[0].id
    db.session.commit()
    session: dict = {}
    with app.test_request_context():
        add_to_cart(session, mug_id, 2, user_id)
        add_to_cart(session, mug_id, 1, user_id)
        add_to_cart(session, tent_id, 1, user_id)
    assert saved_rows(user_id) == {mug_id: (3, 850), tent_id: (1, 1000)}
    with app.test_request_context():
        update_quantity(session, tent_id, 5, user_id)  # lowered to the 3 in stock
        remove_from_cart(session, mug_id, user_id)
    assert saved_rows(user_id) == {tent_id: (3, 1000)}
    with app.test_request_context():
        update_quantity(session, tent_id, 0, user_id)
    assert saved_rows(user_id) == {}
    with app.test_request_context():
        add_to_cart(session, mug_id, 1, user_id)
        clear_cart(session, user_id)
    assert saved_rows(user_id) == {} and read_cart(session) == {}


def test_a_guests_changes_touch_no_table(app, count_queries):
    variant_id = make_product("Camp Mug").variants[0].id
    db.session.commit()
    session: dict = {}
    with app.test_request_context(), count_queries() as queries:
        add_to_cart(session, variant_id, 2)
        clear_cart(session)
    assert len(queries) == 1  # loading the variant
    assert db.session.scalar(sa.select(sa.func.count(CartLine.id))) == 0


def test_a_line_that_became_unavailable_leaves_the_account_too(app):
    user_id = make_user().id
    variant_id = make_product("Camp Mug").variants[0].id
    db.session.commit()
    session: dict = {}
    with app.test_request_context():
        add_to_cart(session, variant_id, 2, user_id)
    set_variant(variant_id, is_active=False)
    with app.test_request_context(), pytest.raises(ShopError, match="no longer available"):
        update_quantity(session, variant_id, 3, user_id)
    assert read_cart(session) == {} and saved_rows(user_id) == {}


def test_save_for_later_and_back_move_the_line_out_of_and_into_the_account(app):
    user_id = make_user().id
    variant_id = make_product("Camp Mug", price_cents=850).variants[0].id
    db.session.commit()
    session: dict = {}
    with app.test_request_context():
        add_to_cart(session, variant_id, 2, user_id)
        save_for_later(session, user_id, variant_id)
    assert saved_rows(user_id) == {}
    saved_id = db.session.scalar(sa.select(SavedItem.id))
    with app.test_request_context():
        move_to_cart(session, user_id, saved_id)
    assert saved_rows(user_id) == {variant_id: (2, 850)}


# --- The merge at login ----------------------------------------------------------------------

def test_lines_of_the_same_variant_are_added_together_and_others_kept(app):
    user_id = make_user().id
    mug, hat, sock = (make_product(name).variants[0].id for name in ("Camp Mug", "Sun Hat", "Wool Sock"))
    db.session.commit()
    save(user_id, {mug: 2, sock: 1})
    session = guest_cart({mug: 3, hat: 1})

    messages = merge(app, session, user_id)

    assert read_cart(session) == {mug: 5, hat: 1, sock: 1}
    assert {variant_id: quantity for variant_id, (quantity, _) in saved_rows(user_id).items()} == read_cart(session)
    assert messages == ["The cart saved with your account was added to this one."]


def test_a_saved_cart_comes_back_into_an_empty_session_silently(app):
    user_id = make_user().id
    mug = make_product("Camp Mug").variants[0].id
    db.session.commit()
    save(user_id, {mug: 2})
    session: dict = {}
    assert merge(app, session, user_id) == []
    assert read_cart(session) == {mug: 2}


def test_a_guest_cart_is_saved_for_an_account_with_none(app):
    user_id = make_user().id
    mug = make_product("Camp Mug", price_cents=850).variants[0].id
    db.session.commit()
    session = guest_cart({mug: 2}, {mug: 850})
    assert merge(app, session, user_id) == []
    assert saved_rows(user_id) == {mug: (2, 850)}


def test_quantities_are_capped_at_99(app):
    user_id = make_user().id
    mug = make_product("Camp Mug", stock=500).variants[0].id
    db.session.commit()
    save(user_id, {mug: 60})
    session = guest_cart({mug: 60})

    messages = merge(app, session, user_id)

    assert read_cart(session) == {mug: MAX_QUANTITY}
    assert saved_rows(user_id)[mug][0] == MAX_QUANTITY
    assert f"You can buy at most 99 of Camp Mug at a time, so your cart now has {MAX_QUANTITY}." in messages


def test_quantities_are_capped_at_the_stock_as_adding_does(app):
    user_id = make_user().id
    tent = make_product("Alpine Tent", stock=5).variants[0].id
    db.session.commit()
    save(user_id, {tent: 4})
    session = guest_cart({tent: 3})

    messages = merge(app, session, user_id)

    assert read_cart(session) == {tent: 5}
    assert saved_rows(user_id)[tent][0] == 5
    assert "Only 5 of Alpine Tent available, so your cart now has 5." in messages


def test_at_most_50_lines_and_the_guests_new_lines_come_first(app):
    user_id = make_user().id
    variant_ids = [make_product(f"Pin {n:02d}").variants[0].id for n in range(MAX_LINES + 10)]
    db.session.commit()
    guest_ids, saved_ids = variant_ids[:30], variant_ids[30:]
    save(user_id, {variant_id: 1 for variant_id in saved_ids})
    session = guest_cart({variant_id: 2 for variant_id in guest_ids})

    messages = merge(app, session, user_id)

    cart = read_cart(session)
    assert len(cart) == MAX_LINES
    assert all(cart[variant_id] == 2 for variant_id in guest_ids)
    assert set(saved_rows(user_id)) == set(cart)
    assert ("Your cart can hold at most 50 different items, so 10 items from the cart saved with your account "
            "were left out.") in messages


def test_retired_sold_out_and_deleted_variants_are_dropped(app):
    user_id = make_user().id
    tent = make_product("Alpine Tent", variants=[{"size": "2P"}, {"size": "3P"}, {"size": "4P"}])
    mug = make_product("Camp Mug")
    retired_variant, sold_out, kept = (variant.id for variant in tent.variants)
    retired_product, mug_id = mug.variants[0].id, mug.id
    db.session.commit()
    save(user_id, {retired_variant: 1, sold_out: 2, kept: 1})
    set_variant(retired_variant, is_active=False)
    set_variant(sold_out, stock=0)
    db.session.execute(sa.update(Product).where(Product.id == mug_id).values(is_active=False))
    db.session.commit()
    session = guest_cart({retired_product: 1, 2**31 - 1: 1})  # a deleted variant's id

    messages = merge(app, session, user_id)

    assert read_cart(session) == {kept: 1}
    assert set(saved_rows(user_id)) == {kept}
    assert "Alpine Tent (2P) is no longer sold and was removed from your cart." in messages
    assert "Alpine Tent (3P) is sold out and was removed from your cart." in messages
    assert "Camp Mug is no longer sold and was removed from your cart." in messages
    assert "Some items in your cart are no longer available and were removed." in messages


def test_seen_prices_travel_with_the_lines(app):
    user_id = make_user().id
    mug = make_product("Camp Mug", price_cents=850).variants[0].id
    hat = make_product("Sun Hat", price_cents=2000).variants[0].id
    db.session.commit()
    save(user_id, {hat: 1}, seen={hat: 1800})  # seen on another device before a price rise
    session = guest_cart({mug: 1}, {mug: 850})

    merge(app, session, user_id)

    assert session[SEEN_PRICES_KEY] == {str(mug): 850, str(hat): 1800}
    with app.test_request_context():
        notices = load_cart(session).notices
    assert notices == ["The price of Sun Hat changed from $18.00 to $20.00 since you added it."]


# --- Two requests at once --------------------------------------------------------------------

def test_concurrent_adds_of_one_line_leave_one_row(app):
    user_id = make_user().id
    variant_id = make_product("Camp Mug", stock=500).variants[0].id
    db.session.commit()

    def add(index: int, together) -> int:
        session: dict = {}
        with app.test_request_context():
            try:
                together()
                add_to_cart(session, variant_id, index + 1, user_id)
                return read_cart(session)[variant_id]
            finally:
                db.session.remove()

    results = all_at_once(6, add)

    assert results == [1, 2, 3, 4, 5, 6]
    [(quantity, _)] = saved_rows(user_id).values()
    assert quantity in results  # the last writer's line, never a duplicate row


def test_concurrent_logins_merge_one_after_the_other(app):
    user_id = make_user().id
    variant_ids = [make_product(f"Pin {n}").variants[0].id for n in range(4)]
    shared = variant_ids[0]
    db.session.commit()
    save(user_id, {shared: 3})
    guests = [guest_cart({shared: 1, variant_ids[1 + index]: 1}) for index in range(3)]

    def log_in(index: int, together) -> list[str]:
        with app.test_request_context():
            try:
                together()
                return [change.message for change in merge_saved_cart(guests[index], user_id)]
            finally:
                db.session.remove()

    results = all_at_once(3, log_in)

    assert all(isinstance(result, list) for result in results), results
    assert {variant_id: quantity for variant_id, (quantity, _) in saved_rows(user_id).items()} == {
        shared: 6, variant_ids[1]: 1, variant_ids[2]: 1, variant_ids[3]: 1,
    }
