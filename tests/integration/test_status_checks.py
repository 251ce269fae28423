"""The database itself refuses an order status, payment status or stock reason the code does not know."""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from shop.extensions import db
from tests.factories import make_order


@pytest.mark.parametrize("column", ["status", "payment_status"])
def test_an_unknown_order_status_is_refused(app, column):
    order_id = make_order().id
    db.session.commit()
    with pytest.raises(IntegrityError, match=f"ck_orders_{column}"):
        # Raw SQL: the ORM would refuse the value itself before the database sees it.
        db.session.execute(sa.text(f"UPDATE orders SET {column} = 'shipped-ish' WHERE id = :id"), {"id": order_id})
        db.session.commit()
    db.session.rollback()


def test_an_unknown_stock_reason_is_refused(app):
    order = make_order()
    db.session.commit()
    with pytest.raises(IntegrityError, match="ck_stock_movements_reason"):
        db.session.execute(sa.text("INSERT INTO stock_movements (variant_id, order_id, delta, reason, note, created_at)"
                                   " VALUES (:variant_id, :order_id, -1, 'borrowed', '', CURRENT_TIMESTAMP)"),
                           {"variant_id": order.items[0].variant_id, "order_id": order.id})
        db.session.commit()
    db.session.rollback()
