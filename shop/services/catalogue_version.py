"""The catalogue version: one number that every write to what storefront pages show moves on.

Rendered pages are kept under the version they were read at (shop.core.page_cache), so a commit
that bumps it retires every kept page at once, in every process: the bump is part of the writing
transaction, and each request reads the version before anything else.

Rather than list what pages show, this lists what they never show: a table added later retires
pages until someone proves here that it cannot change one.
"""
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session

from shop.extensions import db
from shop.models import Counter

COUNTER_NAME = "catalogue_version"
CHANGED = "catalogue_changed"  # set in Session.info while the transaction has changed a shown row

# Rows no cached page shows: people, their carts and lists, and the shop's own bookkeeping. Orders
# are shown: a review's "Verified purchase" reads whether its author has a paid order of the product.
# Stock sold is shown too, through product_variants, which every sale updates.
UNSHOWN_TABLES = frozenset({
    "users", "user_sessions", "addresses", "email_opt_outs",
    "cart_lines", "saved_items", "wishlist_items",
    "order_events", "shipments", "shipment_items", "refunds", "refund_items",
    "payment_events", "stock_movements", "outbox_emails", "audit_records", "counters",
})


# Read on every storefront request, so as plain SQL: the ORM's statement handling cost more than the query.
_CURRENT_SQL = f"SELECT value FROM counters WHERE name = '{COUNTER_NAME}'"


def current() -> int:
    """Return the catalogue version as committed (0 before the first change).

    Read on a connection of its own, outside the request's transaction: a page served from the
    cache then never opens one, and on Postgres the read needs no BEGIN and ROLLBACK round trips.
    The request's own reads come later, so they see at least everything this version counts.
    """
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection.exec_driver_sql(_CURRENT_SQL).scalar() or 0


def _shown(table_names) -> bool:
    return any(name not in UNSHOWN_TABLES for name in table_names)


@event.listens_for(Session, "after_flush")
def _note_flushed_changes(session: Session, flush_context) -> None:
    if session.info.get(CHANGED):
        return
    for instance in (*session.new, *session.dirty, *session.deleted):
        if _shown(table.name for table in sa.inspect(instance).mapper.tables):
            session.info[CHANGED] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _note_statement_changes(state: ORMExecuteState) -> None:
    # Bulk UPDATEs (stock reserved with WHERE stock >= :quantity, say) never pass through a flush.
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if table is None or _shown([getattr(table, "name", "")]):
            state.session.info[CHANGED] = True


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session: Session) -> None:
    session.flush()  # objects still pending are noted by this flush
    if not session.info.pop(CHANGED, False):
        return
    # Last in the transaction, so the counter's row lock is held only while committing and always
    # taken after every other lock: concurrent writers queue on it but cannot deadlock over it.
    session.execute(_bump_statement(session.get_bind().dialect.name))


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction) -> None:
    # Only the whole transaction's end (committed, rolled back or closed): changes made before a
    # savepoint rolled back still commit.
    if transaction.parent is None:
        session.info.pop(CHANGED, None)


def _bump_statement(dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Counter).values(name=COUNTER_NAME, value=1)
    return statement.on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
