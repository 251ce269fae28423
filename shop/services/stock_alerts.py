"""Low-stock emails: one when a stock movement takes a variant to the threshold or below, and a daily digest.

Every stock change writes a StockMovement row through the session (an object added, or a bulk
insert such as the CSV import's). The session hooks below note which variants fell and which rose;
just before the transaction commits, a variant that rose above the threshold is made ready to
alert again, and one that fell to it or below is claimed by setting `low_stock_alerted` with a
conditional UPDATE. The claim runs on rows the sale or adjustment has already locked, so two sales
crossing at once queue on the row and only the first finds the flag clear: one email per crossing.
The email goes through the outbox in the same transaction, so it is sent only if the sale commits.
"""
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState, Session

from shop.database import rows_changed, write_transaction
from shop.extensions import db
from shop.models import Counter, Product, ProductVariant, StockMovement
from shop.models.base import now_utc
from shop.models.catalog import item_name
from shop.services import store_settings
from shop.services.mail import external_url, queue_email

_MOVED = "stock_alerts_moved"
BATCH = 500  # variant ids per statement: an import may move thousands
DIGEST_LIMIT = 200  # lines one digest lists; the inventory link shows the rest
DIGEST_DAY = "low_stock_digest_day"  # the counter holding the day (date.toordinal) of the last digest


@dataclass
class _Moved:
    fell: set[int] = field(default_factory=set)
    rose: set[int] = field(default_factory=set)

    def note(self, variant_id: int | None, delta: int | None) -> None:
        if variant_id is None or not delta:
            return
        (self.fell if delta < 0 else self.rose).add(variant_id)


@dataclass(frozen=True)
class LowVariant:
    """A variant at or below the threshold, as an email lists it."""

    variant_id: int
    name: str
    sku: str
    stock: int


def _moved(session: Session) -> _Moved:
    return session.info.setdefault(_MOVED, _Moved())


@event.listens_for(Session, "after_flush")
def _collect_movements(session: Session, flush_context) -> None:
    for instance in session.new:
        if isinstance(instance, StockMovement):
            _moved(session).note(instance.variant_id, instance.delta)


@event.listens_for(Session, "do_orm_execute")
def _collect_bulk_movements(state: ORMExecuteState) -> None:
    table = getattr(state.statement, "table", None)
    if not state.is_insert or table is None or table.name != StockMovement.__tablename__:
        return
    parameters = state.parameters
    rows = [parameters] if isinstance(parameters, Mapping) else list(parameters or [])
    for row in rows:
        _moved(state.session).note(row.get("variant_id"), row.get("delta"))


@event.listens_for(Session, "before_commit")
def _alert_before_commit(session: Session) -> None:
    # Flushed first: movements still pending at commit are noted only by this flush.
    session.flush()
    moved = session.info.pop(_MOVED, None)
    # The threshold and addresses are the app's settings: a bare session outside the app (a script's) has none.
    if moved and (moved.fell or moved.rose) and has_app_context():
        check_variants(moved.fell, moved.rose, session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction) -> None:
    # A savepoint rolled back leaves the movements made before it to commit.
    if previous_transaction.parent is None:
        session.info.pop(_MOVED, None)


def threshold() -> int:
    """Return the low-stock threshold (a store setting)."""
    return int(store_settings.get("low_stock_threshold"))


def _batches(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), BATCH):
        yield ordered[start:start + BATCH]


def _on_sale() -> list[sa.ColumnElement[bool]]:
    return [ProductVariant.is_active.is_(True),
            ProductVariant.product_id.in_(sa.select(Product.id).where(Product.is_active.is_(True)))]


def check_variants(fell: Iterable[int], rose: Iterable[int], session: Session | None = None) -> list[LowVariant]:
    """Re-arm variants back above the threshold and alert once for those at or below it; return those alerted.

    Runs inside the caller's transaction (the commit hook calls it); the email is queued there too.
    """
    session = session or db.session()
    limit = threshold()
    for batch in _batches(rose):
        session.execute(
            sa.update(ProductVariant)
            .where(ProductVariant.id.in_(batch), ProductVariant.low_stock_alerted.is_(True),
                   ProductVariant.stock > limit)
            .values(low_stock_alerted=False).execution_options(synchronize_session=False)
        )
    recipients = store_settings.email_list("low_stock_notify_emails")
    fell = set(fell)
    if not (fell and recipients):
        return []
    claimed: list[int] = []
    for batch in _batches(fell):
        claimed += session.scalars(
            sa.update(ProductVariant)
            .where(ProductVariant.id.in_(batch), ProductVariant.low_stock_alerted.is_(False),
                   ProductVariant.stock <= limit, *_on_sale())
            .values(low_stock_alerted=True).returning(ProductVariant.id)
            .execution_options(synchronize_session=False)
        ).all()
    if not claimed:
        return []
    variants = _low_variants(session, ProductVariant.id.in_(claimed))
    subject = (f"Low stock: {variants[0].name}" if len(variants) == 1
               else f"Low stock: {len(variants)} variants")
    for recipient in recipients:
        queue_email(recipient, subject, "low_stock", variants=variants, threshold=limit,
                    inventory_url=external_url("admin.inventory"))
    return variants


def _low_variants(session: Session, *criteria: sa.ColumnElement[bool], limit: int | None = None) -> list[LowVariant]:
    query = (
        sa.select(ProductVariant.id, ProductVariant.sku, ProductVariant.stock, ProductVariant.option1,
                  ProductVariant.option2, ProductVariant.option3, Product.name)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(*criteria)
        .order_by(ProductVariant.stock, Product.name, ProductVariant.sku)
        .limit(limit)
    )
    return [
        LowVariant(row.id, item_name(row.name, " / ".join(v for v in (row.option1, row.option2, row.option3) if v)),
                   row.sku, row.stock)
        for row in session.execute(query)
    ]


@dataclass(frozen=True)
class DigestOutcome:
    """What the digest did, in words for the command's output."""

    sent_to: int
    listed: int
    total: int
    message: str


def send_digest() -> DigestOutcome:
    """Queue one email listing every variant on sale at or below the threshold, when the daily digest is on.

    Once a day (UTC) at most, however many machines run it.
    """
    if not store_settings.get("low_stock_digest"):
        return DigestOutcome(0, 0, 0, "The daily low-stock digest is off in the store settings; nothing sent.")
    recipients = store_settings.email_list("low_stock_notify_emails")
    if not recipients:
        return DigestOutcome(0, 0, 0, "No low-stock notification emails are set in the store settings; nothing sent.")
    limit = threshold()
    with write_transaction():
        low = [ProductVariant.stock <= limit, *_on_sale()]
        total = db.session.scalar(sa.select(sa.func.count()).select_from(ProductVariant).where(*low)) or 0
        if not total:
            return DigestOutcome(0, 0, 0, f"No variant on sale has {limit} or fewer in stock; nothing sent.")
        if not _claim_today():
            return DigestOutcome(0, 0, total, "Today's low-stock digest was already queued; nothing sent.")
        variants = _low_variants(db.session(), *low, limit=DIGEST_LIMIT)
        for recipient in recipients:
            queue_email(recipient, f"Daily low-stock digest: {total} variant{'s' if total != 1 else ''}",
                        "low_stock_digest", variants=variants, total=total, threshold=limit,
                        inventory_url=external_url("admin.inventory"))
    return DigestOutcome(len(recipients), len(variants), total,
                         f"Low-stock digest of {total} variant(s) queued for {len(recipients)} address(es).")


def _claim_today() -> bool:
    """Note today (UTC) as the digest's day; False when today's went already, from this machine or another.

    Cron may run the digest on every machine: the counter's row lock makes them queue, and only the
    first finds an earlier day in it.
    """
    today = now_utc().date().toordinal()
    if rows_changed(sa.update(Counter).where(Counter.name == DIGEST_DAY, Counter.value < today)
                    .values(value=today).execution_options(synchronize_session=False)):
        return True
    savepoint = db.session.begin_nested()
    try:
        db.session.add(Counter(name=DIGEST_DAY, value=today))
        db.session.flush()
    except IntegrityError:  # the row is there: today's digest, or a first one queued this moment
        savepoint.rollback()
        return False
    savepoint.commit()
    return True
