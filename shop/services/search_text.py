"""Full-text matching of what a shopper types, behind one interface: SQLite FTS5 or Postgres tsvector.

What was typed is parsed here in Python, the same for both backends (`parse`): words are runs of
Unicode letters and digits; "quoted phrases" must appear as written (a quote left open runs to the
end); words joined by - . / ' or _ (t-shirt, a SKU such as D00001-NAV-M) are a phrase too; -word or
-"phrase" leaves products out; OR in capitals between two words accepts either. Everything else is
plain text, never syntax: every word reaches FTS5 MATCH or to_tsquery quoted, the text is cut to
MAX_TERM_LENGTH characters and MAX_WORDS words, so no input can make the database raise.

`matching(term)` returns a subquery (product_id, rank) of the products matching every word; a
higher rank is better: name matches outrank keyword matches (brand, category, options, SKU,
specifications), which outrank description matches. The last word typed (unless a single letter)
also matches as the start of a longer word ("swea" finds sweaters), ranked below exact words; both
backends stem ("tees" finds "Tee"). A term that is the SKU of a variant on sale (as stored, or
wholly upper or lower case) ranks its product first. It returns None when there is nothing to
search for: no word at all, or only exclusions ("-red" names nothing to find).

Typo tolerance lives inside `matching()`, there is no separate function: on Postgres, when a word
of FUZZY_MIN_LENGTH letters or more is missing from the catalogue's vocabulary and the text finds no
listed product, that word is searched as any of its closest vocabulary words instead ("hoodei" finds
hoodies; "flask", found in a description, stays "flask"). Candidates come from pg_trgm's similarity
(`%`, with the GIN index on search_words.word). The vocabulary is asked first, as it is small: only
text with an unknown word, which finds few products if any, is then tried on the catalogue.
word_similarity against product names (`%>`) was not used: its default threshold of 0.6 misses a
swapped pair of letters ("hoodei" scores 0.57), and lowering it needs a setting per transaction.
SQLite has no fuzzy match: the suggestion below is its way out of a typo.

`suggestion(term)` is the "Did you mean" text on both backends: the whole query with each unknown
word of SUGGEST_MIN_LENGTH letters or more replaced by the closest vocabulary word, offered only when
it finds a listed product. It is meant for a search that found nothing and does not ask again
whether the text as typed finds anything. Candidates share the first letter and nearly the length
(on Postgres also the trigram similarity); the closest is chosen in Python by edit distance, a swap
of neighbours counting one.

Statements per call, whatever the catalogue's size: matching() runs one for text that could be a
SKU (seeks on the SKU index), and on Postgres one for the vocabulary when a word has 5+ letters and
one more when a word is unknown; the subquery it returns can serve every statement of a page.
suggestion() runs two.
"""
import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa

from shop.extensions import db
from shop.models import Product, ProductSearch, ProductVariant, SearchWord, lengths
from shop.models.search import FTS_TABLE, TEXT_SEARCH_CONFIG

MAX_TERM_LENGTH = 200
MAX_WORDS = 12
MAX_WORD_LENGTH = lengths.SEARCH_WORD
MIN_PREFIX_LENGTH = 2  # "s" as a prefix is nearly every product (or word of a SKU): a letter matches as a word
FUZZY_MIN_LENGTH = 5
SUGGEST_MIN_LENGTH = 4
CLOSE_WORDS = 3  # vocabulary words a misspelt word is searched as, on Postgres
MAX_CANDIDATES = 5000  # vocabulary rows read for one suggestion, whatever the vocabulary's size
# bm25 weights of the FTS5 columns name, keywords, description: a name match outranks the others.
COLUMN_WEIGHTS = (10.0, 4.0, 1.0)
# ts_rank weights of the lexeme classes D, C, B, A; the document weighs name A, keywords B, description C.
POSTGRES_WEIGHTS = "{0.1, 0.1, 0.4, 1.0}"
PLURALS = (("s", ""), ("es", ""), ("ies", "y"))  # endings of a plural, and what the singular ends with instead
SKU_RANK = 1_000_000.0  # above any text rank: a typed SKU is the product the shopper wants

_WORD = re.compile(r"[^\W_]+")
# An optional run of dashes (exclusion), then a quoted phrase (maybe unclosed) or a chunk without spaces or quotes.
_TOKEN = re.compile(r'(-*)(?:"([^"]*)"?|([^\s"]+))')
# Other punctuation separates words; these characters join parts of one thing: t-shirt, 2.5, 1/2, men's, SKU_1.
_JOINED = re.compile(r"[\w\-./'’]+")
_LAST_CHARACTER = "\U0010ffff"  # sorts after every character: word < prefix + this covers every word starting so
_OR = "OR"


@dataclass(frozen=True)
class Phrase:
    """Words that must appear together, in this order; with prefix, the last may start a longer word."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class Span:
    """Where a searched word stands in the parsed text, so a suggestion can replace it there."""

    start: int
    end: int
    word: str


@dataclass(frozen=True)
class Query:
    """What a shopper typed: every clause must match (one of its phrases), no excluded phrase may."""

    text: str = ""
    clauses: tuple[tuple[Phrase, ...], ...] = ()
    excluded: tuple[Phrase, ...] = ()
    spans: tuple[Span, ...] = ()  # the searched (not excluded) words

    def __bool__(self) -> bool:
        return bool(self.clauses)

    @property
    def words(self) -> list[str]:
        """Return the searched words, in the order typed."""
        return [span.word for span in self.spans]

    @property
    def prefix_word(self) -> str | None:
        """Return the word matched as a prefix (the last one typed), if any."""
        return next((phrase.words[-1] for clause in self.clauses for phrase in clause if phrase.prefix), None)


def parse(term: str | None) -> Query:
    """Return what the text asks for; any text is accepted, what is not a word is ignored."""
    text = unicodedata.normalize("NFKC", _encodable(term)[:MAX_TERM_LENGTH])[:MAX_TERM_LENGTH]
    clauses: list[list[Phrase]] = []
    excluded: list[Phrase] = []
    spans: list[Span] = []
    budget = MAX_WORDS
    or_pending = False
    last_bare: Phrase | None = None  # the phrase typed last, when it is searched (not excluded) and not quoted
    for token in _TOKEN.finditer(text):
        dashes, quoted, bare = token.groups()
        if bare == _OR and not dashes:
            or_pending, last_bare = bool(clauses), None
            continue
        content_start = token.start(2) if quoted is not None else token.start(3)
        pieces = [(content_start, quoted)] if quoted is not None else _pieces(bare, content_start)
        for start, piece in pieces:
            if budget <= 0:
                break
            found = list(_WORD.finditer(piece))[:budget]
            if not found:
                continue
            budget -= len(found)
            phrase = Phrase(tuple(match.group().casefold()[:MAX_WORD_LENGTH] for match in found))
            if dashes:
                excluded.append(phrase)
                last_bare = None
                continue
            spans += [Span(start + match.start(), start + match.end(), word)
                      for match, word in zip(found, phrase.words, strict=True)]
            if or_pending:
                clauses[-1].append(phrase)
                or_pending = False
            else:
                clauses.append([phrase])
            last_bare = phrase if quoted is None else None
        or_pending = False
    if last_bare is not None and len(last_bare.words[-1]) >= MIN_PREFIX_LENGTH:
        clauses[-1][-1] = Phrase(last_bare.words, prefix=True)
    return Query(text, tuple(tuple(clause) for clause in clauses), tuple(excluded), tuple(spans))


def _encodable(term: str | None) -> str:
    """Return the text with lone surrogates, which no database driver can encode, as question marks."""
    return (term or "").encode("utf-8", "replace").decode("utf-8")


def _pieces(chunk: str, offset: int) -> list[tuple[int, str]]:
    """Split a chunk at separating punctuation; return each piece with its offset in the text."""
    return [(offset + match.start(), match.group()) for match in _JOINED.finditer(chunk)]


def matching(term: str | None):
    """Return a subquery (product_id, rank) of the products matching the text, or None with nothing to search."""
    query = parse(term)
    if not query:
        return None
    by_sku = _products_by_sku(_encodable(term))
    matches = _matches(query, by_sku)
    if _dialect() == "sqlite" or by_sku:
        return matches
    long_words = [word for word in query.words if len(word) >= FUZZY_MIN_LENGTH and not word.isdigit()]
    corrections = _corrections(long_words, query.prefix_word, CLOSE_WORDS) if long_words else {}
    if not corrections or _finds_listed(matches):
        return matches
    return _matches(_respelled(query, corrections), by_sku)


def suggestion(term: str | None) -> str | None:
    """Return the text with unknown words replaced by the catalogue's closest words, if that finds products."""
    query = parse(term)
    checked = [word for word in query.words if len(word) >= SUGGEST_MIN_LENGTH and not word.isdigit()]
    if not checked:
        return None
    corrections = _corrections(checked, query.prefix_word, 1)
    if not corrections:
        return None
    corrected = _respelled_text(query, {word: close[0] for word, close in corrections.items()})
    return corrected if _finds_listed(_matches(parse(corrected), [])) else None


def _finds_listed(matches) -> bool:
    """Return whether the matches hold a product the shop lists (active, with a variant on sale)."""
    found = sa.select(matches.c.product_id).cte("found")
    if _dialect() != "sqlite":
        # Planned whole, the text match reads the GIN index: planned as part of EXISTS, Postgres may
        # scan every document for a first match it wrongly expects soon (60 ms for none at 50,000).
        found = found.prefix_with("MATERIALIZED")
    listed = sa.exists().where(
        Product.id == found.c.product_id, Product.is_active == sa.true(),
        ProductSearch.product_id == found.c.product_id, ProductSearch.min_price_cents.is_not(None),
    )
    return bool(db.session.scalar(sa.select(listed)))


def _dialect() -> str:
    return db.session.get_bind().dialect.name


# --- The query for each backend ------------------------------------------------------------------------------------


def _products_by_sku(term: str) -> list[int]:
    """Return the products with a variant on sale whose SKU the text is, as stored or in upper or lower case.

    Only text that could be a SKU is looked up (one word, not only letters), with seeks on the SKU's
    unique index: most searches run no statement for it.
    """
    text = term.strip()
    if not text or len(text) > lengths.SKU or text.isalpha() or any(character.isspace() for character in text):
        return []
    forms = list(dict.fromkeys([text, text.upper(), text.lower()]))
    return sorted(set(db.session.scalars(sa.select(ProductVariant.product_id).where(
        ProductVariant.sku.in_(forms), ProductVariant.is_active == sa.true()))))


def _matches(query: Query, by_sku: list[int]) -> sa.Subquery:
    text_matches, product_id = _fts_matches(query) if _dialect() == "sqlite" else _tsvector_matches(query)
    if not by_sku:
        return text_matches.subquery("text_matches")
    firsts = [sa.select(sa.cast(sa.literal(found), sa.Integer).label("product_id"),
                        sa.cast(sa.literal(SKU_RANK), sa.Float).label("rank")) for found in by_sku]
    return sa.union_all(text_matches.where(product_id.not_in(by_sku)), *firsts).subquery("text_matches")


def _fts_matches(query: Query) -> tuple[sa.Select, sa.ColumnElement[int]]:
    rowid: sa.ColumnElement[int] = sa.literal_column("rowid")
    bm25: sa.ColumnElement[float] = sa.literal_column(f"-bm25({FTS_TABLE}, {', '.join(map(str, COLUMN_WEIGHTS))})")
    return (
        sa.select(rowid.label("product_id"), bm25.label("rank"))
        .select_from(sa.table(FTS_TABLE))
        .where(sa.literal_column(FTS_TABLE).op("MATCH")(_fts_expression(query))),
        rowid,
    )


def _tsvector_matches(query: Query) -> tuple[sa.Select, sa.ColumnElement[int]]:
    found = _tsquery(query, prefix=True)
    rank: sa.ColumnElement[float] = sa.func.ts_rank(_weights(), ProductSearch.document, found)
    if query.prefix_word is not None:
        # Exact words count twice, so "cap" lists caps before capes.
        rank = rank + sa.func.ts_rank(_weights(), ProductSearch.document, _tsquery(query, prefix=False))
    return (
        sa.select(ProductSearch.product_id, sa.cast(rank, sa.Float).label("rank"))
        .where(ProductSearch.document.op("@@")(found)),
        ProductSearch.__table__.c.product_id,
    )


def _fts_phrase(phrase: Phrase) -> str:
    quoted = '"' + " ".join(phrase.words) + '"'
    # bm25 adds up both phrases for an exact word, so "cap" lists caps before capes.
    return f"({quoted} OR {quoted}*)" if phrase.prefix else quoted


def _fts_expression(query: Query) -> str:
    clauses = [" OR ".join(_fts_phrase(phrase) for phrase in clause) for clause in query.clauses]
    expression = " AND ".join(f"({clause})" for clause in clauses)
    if query.excluded:
        expression = f"({expression}) NOT ({' OR '.join(_fts_phrase(phrase) for phrase in query.excluded)})"
    return expression


def _config(name: str):
    # A literal, not a parameter: Postgres picks to_tsquery(regconfig, text) by the argument's type.
    return sa.literal_column(f"'{name}'::regconfig")


def _weights():
    return sa.literal_column(f"'{POSTGRES_WEIGHTS}'::real[]")


def _tsquery_atom(phrase: Phrase, prefix: bool):
    # Words hold only letters and digits, so quoting them is enough to make each a lexeme, never an operator.
    text = " <-> ".join(f"'{word}'" for word in phrase.words)
    if not (prefix and phrase.prefix):
        return sa.func.to_tsquery(_config(TEXT_SEARCH_CONFIG), text)
    text += ":*"
    english = sa.func.to_tsquery(_config(TEXT_SEARCH_CONFIG), text)
    # The 'simple' form keeps a prefix that English drops as a stop word ("he" typing headphones). Postgres
    # folds this choice of constants while planning, so the index and the row estimate see one tsquery.
    return sa.case((sa.func.numnode(english) == 0, sa.func.to_tsquery(_config("simple"), text)), else_=english)


def _tsquery(query: Query, prefix: bool):
    def combined(function, queries: list):
        result = queries[0]
        for other in queries[1:]:
            result = function(result, other)
        return result

    clauses = [combined(sa.func.tsquery_or, [_tsquery_atom(phrase, prefix) for phrase in clause])
               for clause in query.clauses]
    found = combined(sa.func.tsquery_and, clauses)
    if not query.excluded:
        return found
    excluded = combined(sa.func.tsquery_or, [_tsquery_atom(phrase, False) for phrase in query.excluded])
    return sa.func.tsquery_and(found, sa.func.tsquery_not(excluded))


# --- The catalogue's vocabulary: typos and suggestions ---------------------------------------------------------------


def _corrections(typed: list[str], prefix_word: str | None, count: int) -> dict[str, list[str]]:
    """Return each typed word the vocabulary lacks mapped to its closest vocabulary words (at most count), best first.

    The word typed last is known when a vocabulary word starts with it: the shopper may still be typing.
    """
    wanted = list(dict.fromkeys(typed))
    vocabulary = _vocabulary_near(wanted, prefix_word if prefix_word in wanted else None)
    corrections = {}
    for word in wanted:
        if _known(word, vocabulary, word == prefix_word):
            continue
        allowed = _allowed_distance(word)
        scored = sorted(
            (distance, known[0] != word[0], abs(len(known) - len(word)), known)
            for known in vocabulary if (distance := edit_distance(word, known, allowed)) <= allowed
        )
        closest: list[str] = []
        for *_, known in scored:
            # "sweaters" after "sweater" searches the same stem again (and doubles Postgres's row estimate).
            if len(closest) < count and not _known(known, set(closest), typing=False):
                closest.append(known)
        if closest:
            corrections[word] = closest
    return corrections


def _known(word: str, vocabulary: set[str], typing: bool) -> bool:
    if word in vocabulary or (typing and any(known.startswith(word) for known in vocabulary)):
        return True
    # Both engines stem plurals, so "tees" searches as well as "tee" and needs no correction.
    return any(word.endswith(ending) and word[:-len(ending)] + singular in vocabulary for ending, singular in PLURALS)


def _allowed_distance(word: str) -> int:
    return 1 if len(word) <= 5 else 2 if len(word) <= 9 else 3


def _vocabulary_near(typed: list[str], prefix_word: str | None) -> set[str]:
    """Return the vocabulary words that could be what the words meant: one statement, an index each way."""
    postgres = _dialect() != "sqlite"

    def starting_with(start: str):
        if postgres:  # words hold no % or _, and the trigram index serves LIKE
            return SearchWord.word.like(start + "%")
        return sa.and_(SearchWord.word >= start, SearchWord.word < start + _LAST_CHARACTER)

    conditions = []
    for word in typed:
        slack = _allowed_distance(word)
        conditions.append(sa.and_(starting_with(word[0]),
                                  sa.func.length(SearchWord.word).between(len(word) - slack, len(word) + slack)))
        if postgres:  # pg_trgm's similarity also finds a word whose first letter was mistyped
            conditions.append(SearchWord.word.op("%")(word))
    if prefix_word is not None:
        conditions.append(starting_with(prefix_word))
    return set(db.session.scalars(sa.select(SearchWord.word).where(sa.or_(*conditions)).limit(MAX_CANDIDATES)))


def edit_distance(typed: str, known: str, limit: int) -> int:
    """Return the edits (insert, delete, replace, swap of neighbours) from one word to the other, at most limit + 1."""
    if abs(len(typed) - len(known)) > limit:
        return limit + 1
    before_previous: list[int] = []
    previous = list(range(len(known) + 1))
    for i in range(1, len(typed) + 1):
        row = [i] + [0] * len(known)
        for j in range(1, len(known) + 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (typed[i - 1] != known[j - 1]))
            if i > 1 and j > 1 and typed[i - 1] == known[j - 2] and typed[i - 2] == known[j - 1]:
                row[j] = min(row[j], before_previous[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        before_previous, previous = previous, row
    return min(previous[-1], limit + 1)


def _respelled(query: Query, corrections: dict[str, list[str]]) -> Query:
    """Return the query with each corrected word searched as any of its close vocabulary words instead."""
    def variants(phrase: Phrase) -> list[Phrase]:
        if not any(word in corrections for word in phrase.words):
            return [phrase]
        # Whole vocabulary words: no longer a prefix, which would make Postgres read every longer word's entries.
        return [Phrase(tuple(corrections[word][min(choice, len(corrections[word]) - 1)] if word in corrections
                             else word for word in phrase.words))
                for choice in range(CLOSE_WORDS)]

    clauses = tuple(tuple(dict.fromkeys(variant for phrase in clause for variant in variants(phrase)))
                    for clause in query.clauses)
    return Query(query.text, clauses, query.excluded, query.spans)


def _respelled_text(query: Query, corrections: dict[str, str]) -> str:
    """Return the text as typed with the corrected words replaced, in the case they were typed in."""
    text = query.text
    for span in reversed(query.spans):
        if span.word in corrections:
            text = text[:span.start] + _same_case(text[span.start:span.end], corrections[span.word]) + text[span.end:]
    return " ".join(text.split())


def _same_case(typed: str, word: str) -> str:
    if len(typed) > 1 and typed.isupper():
        return word.upper()
    return word.capitalize() if typed[:1].isupper() else word
