"""Many shoppers racing for the last units: exactly the stock is sold, never more."""
import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, StockMovement
from shop.services.orders import OutOfStock, place_order
from tests.concurrency import all_at_once
from tests.factories import make_product, stock

SHOPPERS = 12


def race(app, carts: list[dict[int, int]], details) -> list[object]:
    """Place every cart at once, each in its own thread and app context; return order ids or errors."""
    def shop(index: int, together) -> int:
        with app.app_context():
            together()
            try:
                return place_order(carts[index], details(email=f"racer{index}@example.com"), None).id
            finally:
                db.session.remove()

    results = all_at_once(len(carts), shop)
    # End the test's own read transaction: on SQLite it would keep seeing the stock from before the race.
    db.session.rollback()
    return results


def test_only_the_available_units_are_sold_and_every_loser_is_told(app, details):
    variant = make_product("Limited Print", stock=5).variants[0]
    db.session.commit()

    results = race(app, [{variant.id: 1}] * SHOPPERS, details)

    orders = [result for result in results if isinstance(result, int)]
    losers = [result for result in results if not isinstance(result, int)]
    assert len(orders) == 5
    assert len(losers) == SHOPPERS - 5
    assert all(isinstance(error, OutOfStock) and "Limited Print" in str(error) for error in losers), losers
    assert stock(variant.id) == 0
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 5
    assert db.session.scalar(sa.select(sa.func.sum(StockMovement.delta))) == -5


def test_multi_line_carts_in_any_order_neither_deadlock_nor_oversell(app, details):
    first = make_product("Left Glove", stock=4).variants[0]
    second = make_product("Right Glove", stock=4).variants[0]
    db.session.commit()
    # Half the shoppers list the lines one way round, half the other: locks must still come in id order.
    carts = [{first.id: 1, second.id: 1} if index % 2 else {second.id: 1, first.id: 1} for index in range(SHOPPERS)]

    results = race(app, carts, details)

    orders = [result for result in results if isinstance(result, int)]
    assert len(orders) == 4
    assert all(isinstance(result, OutOfStock) for result in results if not isinstance(result, int)), results
    assert (stock(first.id), stock(second.id)) == (0, 0)


@pytest.mark.parametrize("wanted", [2, 3])
def test_bulk_buyers_never_drive_stock_below_zero(app, details, wanted):
    variant = make_product("Crate", stock=7).variants[0]
    db.session.commit()

    results = race(app, [{variant.id: wanted}] * SHOPPERS, details)

    sold = sum(wanted for result in results if isinstance(result, int))
    assert sold == 7 - 7 % wanted
    assert stock(variant.id) == 7 % wanted
