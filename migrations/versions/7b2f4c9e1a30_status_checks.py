"""order statuses and stock-movement reasons are checked against their known values

Revision ID: 7b2f4c9e1a30
Revises: df8388e84348
Create Date: 2026-11-30 10:00:00

"""
from alembic import op


revision = '7b2f4c9e1a30'
down_revision = 'df8388e84348'
branch_labels = None
depends_on = None

ORDER_STATUSES = ('pending', 'paid', 'fulfilled', 'cancelled', 'expired', 'refunded')
PAYMENT_STATUSES = ('unpaid', 'processing', 'paid', 'failed', 'refunded')
STOCK_REASONS = ('reserve', 'late sale', 'cancelled', 'expired', 'payment failed', 'refund')


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_check_constraint('status', _one_of('status', ORDER_STATUSES))
        batch_op.create_check_constraint('payment_status', _one_of('payment_status', PAYMENT_STATUSES))
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_check_constraint('reason', _one_of('reason', STOCK_REASONS))


def downgrade():
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_constraint('ck_stock_movements_reason', type_='check')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint('ck_orders_payment_status', type_='check')
        batch_op.drop_constraint('ck_orders_status', type_='check')
