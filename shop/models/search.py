"""What shoppers' search and filters read: one row per product, kept in step with the catalogue.

The rows are derived data (see shop/services/search_index.py), rebuilt from the catalogue at will.
SQLite searches the text through an FTS5 table (`product_search_fts`, created beside the table
below); Postgres through the weighted `document` tsvector with a GIN index, and `pg_trgm` for
near-misses. Neither is a table of the metadata's own kind, so both are created by the DDL hooks
at the end of this module and by the migration.
"""
from sqlalchemy import DDL, Boolean, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import Model, db
from shop.models import lengths

FTS_TABLE = "product_search_fts"
# Porter stems English plurals ("tees" finds "Tee"); prefix indexes keep "swea*" a seek while typing.
FTS_CREATE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(name, keywords, description,"
    " tokenize='porter unicode61 remove_diacritics 2', prefix='2 3')"
)
TEXT_SEARCH_CONFIG = "english"


class ProductSearch(Model):
    """A product as search and the listing filters see it; rows exist for every product, active or not."""

    __tablename__ = "product_search"
    __table_args__ = (
        Index("ix_product_search_document", "document", postgresql_using="gin"),
        Index("ix_product_search_name_trigram", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}),
        Index("ix_product_search_min_price_cents", "min_price_cents"),
        # What listings read per product, without visiting the wide rows that hold the text.
        Index("ix_product_search_listing", "product_id", "min_price_cents", "on_sale", "rating_count", "rating_total"),
    )

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(Text, default="")
    # Brand, category path, option names and values, SKUs and specifications: words that say what it is.
    keywords: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")  # plain text, Markdown removed
    # Postgres only: name (A), keywords (B) and description (C) as one weighted tsvector; NULL on SQLite.
    document: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"), nullable=True)
    # The cheapest active variant's price; NULL when no variant is on sale, and then the product is not listed.
    min_price_cents: Mapped[int | None] = mapped_column(Integer)
    on_sale: Mapped[bool] = mapped_column(Boolean, default=False)  # an active variant below its compare-at price
    # Visible reviews only; the average is rating_total / rating_count, compared in integers.
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    rating_total: Mapped[int] = mapped_column(Integer, default=0)


class ProductFacetValue(Model):
    """An option value a product offers on an active variant, e.g. ("Colour", "Navy"), for the option filters."""

    __tablename__ = "product_facet_values"
    __table_args__ = (Index("ix_product_facet_values_facet_value", "facet", "value", "product_id"),)

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    facet: Mapped[str] = mapped_column(String(lengths.OPTION_NAME), primary_key=True)  # the option's name
    value: Mapped[str] = mapped_column(String(lengths.OPTION_VALUE), primary_key=True)


class SearchWord(Model):
    """A word of the catalogue's own vocabulary (names, brands, categories, option values) for "Did you mean"."""

    __tablename__ = "search_words"
    __table_args__ = (
        Index("ix_search_words_word_trigram", "word", postgresql_using="gin", postgresql_ops={"word": "gin_trgm_ops"}),
    )

    word: Mapped[str] = mapped_column(String(lengths.SEARCH_WORD), primary_key=True)


event.listen(db.metadata, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))
event.listen(ProductSearch.__table__, "after_create", DDL(FTS_CREATE).execute_if(dialect="sqlite"))
event.listen(ProductSearch.__table__, "after_drop",
             DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite"))


def include_in_schema_comparison(name, type_, parent_names) -> bool:
    """Leave the FTS5 table and its shadow tables, which the metadata does not describe, out of autogenerate."""
    return not (type_ == "table" and name is not None and name.startswith(FTS_TABLE))
