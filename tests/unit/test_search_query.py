"""What the search box's text asks for, parsed the same way for SQLite and Postgres."""
import pytest

from shop.services.search_text import (
    MAX_TERM_LENGTH,
    MAX_WORD_LENGTH,
    MAX_WORDS,
    Phrase,
    edit_distance,
    parse,
)


def clauses(term: str) -> list[list[tuple[tuple[str, ...], bool]]]:
    return [[(phrase.words, phrase.prefix) for phrase in clause] for clause in parse(term).clauses]


def test_words_are_lower_cased_and_every_one_is_required_the_last_as_a_prefix():
    assert clauses("Navy SWEATER") == [[(("navy",), False)], [(("sweater",), True)]]
    assert parse("Navy SWEATER").words == ["navy", "sweater"]
    assert parse("navy swea").prefix_word == "swea"


def test_a_quoted_phrase_keeps_its_words_together_and_is_never_a_prefix():
    assert clauses('"merino wool" jumper') == [[(("merino", "wool"), False)], [(("jumper",), True)]]
    assert clauses('jumper "merino wool"') == [[(("jumper",), False)], [(("merino", "wool"), False)]]
    assert parse('jumper "merino wool"').prefix_word is None


def test_an_unclosed_quote_runs_to_the_end():
    assert clauses('navy "merino wool') == [[(("navy",), False)], [(("merino", "wool"), False)]]
    assert not parse('"')
    assert not parse('""')


def test_words_joined_by_dashes_dots_or_slashes_are_a_phrase():
    assert clauses("t-shirt") == [[(("t", "shirt"), True)]]
    assert clauses("D00001-NAV-M") == [[(("d00001", "nav", "m"), False)]]  # a single letter is never a prefix
    assert clauses("t-sh") == [[(("t", "sh"), True)]]
    assert clauses("men's 2.5/30") == [[(("men", "s"), False)], [(("2", "5", "30"), True)]]


def test_other_punctuation_separates_words():
    assert clauses("red,blue(navy)") == [[(("red",), False)], [(("blue",), False)], [(("navy",), True)]]
    assert clauses("a*b^c:dd") == [[(("a",), False)], [(("b",), False)], [(("c",), False)], [(("dd",), True)]]


def test_a_dash_before_a_word_or_phrase_excludes_it():
    query = parse('tee -navy -"crew neck" -t-shirt')
    assert clauses('tee -navy -"crew neck" -t-shirt') == [[(("tee",), False)]]
    assert query.excluded == (Phrase(("navy",)), Phrase(("crew", "neck")), Phrase(("t", "shirt")))
    assert query.words == ["tee"]  # excluded words are never corrected or searched


def test_the_last_word_is_a_prefix_only_when_it_was_typed_last_and_is_more_than_a_letter():
    assert parse("tee -navy").prefix_word is None
    assert parse('tee "navy"').prefix_word is None
    assert parse("tee navy").prefix_word == "navy"
    assert parse("tee navy ?!").prefix_word == "navy"
    assert parse("tee na").prefix_word == "na"
    assert parse("tee s").prefix_word is None


def test_only_exclusions_or_no_words_ask_for_nothing():
    for term in ["-navy", '-"crew neck"', "", "   ", "*", "-", "--", "OR", "!!! ??? ...", "(((", ":^*", None]:
        assert not parse(term), term
        assert parse(term).words == []


def test_uppercase_or_offers_alternatives():
    assert clauses("navy OR black tee") == [[(("navy",), False), (("black",), False)], [(("tee",), True)]]
    assert clauses("tee navy OR black OR forest") == [
        [(("tee",), False)], [(("navy",), False), (("black",), False), (("forest",), True)]]


def test_or_in_lower_case_or_with_nothing_to_join_is_plain_text():
    assert clauses("navy or black") == [[(("navy",), False)], [(("or",), False)], [(("black",), True)]]
    assert clauses("OR navy") == [[(("navy",), True)]]
    assert clauses("navy OR") == [[(("navy",), False)]]
    assert clauses("navy OR -black") == [[(("navy",), False)]]


@pytest.mark.parametrize("operator", ["AND", "NOT", "NEAR", "NEAR/2"])
def test_query_operators_of_the_engines_are_words(operator):
    assert parse(f"tee {operator} navy").words[1:2] == [operator.split("/")[0].lower()]


def test_letters_of_any_script_are_words_and_emoji_are_not():
    assert parse("café 🧥 שמלה Größe").words == ["café", "שמלה", "grösse"]
    assert parse("ｔｅｅ").words == ["tee"]  # full-width letters, as a phone keyboard may type them


def test_text_and_words_are_capped():
    assert len(parse("word " * 200).words) == MAX_WORDS
    assert len(parse("x" * 1000).words[0]) == MAX_WORD_LENGTH
    assert len(parse("ab " * 1000).text) <= MAX_TERM_LENGTH
    assert parse("a b c d e f g h i j k l m n o").words == list("abcdefghijkl")


def test_spans_point_at_each_searched_word_in_the_text():
    query = parse('Navy "Hoodei zip" -red')
    assert [query.text[span.start:span.end] for span in query.spans] == ["Navy", "Hoodei", "zip"]


@pytest.mark.parametrize(("typed", "known", "distance"), [
    ("hoodei", "hoodie", 1),  # two letters swapped count once
    ("sweatr", "sweater", 1),
    ("hedphones", "headphones", 1),
    ("jakcet", "jacket", 1),
    ("tent", "tent", 0),
    ("sweter", "swatter", 2),
    ("boot", "headphones", 3),  # past the limit, reported as limit + 1
])
def test_edit_distance(typed, known, distance):
    assert edit_distance(typed, known, 2) == min(distance, 3)
