"""store management: staff roles, coupon rules, shipping zones, regional tax, settings and content pages

Revision ID: b82ab7bcf604
Revises: f5ec2a94ca6c
Create Date: 2026-12-07 01:04:45.329772

Admins (is_admin) become owners; a user's role replaces the flag. Orders keep the tax they were
placed with and the shopper's consent to a reminder email.
"""
from alembic import op
import sqlalchemy as sa

import shop.models.base


# revision identifiers, used by Alembic.
revision = 'b82ab7bcf604'
down_revision = 'f5ec2a94ca6c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('content_pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('is_published', sa.Boolean(), nullable=False),
    sa.Column('show_in_footer', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', shop.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shop.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_pages')),
    sa.UniqueConstraint('slug', name=op.f('uq_content_pages_slug'))
    )
    with op.batch_alter_table('content_pages', schema=None) as batch_op:
        batch_op.create_index('ix_content_pages_published_position', ['is_published', 'position'], unique=False)

    op.create_table('email_opt_outs',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('topic', sa.String(length=20), nullable=False),
    sa.Column('created_at', shop.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('email', 'topic', name=op.f('pk_email_opt_outs'))
    )
    op.create_table('coupon_categories',
    sa.Column('coupon_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_coupon_categories_category_id_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name=op.f('fk_coupon_categories_coupon_id_coupons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('coupon_id', 'category_id', name=op.f('pk_coupon_categories'))
    )
    with op.batch_alter_table('coupon_categories', schema=None) as batch_op:
        batch_op.create_index('ix_coupon_categories_category_id', ['category_id'], unique=False)

    op.create_table('shipping_zones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipping_method_id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['shipping_method_id'], ['shipping_methods.id'], name=op.f('fk_shipping_zones_shipping_method_id_shipping_methods'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipping_zones')),
    sa.UniqueConstraint('shipping_method_id', 'country', 'region', name='uq_shipping_zones_method_place')
    )
    with op.batch_alter_table('shipping_zones', schema=None) as batch_op:
        batch_op.create_index('ix_shipping_zones_country_region', ['country', 'region'], unique=False)

    op.create_table('store_settings',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', shop.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_store_settings_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_store_settings'))
    )
    op.create_table('coupon_products',
    sa.Column('coupon_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name=op.f('fk_coupon_products_coupon_id_coupons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_coupon_products_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('coupon_id', 'product_id', name=op.f('pk_coupon_products'))
    )
    with op.batch_alter_table('coupon_products', schema=None) as batch_op:
        batch_op.create_index('ix_coupon_products_product_id', ['product_id'], unique=False)

    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index('ix_audit_records_entity_type_created_at', ['entity_type', 'created_at'], unique=False)

    with op.batch_alter_table('coupons', schema=None) as batch_op:
        # A coupon may now only make shipping free, with no discount of its own.
        batch_op.drop_constraint(op.f('ck_coupons_value_positive'), type_='check')
        batch_op.create_check_constraint(op.f('ck_coupons_value_not_negative'), 'value >= 0')
        batch_op.add_column(sa.Column('per_customer_limit', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('free_shipping', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('created_at', shop.models.base.UTCDateTime(timezone=True), nullable=False,
                                      server_default=sa.func.current_timestamp()))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_rate_bp', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('tax_label', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tax_included', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('recovery_consent', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('recovery_sent_at', shop.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_orders_paid_at', ['paid_at'], unique=False)
        batch_op.create_index('ix_orders_recovery_due', ['recovery_consent', 'recovery_sent_at', 'status'], unique=False)

    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('low_stock_alerted', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_settled_at', ['settled_at'], unique=False)

    with op.batch_alter_table('tax_rates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('label', sa.String(length=40), nullable=False, server_default='Tax'))
        batch_op.drop_constraint(batch_op.f('uq_tax_rates_country'), type_='unique')
        batch_op.create_unique_constraint('uq_tax_rates_country_region', ['country', 'region'])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=10), nullable=False, server_default='customer'))
        batch_op.add_column(sa.Column('disabled_at', shop.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('email_confirmed_at', shop.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_users_name', ['name'], unique=False)
        batch_op.create_index('ix_users_role', ['role'], unique=False)
    op.execute("UPDATE users SET role = 'owner' WHERE is_admin")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_users_role_known'), "role IN ('customer', 'staff', 'owner')")
        batch_op.drop_column('is_admin')

    _seed_content_pages()



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_admin', sa.BOOLEAN(), nullable=False, server_default=sa.false()))
    # Staff had no place before roles: going back, only owners keep the back office.
    op.execute("UPDATE users SET is_admin = (role = 'owner')")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role_known'), type_='check')
        batch_op.drop_index('ix_users_role')
        batch_op.drop_index('ix_users_name')
        batch_op.drop_column('email_confirmed_at')
        batch_op.drop_column('disabled_at')
        batch_op.drop_column('role')

    # A country keeps one rate going back: its regions' rates go.
    op.execute("DELETE FROM tax_rates WHERE region <> ''")
    with op.batch_alter_table('tax_rates', schema=None) as batch_op:
        batch_op.drop_constraint('uq_tax_rates_country_region', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_tax_rates_country'), ['country'])
        batch_op.drop_column('label')
        batch_op.drop_column('region')

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_settled_at')

    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.drop_column('low_stock_alerted')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_recovery_due')
        batch_op.drop_index('ix_orders_paid_at')
        batch_op.drop_column('recovery_sent_at')
        batch_op.drop_column('recovery_consent')
        batch_op.drop_column('tax_included')
        batch_op.drop_column('tax_label')
        batch_op.drop_column('tax_rate_bp')

    op.execute("UPDATE coupons SET value = 1 WHERE value = 0")
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.drop_column('created_at')
        batch_op.drop_column('free_shipping')
        batch_op.drop_column('per_customer_limit')
        batch_op.drop_constraint(op.f('ck_coupons_value_not_negative'), type_='check')
        batch_op.create_check_constraint(op.f('ck_coupons_value_positive'), 'value > 0')

    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_records_entity_type_created_at')

    with op.batch_alter_table('coupon_products', schema=None) as batch_op:
        batch_op.drop_index('ix_coupon_products_product_id')

    op.drop_table('coupon_products')
    op.drop_table('store_settings')
    with op.batch_alter_table('shipping_zones', schema=None) as batch_op:
        batch_op.drop_index('ix_shipping_zones_country_region')

    op.drop_table('shipping_zones')
    with op.batch_alter_table('coupon_categories', schema=None) as batch_op:
        batch_op.drop_index('ix_coupon_categories_category_id')

    op.drop_table('coupon_categories')
    op.drop_table('email_opt_outs')
    with op.batch_alter_table('content_pages', schema=None) as batch_op:
        batch_op.drop_index('ix_content_pages_published_position')

    op.drop_table('content_pages')


def _seed_content_pages():
    """Create the shop's starting information pages: About, Shipping & returns, Privacy, Terms, Contact.

    Their words were the footer pages' templates; the shipping methods and the contact details are
    filled in where the text says [shipping methods] and [contact details].
    """
    from shop.models.base import now_utc
    from shop.services.content_pages import STARTING_PAGES

    pages = sa.table(
        'content_pages',
        sa.column('slug', sa.String), sa.column('title', sa.String), sa.column('body', sa.Text),
        sa.column('is_published', sa.Boolean), sa.column('show_in_footer', sa.Boolean),
        sa.column('position', sa.Integer), sa.column('created_at', shop.models.base.UTCDateTime(timezone=True)),
        sa.column('updated_at', shop.models.base.UTCDateTime(timezone=True)),
    )
    now = now_utc()
    op.bulk_insert(pages, [
        {'slug': page.slug, 'title': page.title, 'body': page.body, 'is_published': True, 'show_in_footer': True,
         'position': page.position, 'created_at': now, 'updated_at': now}
        for page in STARTING_PAGES
    ])
