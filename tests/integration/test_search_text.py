"""What a shopper finds by typing, on SQLite FTS5 and on Postgres full-text search alike."""
import math

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop.extensions import db
from shop.models import Product
from shop.services import search_text
from tests.factories import make_brand, make_category, make_product


@pytest.fixture
def catalogue(app):
    """A small shop: clothing from three brands, headphones, a teapot, caps and capes."""
    clothing = make_category("Clothing")
    sweaters = make_category("Sweaters", parent=clothing)
    tees = make_category("T-shirts", parent=clothing)
    oakline, tidewater, northwind = make_brand("Oakline"), make_brand("Tidewater"), make_brand("Northwind")
    make_product("Merino Sweater", category=sweaters, brand=oakline, variants=[
        {"size": "S", "colour": "Navy", "sku": "OAK-SW-NAV-S"},
        {"size": "M", "colour": "Forest", "sku": "OAK-SW-FOR-M"},
    ])
    make_product("Alpine Hoodie", category=sweaters, brand=tidewater,
                 variants=[{"colour": "Black", "sku": "TW-HOOD-1"}])
    make_product("Classic Tee", category=tees, brand=northwind, variants=[
        {"size": "S", "colour": "Navy", "sku": "TEE-1-S"}, {"size": "M", "colour": "Navy", "sku": "TEE-1-M"}])
    make_product("Studio Headphones", category=make_category("Audio"), variants=[{"sku": "AUD-7"}])
    # A SKU that reads like another product's name: typing it must still put this product first.
    make_product("Ceramic Teapot", category=make_category("Kitchen"), variants=[{"sku": "tee-1"}])
    accessories = make_category("Accessories")
    make_product("Wool Cap", category=accessories)
    make_product("Rain Cape", category=accessories)
    make_product("Flash Light", category=accessories)  # "flash" is one letter from "flask"
    tote = make_product("Canvas Tote", category=accessories)
    tote.description = "Roomy enough for a sweater and a flask."
    make_product("Velvet Blazer", category=clothing, is_active=False)
    db.session.commit()


def found(term: str) -> list[str]:
    """Return the names of the products matching the text, best first."""
    matches = search_text.matching(term)
    if matches is None:
        return []
    return list(db.session.scalars(
        sa.select(Product.name).join(matches, matches.c.product_id == Product.id)
        .order_by(matches.c.rank.desc(), Product.name)))


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def test_the_word_being_typed_matches_as_a_prefix(catalogue):
    assert found("swea")[0] == "Merino Sweater"
    assert "Alpine Hoodie" in found("swea")  # its category is Sweaters
    assert found("head") == ["Studio Headphones"]
    assert found("he") == ["Studio Headphones"]  # an English stop word, still the start of a word
    assert found("Merino swe") == ["Merino Sweater"]


def test_colours_brands_and_categories_are_searched(catalogue):
    assert found("navy") == ["Classic Tee", "Merino Sweater"]
    assert found("Oakline") == ["Merino Sweater"]
    assert found("oakl") == ["Merino Sweater"]
    assert found("t-shirts") == ["Classic Tee"]
    assert set(found("clothing")) == {"Merino Sweater", "Alpine Hoodie", "Classic Tee", "Velvet Blazer"}


def test_plurals_find_the_singular(catalogue):
    assert found("tees")[0] == "Classic Tee"
    assert found("hoodies") == ["Alpine Hoodie"]
    assert found("caps")[0] == "Wool Cap"


@pytest.mark.parametrize("typed", ["OAK-SW-FOR-M", "oak-sw-for-m", "  Oak-Sw-For-M "])
def test_a_sku_finds_its_product(catalogue, typed):
    assert found(typed) == ["Merino Sweater"]


def test_a_sku_ranks_its_product_first_even_when_other_products_match_its_words(catalogue):
    # The words of TEE-1 are in the tee's SKUs TEE-1-S and TEE-1-M too, and in its name.
    assert found("TEE-1") == ["Ceramic Teapot", "Classic Tee"]
    assert found("tee-1") == ["Ceramic Teapot", "Classic Tee"]
    assert found("tee 1") == ["Classic Tee", "Ceramic Teapot"]


def test_name_matches_rank_before_keyword_matches_before_description_matches(catalogue):
    assert found("sweater") == ["Merino Sweater", "Alpine Hoodie", "Canvas Tote"]


def test_a_whole_word_ranks_before_a_longer_word_it_starts(catalogue):
    assert found("cap") == ["Wool Cap", "Rain Cape"]


def test_phrases_exclusions_and_alternatives(catalogue):
    assert found('"merino sweater"') == ["Merino Sweater"]
    assert found('"sweater merino"') == []
    assert found("navy -sweater") == ["Classic Tee"]
    assert found('sweater -"canvas tote" -oakline') == ["Alpine Hoodie"]
    assert sorted(found("teapot OR headphones")) == ["Ceramic Teapot", "Studio Headphones"]
    assert found("navy teapot") == []


def test_text_with_nothing_to_search_for_is_none(catalogue):
    for term in ["", "   ", "-navy", '-"merino sweater"', "OR", "*", '"', "!?", "🧥"]:
        assert search_text.matching(term) is None, term


def test_a_misspelt_word_gets_a_suggestion_that_finds_products(catalogue):
    assert search_text.suggestion("sweatr") == "sweater"
    assert search_text.suggestion("Navy Sweatr") == "Navy Sweater"
    assert search_text.suggestion("hoodei") == "hoodie"
    assert search_text.suggestion("Hedphones") == "Headphones"
    assert search_text.suggestion('"merino sweatr" -hoodie') == '"merino sweater" -hoodie'


def test_no_suggestion_for_known_words_or_nothing_close_or_a_fix_that_finds_nothing(catalogue):
    assert search_text.suggestion("sweater") is None
    assert search_text.suggestion("tees") is None  # a plural of a known word is known
    assert search_text.suggestion("qwxzyk") is None
    assert search_text.suggestion("blazr") is None  # only the inactive Velvet Blazer says "blazer"
    assert search_text.suggestion("") is None


def test_postgres_finds_products_despite_a_typo(catalogue):
    if not is_postgres():
        assert found("hoodei") == []  # SQLite has no fuzzy match: the suggestion is the way out
        return
    assert found("hoodei") == ["Alpine Hoodie"]
    assert found("jackte hoodei") == []  # a word with nothing close still has to match
    assert found("Tidewater hoodei") == ["Alpine Hoodie"]
    assert found("hoddie") == ["Alpine Hoodie"]


def test_a_word_the_vocabulary_lacks_is_not_corrected_while_it_finds_products(catalogue):
    assert found("flask") == ["Canvas Tote"]  # in its description only


@pytest.mark.parametrize(("term", "on_sqlite", "on_postgres"), [
    ("swea", 0, 0),
    ("navy merino sweater", 0, 1),  # Postgres: are the long words in the vocabulary
    ("hoodei", 0, 2),  # Postgres: then, one unknown, does the text find anything as typed
    ("TEE-1", 1, 1),  # could be a SKU: it is, so nothing else is needed
    ("jackte-1", 1, 2),  # not a SKU, and nothing in the vocabulary is close to "jackte"
    ("a b c d e f g h i j k l m n o p", 0, 0),
])
def test_a_constant_handful_of_statements(catalogue, count_queries, term, on_sqlite, on_postgres):
    with count_queries() as statements:
        assert search_text.matching(term) is not None
    assert len(statements) == (on_postgres if is_postgres() else on_sqlite), statements
    with count_queries() as statements:
        search_text.suggestion(term)
    assert len(statements) <= 2, statements


HOSTILE = [
    '"', "'", "''", '""', "*", "-", "--", "OR", "AND", "NOT", "NEAR", "NEAR(", "NEAR/2", "(", ")", ":", "^", "+",
    "\\", "%", "_", ";", "/*", "*/", "{", "}", "[", "]", "~", "!", "!!", "&", "|", "<->", ":*", "@@", "rowid",
    "name:", "col:tee", "^tee", "🧥", "👩‍👩‍👧", "שמלה", "مرحبا", "\u202e", "\u200f", "\x00", "\n", "\t", "ß", "İ",
    "ﷺ", "ｔｅｅ", "tee", "swea", "navy", "TEE-1", "OAK-SW-NAV-S", "x" * 70, "e\u0301", "٣", "½", "𝔘", "\ud800",
]
hostile_text = st.lists(st.sampled_from(HOSTILE) | st.text(max_size=4), max_size=40).flatmap(
    lambda parts: st.sampled_from([" ".join(parts), "".join(parts)]))


@pytest.mark.parametrize("term", HOSTILE + [
    "tee " * 400, "-" * 1000, '"' * 999, "(" * 500, "OR " * 300, "\u202eeet\u202c", "a" * 1000, "NOT tee",
    'tee NEAR("a" "b")', "tee AND NOT navy", "tee:*", "tee & !navy", "'; DROP TABLE products; --",
    "tee-\ud800",
])
def test_anything_typed_is_safe(catalogue, term):
    _search(term)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(term=st.text(max_size=300) | hostile_text)
def test_random_text_never_makes_the_search_fail(catalogue, term):
    _search(term)


def _search(term: str) -> None:
    matches = search_text.matching(term)
    if matches is not None:
        rows = db.session.execute(sa.select(matches.c.product_id, matches.c.rank)
                                  .order_by(matches.c.rank.desc()).limit(20)).all()
        assert all(isinstance(product_id, int) and math.isfinite(rank) for product_id, rank in rows)
    corrected = search_text.suggestion(term)
    assert corrected is None or isinstance(corrected, str) and corrected
