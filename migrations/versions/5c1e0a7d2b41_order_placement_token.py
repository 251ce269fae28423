"""order placement token: one order per checkout form

Revision ID: 5c1e0a7d2b41
Revises: 09202b88ed5f
Create Date: 2026-11-30 09:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5c1e0a7d2b41'
down_revision = '09202b88ed5f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('placement_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_orders_placement_token'), ['placement_token'])


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_orders_placement_token'), type_='unique')
        batch_op.drop_column('placement_token')
