"""orders after payment: shipped and delivered, partial refunds, shipments, order history, invoice numbers

Revision ID: 26682a8a24fa
Revises: 66850e1e164c
Create Date: 2026-11-30 13:48:34.687469

Fulfilled orders become shipped; refunded orders become cancelled with a refunded payment (an
order's refund is now its payment's state). Paid orders get invoice numbers in payment order.
"""
from alembic import op
import sqlalchemy as sa

import shop.models.base


# revision identifiers, used by Alembic.
revision = '26682a8a24fa'
down_revision = '66850e1e164c'
branch_labels = None
depends_on = None

OLD_ORDER_STATUSES = ('pending', 'paid', 'fulfilled', 'cancelled', 'expired', 'refunded')
OLD_PAYMENT_STATUSES = ('unpaid', 'processing', 'paid', 'failed', 'refunded')
ORDER_STATUSES = ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'expired')
PAYMENT_STATUSES = ('unpaid', 'processing', 'paid', 'failed', 'partially refunded', 'refunded')


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _check_statuses(order_statuses, payment_statuses):
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_orders_status'), type_='check')
        batch_op.drop_constraint(op.f('ck_orders_payment_status'), type_='check')
    op.execute(sa.text(STATUS_MOVES[order_statuses]))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_check_constraint('status', _one_of('status', order_statuses))
        batch_op.create_check_constraint('payment_status', _one_of('payment_status', payment_statuses))


STATUS_MOVES = {
    ORDER_STATUSES: "UPDATE orders SET status = CASE status WHEN 'fulfilled' THEN 'shipped' "
                    "WHEN 'refunded' THEN 'cancelled' ELSE status END",
    OLD_ORDER_STATUSES: "UPDATE orders SET "
                        "status = CASE WHEN payment_status IN ('refunded', 'partially refunded') THEN 'refunded' "
                        "WHEN status IN ('shipped', 'delivered') THEN 'fulfilled' ELSE status END, "
                        "payment_status = CASE payment_status WHEN 'partially refunded' THEN 'paid' "
                        "ELSE payment_status END",
}


def upgrade():
    op.create_table('counters',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_counters'))
    )
    op.create_table('order_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('status', 'note', 'shipment', 'refund', 'email', name='kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=False),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('from_payment_status', sa.String(length=20), nullable=False),
    sa.Column('to_payment_status', sa.String(length=20), nullable=False),
    sa.Column('actor_kind', sa.Enum('customer', 'admin', 'webhook', 'system', name='actor_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sa.String(length=254), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', shop.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_order_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_events_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events'))
    )
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.create_index('ix_order_events_order_id_id', ['order_id', 'id'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'requires_action', 'succeeded', 'failed', 'canceled', name='status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_refund_id', sa.String(length=255), nullable=True),
    sa.Column('request_token', sa.String(length=64), nullable=True),
    sa.Column('restock', sa.Boolean(), nullable=False),
    sa.Column('cancels_order', sa.Boolean(), nullable=False),
    sa.Column('actor_kind', sa.Enum('customer', 'admin', 'webhook', 'system', name='actor_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sa.String(length=254), nullable=False),
    sa.Column('created_at', shop.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('settled_at', shop.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_refunds_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refunds_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('provider_refund_id', name=op.f('uq_refunds_provider_refund_id')),
    sa.UniqueConstraint('request_token', name=op.f('uq_refunds_request_token'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_order_id', ['order_id'], unique=False)
        batch_op.create_index('ix_refunds_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('carrier', sa.String(length=60), nullable=False),
    sa.Column('tracking_number', sa.String(length=80), nullable=False),
    sa.Column('tracking_url', sa.String(length=500), nullable=False),
    sa.Column('request_token', sa.String(length=64), nullable=True),
    sa.Column('actor_email', sa.String(length=254), nullable=False),
    sa.Column('created_at', shop.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_shipments_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments')),
    sa.UniqueConstraint('request_token', name=op.f('uq_shipments_request_token'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index('ix_shipments_order_id', ['order_id'], unique=False)

    op.create_table('refund_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('refund_id', sa.Integer(), nullable=False),
    sa.Column('order_item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_refund_items_quantity_positive')),
    sa.ForeignKeyConstraint(['order_item_id'], ['order_items.id'], name=op.f('fk_refund_items_order_item_id_order_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_refund_items_refund_id_refunds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_items'))
    )
    with op.batch_alter_table('refund_items', schema=None) as batch_op:
        batch_op.create_index('ix_refund_items_order_item_id', ['order_item_id'], unique=False)
        batch_op.create_index('ix_refund_items_refund_id', ['refund_id'], unique=False)

    op.create_table('shipment_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('order_item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_shipment_items_quantity_positive')),
    sa.ForeignKeyConstraint(['order_item_id'], ['order_items.id'], name=op.f('fk_shipment_items_order_item_id_order_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_items_shipment_id_shipments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_items'))
    )
    with op.batch_alter_table('shipment_items', schema=None) as batch_op:
        batch_op.create_index('ix_shipment_items_order_item_id', ['order_item_id'], unique=False)
        batch_op.create_index('ix_shipment_items_shipment_id', ['shipment_id'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('coupon_use_counted', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('refunded_cents', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('shipped_at', shop.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', shop.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', shop.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_orders_payment_status_created_at', ['payment_status', 'created_at'], unique=False)
        batch_op.create_index('ix_orders_ship_name', ['ship_name'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_orders_invoice_number'), ['invoice_number'])

    _check_statuses(ORDER_STATUSES, PAYMENT_STATUSES)
    op.execute(sa.text(
        "UPDATE orders SET shipped_at = updated_at WHERE status = 'shipped'"))
    op.execute(sa.text(
        "UPDATE orders SET refunded_cents = total_cents, cancelled_at = updated_at WHERE payment_status = 'refunded'"))
    op.execute(sa.text(
        "UPDATE orders SET coupon_use_counted = true "
        "WHERE coupon_code IS NOT NULL AND payment_status IN ('paid', 'refunded')"))
    op.execute(sa.text(
        "UPDATE orders SET invoice_number = (SELECT numbered.position FROM "
        "(SELECT id, ROW_NUMBER() OVER (ORDER BY paid_at, id) AS position FROM orders WHERE paid_at IS NOT NULL) "
        "AS numbered WHERE numbered.id = orders.id) WHERE paid_at IS NOT NULL"))
    op.execute(sa.text(
        "INSERT INTO counters (name, value) SELECT 'invoice', COALESCE(MAX(invoice_number), 0) FROM orders"))


def downgrade():
    _check_statuses(OLD_ORDER_STATUSES, OLD_PAYMENT_STATUSES)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_orders_invoice_number'), type_='unique')
        batch_op.drop_index('ix_orders_ship_name')
        batch_op.drop_index('ix_orders_payment_status_created_at')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('shipped_at')
        batch_op.drop_column('refunded_cents')
        batch_op.drop_column('coupon_use_counted')
        batch_op.drop_column('invoice_number')

    with op.batch_alter_table('shipment_items', schema=None) as batch_op:
        batch_op.drop_index('ix_shipment_items_shipment_id')
        batch_op.drop_index('ix_shipment_items_order_item_id')

    op.drop_table('shipment_items')
    with op.batch_alter_table('refund_items', schema=None) as batch_op:
        batch_op.drop_index('ix_refund_items_refund_id')
        batch_op.drop_index('ix_refund_items_order_item_id')

    op.drop_table('refund_items')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_shipments_order_id')

    op.drop_table('shipments')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_status_created_at')
        batch_op.drop_index('ix_refunds_order_id')

    op.drop_table('refunds')
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_index('ix_order_events_order_id_id')

    op.drop_table('order_events')
    op.drop_table('counters')
