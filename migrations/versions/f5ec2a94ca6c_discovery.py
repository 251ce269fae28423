"""discovery: search index, facets, vocabulary and reviews

Revision ID: f5ec2a94ca6c
Revises: 784d776decba
Create Date: 2026-12-06 21:46:13.360792

Full-text search rows per product (an FTS5 table on SQLite, a weighted tsvector and pg_trgm on
Postgres), option values for the filters, the vocabulary for spelling suggestions, and reviews.
The existing catalogue is indexed at the end.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.orm import Session

import shop.models.base
from shop.models.search import FTS_CREATE, FTS_TABLE
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'f5ec2a94ca6c'
down_revision = '784d776decba'
branch_labels = None
depends_on = None


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('search_words',
    sa.Column('word', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('word', name=op.f('pk_search_words'))
    )
    with op.batch_alter_table('search_words', schema=None) as batch_op:
        batch_op.create_index('ix_search_words_word_trigram', ['word'], unique=False, postgresql_using='gin', postgresql_ops={'word': 'gin_trgm_ops'})

    op.create_table('product_facet_values',
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('facet', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_facet_values_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_id', 'facet', 'value', name=op.f('pk_product_facet_values'))
    )
    with op.batch_alter_table('product_facet_values', schema=None) as batch_op:
        batch_op.create_index('ix_product_facet_values_facet_value', ['facet', 'value', 'product_id'], unique=False)

    op.create_table('product_search',
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('keywords', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('document', postgresql.TSVECTOR().with_variant(sa.Text(), 'sqlite'), nullable=True),
    sa.Column('min_price_cents', sa.Integer(), nullable=True),
    sa.Column('on_sale', sa.Boolean(), nullable=False),
    sa.Column('rating_count', sa.Integer(), nullable=False),
    sa.Column('rating_total', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_search_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_id', name=op.f('pk_product_search'))
    )
    with op.batch_alter_table('product_search', schema=None) as batch_op:
        batch_op.create_index('ix_product_search_document', ['document'], unique=False, postgresql_using='gin')
        batch_op.create_index('ix_product_search_min_price_cents', ['min_price_cents'], unique=False)
        batch_op.create_index('ix_product_search_listing', ['product_id', 'min_price_cents', 'on_sale', 'rating_count', 'rating_total'], unique=False)
        batch_op.create_index('ix_product_search_name_trigram', ['name'], unique=False, postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})

    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_name', sa.String(length=120), nullable=False),
    sa.Column('is_hidden', sa.Boolean(), nullable=False),
    sa.Column('created_at', shop.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shop.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rating >= 1 AND rating <= 5', name=op.f('ck_reviews_rating_one_to_five')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_reviews_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reviews_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('product_id', 'user_id', name='uq_reviews_product_user')
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index('ix_reviews_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_reviews_product_hidden_created', ['product_id', 'is_hidden', 'created_at'], unique=False)
        batch_op.create_index('ix_reviews_user_id', ['user_id'], unique=False)

    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.create_index('ix_product_variants_product_id_active_stock', ['product_id', 'is_active', 'stock'], unique=False)

    if sqlite:
        op.execute(FTS_CREATE)
    # The shop's own indexer fills the rows, so search finds the existing catalogue at once.
    from shop.services import search_index

    search_index.rebuild(Session(bind=op.get_bind()))


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.drop_index('ix_product_variants_product_id_active_stock')

    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_reviews_user_id')
        batch_op.drop_index('ix_reviews_product_hidden_created')
        batch_op.drop_index('ix_reviews_created_at')

    op.drop_table('reviews')
    with op.batch_alter_table('product_search', schema=None) as batch_op:
        batch_op.drop_index('ix_product_search_name_trigram', postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
        batch_op.drop_index('ix_product_search_min_price_cents')
        batch_op.drop_index('ix_product_search_listing')
        batch_op.drop_index('ix_product_search_document', postgresql_using='gin')

    op.drop_table('product_search')
    with op.batch_alter_table('product_facet_values', schema=None) as batch_op:
        batch_op.drop_index('ix_product_facet_values_facet_value')

    op.drop_table('product_facet_values')
    with op.batch_alter_table('search_words', schema=None) as batch_op:
        batch_op.drop_index('ix_search_words_word_trigram', postgresql_using='gin', postgresql_ops={'word': 'gin_trgm_ops'})

    op.drop_table('search_words')
    # pg_trgm stays: other objects of the database may have come to use it.
