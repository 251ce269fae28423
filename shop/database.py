"""Engine set-up per backend and the write-transaction helper."""
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql.dml import UpdateBase

from shop.extensions import db


def install_engine_hooks(app: Flask) -> None:
    """Configure this app's engine: SQLite's pragmas and BEGIN, Postgres's guard against NUL."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "before_cursor_execute", _replace_nul_parameters, retval=True)


def _configure_sqlite_connection(dbapi_connection, connection_record) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see the begin hook).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite_transaction(connection) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so concurrent writers queue on the
    # busy timeout instead of failing when a read transaction tries to upgrade.
    mode = connection.get_execution_options().get("sqlite_begin", "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


def _replace_nul_parameters(connection, cursor, statement, parameters, context, executemany):
    if _has_nul(parameters):
        parameters = _replace_nul(parameters)
    return statement, parameters


# Postgres refuses NUL in text, so a hostile "a\x00b" in a slug, email or reference would be a 500.
# Stored values never hold one (forms refuse control characters), so comparing with U+FFFD in its
# place finds nothing, just as the NUL would have.
NUL, NUL_STAND_IN = "\x00", "\ufffd"


def _has_nul(parameters) -> bool:
    if isinstance(parameters, str):
        return NUL in parameters
    if isinstance(parameters, dict):
        return any(_has_nul(value) for value in parameters.values())
    if isinstance(parameters, (list, tuple)):
        return any(_has_nul(value) for value in parameters)
    return False


def _replace_nul(parameters):
    if isinstance(parameters, str):
        return parameters.replace(NUL, NUL_STAND_IN)
    if isinstance(parameters, dict):
        return {key: _replace_nul(value) for key, value in parameters.items()}
    if isinstance(parameters, (list, tuple)):
        return type(parameters)(_replace_nul(value) for value in parameters)
    return parameters


def end_read_transaction() -> None:
    """End a read-only transaction the caller left open, handing its connection back to the pool.

    Use it before reading rows that must be current (on SQLite an open read transaction keeps
    seeing the database as it was when it began) and before waiting on the network. Pending
    changes are a programming error: they would be committed blindly.
    """
    session = db.session()  # the scoped_session proxy has no in_transaction()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("a read transaction was expected, but the session has uncommitted changes")
        session.commit()


def rows_changed(statement: UpdateBase) -> int:
    """Run an UPDATE or DELETE in the session's transaction and return how many rows it changed."""
    result = db.session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount


@contextmanager
def write_transaction() -> Iterator[None]:
    """Run the block as one write transaction: begun as a writer, committed, or rolled back on any error.

    Every use case that writes goes through here. Beginning as a writer matters on SQLite: a
    transaction that reads first and writes later cannot upgrade its lock while another writer
    commits, and fails at once with "database is locked" instead of waiting its turn. A read
    transaction already open (the logged-in user was loaded, say) is ended first.
    """
    end_read_transaction()
    db.session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})  # BEGIN IMMEDIATE on SQLite
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
