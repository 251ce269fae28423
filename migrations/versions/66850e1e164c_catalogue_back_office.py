"""catalogue back office: owner-named options, specifications, slug redirects, SEO fields, the audit log

Each variant's fixed size and colour become the values of the product's options "Size" and
"Colour" (in that order, as the variant's label already read), so every variant id, cart and
order snapshot keeps working.

Revision ID: 66850e1e164c
Revises: 7b2f4c9e1a30
Create Date: 2026-11-30 11:03:32.658535

"""
from alembic import op
import sqlalchemy as sa

import shop.models.base

OLD_STOCK_REASONS = ('reserve', 'late sale', 'cancelled', 'expired', 'payment failed', 'refund')
STOCK_REASONS = OLD_STOCK_REASONS + ('received', 'damaged', 'recount', 'other', 'import')


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


# revision identifiers, used by Alembic.
revision = '66850e1e164c'
down_revision = '7b2f4c9e1a30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('created_at', shop.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_records_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_records'))
    )
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index('ix_audit_records_actor_id', ['actor_id'], unique=False)
        batch_op.create_index('ix_audit_records_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_audit_records_entity', ['entity_type', 'entity_id'], unique=False)

    op.create_table('product_options',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.CheckConstraint('position >= 0 AND position < 3', name=op.f('ck_product_options_position_in_range')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_options_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_options')),
    sa.UniqueConstraint('product_id', 'position', name='uq_product_options_product_id_position')
    )
    op.create_table('product_slug_redirects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('old_slug', sa.String(length=200), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('created_at', shop.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_slug_redirects_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_slug_redirects')),
    sa.UniqueConstraint('old_slug', name=op.f('uq_product_slug_redirects_old_slug'))
    )
    with op.batch_alter_table('product_slug_redirects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_slug_redirects_product_id'), ['product_id'], unique=False)

    op.create_table('product_specifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_specifications_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_specifications'))
    )
    with op.batch_alter_table('product_specifications', schema=None) as batch_op:
        batch_op.create_index('ix_product_specifications_product_id_position', ['product_id', 'position'], unique=False)

    op.create_table('product_option_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('option_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['option_id'], ['product_options.id'], name=op.f('fk_product_option_values_option_id_product_options'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_option_values')),
    sa.UniqueConstraint('option_id', 'value', name='uq_product_option_values_option_id_value')
    )
    with op.batch_alter_table('product_option_values', schema=None) as batch_op:
        batch_op.create_index('ix_product_option_values_option_id_position', ['option_id', 'position'], unique=False)

    with op.batch_alter_table('brands', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('logo_key', sa.String(length=120), nullable=True))

    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('seo_title', sa.String(length=120), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('meta_description', sa.String(length=320), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('image_key', sa.String(length=120), nullable=True))

    with op.batch_alter_table('product_images', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('height', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_product_images_key'), ['key'])

    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('option1', sa.String(length=40), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('option2', sa.String(length=40), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('option3', sa.String(length=40), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('is_active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('image_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_product_variants_image_id_product_images'), 'product_images', ['image_id'], ['id'], ondelete='SET NULL')
        batch_op.drop_index('ix_product_variants_product_id_price')
        batch_op.create_index('ix_product_variants_product_id_active_price', ['product_id', 'is_active', 'price_cents'], unique=False)

    _size_and_colour_become_options()

    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.drop_column('colour')
        batch_op.drop_column('size')

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seo_title', sa.String(length=120), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('meta_description', sa.String(length=320), nullable=False, server_default=sa.text("''")))

    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=False, server_default=sa.text("''")))
        batch_op.drop_index(batch_op.f('ix_stock_movements_variant_id'))
        batch_op.create_index('ix_stock_movements_variant_id_id', ['variant_id', 'id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_stock_movements_actor_id_users'), 'users', ['actor_id'], ['id'], ondelete='SET NULL')
        batch_op.drop_constraint(op.f('ck_stock_movements_reason'), type_='check')
        batch_op.create_check_constraint('reason', _one_of('reason', STOCK_REASONS))


def _size_and_colour_become_options():
    """Name each product's options after the columns its variants used, values in first-seen order."""
    connection = op.get_bind()
    variants = connection.execute(sa.text(
        "SELECT id, product_id, size, colour FROM product_variants ORDER BY product_id, position, id"
    )).all()
    by_product = {}
    for variant in variants:
        by_product.setdefault(variant.product_id, []).append(variant)
    options = sa.table('product_options', sa.column('id'), sa.column('product_id'), sa.column('position'),
                       sa.column('name'))
    values = sa.table('product_option_values', sa.column('option_id'), sa.column('value'), sa.column('position'))
    for product_id, rows in by_product.items():
        used = [(name, column) for name, column in (("Size", "size"), ("Colour", "colour"))
                if any(getattr(row, column) for row in rows)]
        for position, (name, column) in enumerate(used):
            option_id = connection.execute(
                options.insert().values(product_id=product_id, position=position, name=name).returning(options.c.id)
            ).scalar_one()
            seen = list(dict.fromkeys(getattr(row, column) for row in rows if getattr(row, column)))
            connection.execute(values.insert(), [
                {"option_id": option_id, "value": value, "position": index} for index, value in enumerate(seen)
            ])
            connection.execute(sa.text(
                f"UPDATE product_variants SET option{position + 1} = {column} WHERE product_id = :product_id"
            ), {"product_id": product_id})


def downgrade():
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stock_movements_reason'), type_='check')
        batch_op.create_check_constraint('reason', _one_of('reason', OLD_STOCK_REASONS))
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_stock_movements_actor_id_users'), type_='foreignkey')
        batch_op.drop_index('ix_stock_movements_variant_id_id')
        batch_op.create_index(batch_op.f('ix_stock_movements_variant_id'), ['variant_id'], unique=False)
        batch_op.drop_column('note')
        batch_op.drop_column('actor_id')

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('meta_description')
        batch_op.drop_column('seo_title')

    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('size', sa.VARCHAR(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('colour', sa.VARCHAR(length=40), nullable=False, server_default=''))
    # Only what the two fixed columns can hold survives: options named Size and Colour.
    for column in ('size', 'colour'):
        for position in (1, 2, 3):
            op.execute(
                f"UPDATE product_variants SET {column} = option{position} WHERE EXISTS ("
                f"SELECT 1 FROM product_options o WHERE o.product_id = product_variants.product_id "
                f"AND o.position = {position - 1} AND o.name = '{column.title() if column == 'size' else 'Colour'}')"
            )
    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.drop_index('ix_product_variants_product_id_active_price')
        batch_op.create_index('ix_product_variants_product_id_price', ['product_id', 'price_cents'], unique=False)
        batch_op.drop_constraint(batch_op.f('fk_product_variants_image_id_product_images'), type_='foreignkey')
        batch_op.drop_column('image_id')
        batch_op.drop_column('is_active')
        batch_op.drop_column('option3')
        batch_op.drop_column('option2')
        batch_op.drop_column('option1')

    with op.batch_alter_table('product_images', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_product_images_key'), type_='unique')
        batch_op.drop_column('height')
        batch_op.drop_column('width')
        batch_op.drop_column('key')

    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('image_key')
        batch_op.drop_column('meta_description')
        batch_op.drop_column('seo_title')
        batch_op.drop_column('is_active')

    with op.batch_alter_table('brands', schema=None) as batch_op:
        batch_op.drop_column('logo_key')
        batch_op.drop_column('description')

    with op.batch_alter_table('product_option_values', schema=None) as batch_op:
        batch_op.drop_index('ix_product_option_values_option_id_position')

    op.drop_table('product_option_values')
    with op.batch_alter_table('product_specifications', schema=None) as batch_op:
        batch_op.drop_index('ix_product_specifications_product_id_position')

    op.drop_table('product_specifications')
    with op.batch_alter_table('product_slug_redirects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_slug_redirects_product_id'))

    op.drop_table('product_slug_redirects')
    op.drop_table('product_options')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_records_entity')
        batch_op.drop_index('ix_audit_records_created_at')
        batch_op.drop_index('ix_audit_records_actor_id')

    op.drop_table('audit_records')
