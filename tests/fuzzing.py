"""Hostile values for the property-based fuzz tests, their settings, and the database snapshot they compare.

The fuzz tests (tests/functional/test_fuzz_*.py) run a few examples per form or page by default,
the same ones on every run. HYPOTHESIS_PROFILE=thorough runs fifty times as many, new ones each
run: a few minutes, for hunting bugs locally. A failure prints the example; paste it into the
test's @example(...) list so it stays fixed.
"""
import functools
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote_plus

import sqlalchemy as sa
from flask import Flask, current_app
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer

from shop.extensions import db
from shop.models import Role, User

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
THOROUGH_FACTOR = 50

# Markup that would run if a page echoed it unescaped.
SCRIPT = "\"><script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(1)>"
MARKUP = (SCRIPT, IMAGE)

# What a visitor can type or forge into any field: sizes, numbers out of range or in the wrong form, characters
# that break parsers and databases, and the classic injections.
TEXT_JUNK = [
    "", " ", "x" * 100_000, "9" * 4400, str(2**31), str(2**63), str(-(2**63) - 1), "-1", "0", "-0", "1.5", "1e309",
    "NaN", "inf", "0x10", "1_000", "²", "٣", "１２", "\x00", "a\x00b", "\r\n", "\x1b[31m", "\x7f", "\x85", "\t",
    "\u202eevil", "\u200f", "\ufeff", "\u200b", "e\u0301" * 50, "💥", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "' OR '1'='1'; --",
    "1; DROP TABLE users; --", "'; SELECT pg_sleep(5); --", SCRIPT, IMAGE, "javascript:alert(1)", "{{7*7}}", "${7*7}",
    "%s%s%n", "../../etc/passwd", "//evil.example/", "/\\evil.example", "https://evil.example/",
    "\r\nSet-Cookie: pwned=1", "a@b", "A@EXAMPLE.COM", "用户@例子.广告", "x" * 300 + "@example.com", "@",
    "a@[127.0.0.1]", "owner", "paid", "true",
]
# Payloads signed with the shop's own key, as a leaked or older key could sign them: the readers of
# signed links must refuse a shape they never made, not trip over it.
HUGE_ID = {"id": 2**70, "fp": "x", "email": "x"}
SIGNED_JUNK = [["list"], HUGE_ID, {"id": "1"}, {"id": True}, None, 5, "\x00", "x" * 300, {}]
# Bytes that are not UTF-8: a lone surrogate as UTF-8 would encode it, overlong and cut sequences, Latin-1.
RAW_JUNK = [b"\xed\xa0\x80", b"\xff\xfe", b"\xc0\xaf", b"\xe2\x82", b"caf\xe9", b"\xf4\x90\x80\x80"]

junk = st.one_of(
    st.sampled_from(TEXT_JUNK),
    st.sampled_from(RAW_JUNK),
    st.text(max_size=60),
    st.integers().map(str),
    st.floats().map(str),
)


def field(valid: str | None) -> st.SearchStrategy[list]:
    """Return one field's values: the valid one, a hostile one, none at all, or several (a repeated key).

    A field with no valid value (None) is one a real form never sends: a forged one, or missing.
    """
    value = junk if valid is None else st.one_of(st.just(valid), junk)
    once = value.map(lambda one: [one])
    if valid is None:
        return st.one_of(st.just([]), once)
    return st.one_of(once, st.just([]), st.lists(value, min_size=2, max_size=3))


def form_body(valid: dict[str, str], extra: tuple[str, ...] = ()) -> st.SearchStrategy[list[tuple[str, object]]]:
    """Return form bodies built from a valid one, as (name, value) pairs, plus forged fields named in `extra`."""
    fields = {name: field(value) for name, value in valid.items()}
    fields.update({name: field(None) for name in extra})
    return st.fixed_dictionaries(fields).map(
        lambda chosen: [(name, value) for name, values in chosen.items() for value in values])


def urlencoded(pairs: list[tuple[str, object]]) -> bytes:
    """Encode (name, value) pairs as a browser posts a form; bytes values go as they are, UTF-8 or not."""
    return "&".join(f"{quote_plus(name)}={quote_plus(value)}" for name, value in pairs).encode()


def sign(salt: str, payload: object, timed: bool = True) -> str:
    """Return a token for the payload signed with the shop's key, as its links are."""
    serializer = (URLSafeTimedSerializer if timed else URLSafeSerializer)(current_app.secret_key, salt=salt)
    return serializer.dumps(payload)


def fuzz_settings(examples: int) -> settings:
    """Return the settings of a fuzz test: `examples` the same each run, or many more new ones when thorough."""
    return settings(
        max_examples=examples * THOROUGH_FACTOR if THOROUGH else examples,
        derandomize=not THOROUGH, database=None, deadline=None, print_blob=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


class Snapshot:
    """Every row of every table at one moment, to prove a request changed nothing, or nothing of someone's.

    One statement reads them all (each row as text, with the account it names), as a round trip
    per table would make each example several times slower on Postgres.
    """

    def __init__(self) -> None:
        db.session.commit()
        rows: dict[str, list[tuple]] = {table.name: [] for table in db.metadata.sorted_tables}
        for name, owner, role, text in db.session.execute(_every_row()):
            rows[name].append((owner, role, text))
        self.tables = {name: sorted(found, key=repr) for name, found in rows.items()}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Snapshot) and self.tables == other.tables

    def changed(self, other: "Snapshot") -> list[str]:
        """Name the tables whose rows differ from the other snapshot's."""
        return [name for name, rows in self.tables.items() if rows != other.tables[name]]

    def of_user(self, user_id: int) -> dict[str, list[tuple]]:
        """Return the user's row and every row that names the user."""
        return {name: [row for row in rows if row[0] == user_id] for name, rows in self.tables.items()}

    def staff(self) -> list[tuple]:
        """Return the accounts that are not plain customers."""
        return [row for row in self.tables[User.__tablename__] if row[1] != Role.CUSTOMER]


@functools.cache
def _every_row() -> sa.CompoundSelect:
    """Return a statement giving (table, the account it names, the account's role, the row as text) for every row."""
    selects = []
    for table in db.metadata.sorted_tables:
        owner = table.c.get("id") if table.name == User.__tablename__ else table.c.get("user_id")
        role = table.c.get("role") if table.name == User.__tablename__ else None
        # Constants written into the statement, not bound: Postgres then plans it once per connection.
        text = functools.reduce(lambda joined, part: joined + sa.literal_column("'|'") + part, [
            sa.func.coalesce(sa.cast(column, sa.Text), sa.literal_column("'∅'")) for column in table.c])
        selects.append(sa.select(sa.literal_column(f"'{table.name}'"),
                                 sa.cast(owner if owner is not None else sa.null(), sa.Integer),
                                 sa.cast(role if role is not None else sa.null(), sa.Text), text))
    return sa.union_all(*selects)


@contextmanager
def error_log(app: Flask) -> Iterator[list[logging.LogRecord]]:
    """Collect what the app logs at ERROR (the 500 handler's tracebacks), to say what broke."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Collect(logging.ERROR)
    app.logger.addHandler(handler)
    try:
        yield records
    finally:
        app.logger.removeHandler(handler)


def cause(records: list[logging.LogRecord], seen: int) -> str:
    """Name the exception logged after the first `seen` records, if any."""
    for record in records[seen:]:
        if record.exc_info and record.exc_info[1] is not None:
            kind, error = record.exc_info[0], record.exc_info[1]
            return f"{kind.__name__ if kind else '?'}: {str(error).splitlines()[0][:200] if str(error) else ''}"
    return "no exception logged"
