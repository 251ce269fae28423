"""Full-text matching of what a shopper types, behind one interface: SQLite FTS5 or Postgres tsvector.

`matching(term)` gives a subquery of (product_id, rank) that listings join; a higher rank is a
better match. Words are taken from the text with a Unicode-aware pattern and quoted before they
reach either engine, so no typed character is ever query syntax.
"""
import re

import sqlalchemy as sa

from shop.extensions import db
from shop.models import ProductSearch
from shop.models.search import FTS_TABLE, TEXT_SEARCH_CONFIG

MAX_WORDS = 12
_WORD = re.compile(r"[^\W_]+")
# bm25 weights of the FTS5 columns name, keywords, description: a name match outranks the others.
COLUMN_WEIGHTS = (10.0, 4.0, 1.0)


def words(term: str) -> list[str]:
    """Return the searchable words of what was typed, lower-cased, at most MAX_WORDS."""
    return _WORD.findall(term.casefold())[:MAX_WORDS]


def matching(term: str):
    """Return a subquery (product_id, rank) of the products matching every word, the last as a prefix.

    None when the text holds no word to search for.
    """
    found = words(term)
    if not found:
        return None
    if db.session.get_bind().dialect.name == "sqlite":
        expression = " ".join(f'"{word}"' for word in found[:-1]) + f' "{found[-1]}"*'
        weights = ", ".join(str(weight) for weight in COLUMN_WEIGHTS)
        return (
            sa.select(sa.literal_column("rowid").label("product_id"),
                      sa.literal_column(f"-bm25({FTS_TABLE}, {weights})").label("rank"))
            .select_from(sa.table(FTS_TABLE))
            .where(sa.literal_column(FTS_TABLE).op("MATCH")(expression.strip()))
            .subquery("text_matches")
        )
    query = sa.func.to_tsquery(sa.literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig"),
                               " & ".join([*found[:-1], found[-1] + ":*"]))
    return (
        sa.select(ProductSearch.product_id, sa.func.ts_rank(ProductSearch.document, query).label("rank"))
        .where(ProductSearch.document.op("@@")(query))
        .subquery("text_matches")
    )
