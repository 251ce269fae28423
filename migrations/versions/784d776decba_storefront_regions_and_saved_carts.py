"""storefront: regions and carts kept with accounts

Revision ID: 784d776decba
Revises: 26682a8a24fa
Create Date: 2026-11-30 16:36:23.749466

Addresses and orders gain a state/province/county; a logged-in shopper's cart is kept with the account.
"""
from alembic import op
import sqlalchemy as sa

import shop.models.base


# revision identifiers, used by Alembic.
revision = '784d776decba'
down_revision = '26682a8a24fa'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cart_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('seen_price_cents', sa.Integer(), nullable=True),
    sa.Column('updated_at', shop.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cart_lines_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_cart_lines_variant_id_product_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cart_lines')),
    sa.UniqueConstraint('user_id', 'variant_id', name='uq_cart_lines_user_variant')
    )
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=100), nullable=False, server_default=''))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ship_region', sa.String(length=100), nullable=False, server_default=''))



def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('ship_region')

    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_column('region')

    op.drop_table('cart_lines')
