"""Health checks for the load balancer and the orchestrator: /healthz (liveness) and /readyz (readiness)."""
import functools
from datetime import timedelta

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from shop.core import bp
from shop.extensions import db, limiter
from shop.models import OutboxEmail
from shop.models.base import now_utc
from shop.services.mail import MAX_ATTEMPTS

NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Answer 200 while the process serves requests; nothing else is asked, the database least of all."""
    return {"status": "ok"}, 200, NO_STORE


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Answer 200 when the shop can take traffic, else 503 naming the checks that failed."""
    checks = readiness()
    failed = [name for name, outcome in checks.items() if outcome not in ("ok", "skipped")]
    if failed:
        return {"status": "unavailable", "failed": failed, "checks": checks}, 503, NO_STORE
    return {"status": "ok", "checks": checks}, 200, NO_STORE


def readiness() -> dict[str, str]:
    """Check the database answers, is migrated to the code's head, and that queued emails are being sent."""
    checks = {"database": "ok", "migrations": "skipped", "outbox": "skipped"}
    try:
        if not schema_is_current():
            checks["migrations"] = "not at the latest revision: run flask db upgrade"
            return checks  # the outbox's table may not even exist yet
        checks["migrations"] = "ok"
        minutes = current_app.config["OUTBOX_STUCK_MINUTES"]
        checks["outbox"] = f"an email has been due for over {minutes} minutes" if outbox_stuck() else "ok"
    except SQLAlchemyError:
        checks["database"] = "unreachable"
    finally:
        db.session.rollback()  # only read: hand the connection back
    return checks


def schema_is_current() -> bool:
    """Return whether the database's Alembic revision is the head of the shop's migrations."""
    connection = db.session.connection()
    return set(MigrationContext.configure(connection).get_current_heads()) == set(
        migration_heads(current_app.extensions["migrate"].directory))


@functools.cache
def migration_heads(directory: str) -> frozenset[str]:
    """Return the head revisions of the migrations folder (read once per process: the code does not change)."""
    return frozenset(ScriptDirectory(directory).get_heads())


def outbox_stuck() -> bool:
    """Return whether an email that is still being tried has been due for over OUTBOX_STUCK_MINUTES.

    An email the mail server refused waits out its backoff and is not due meanwhile; one given up
    after MAX_ATTEMPTS refusals is not being tried any more, and is the admin's to look at.
    """
    limit = now_utc() - timedelta(minutes=int(current_app.config["OUTBOX_STUCK_MINUTES"]))
    return db.session.scalar(
        sa.select(OutboxEmail.id).where(OutboxEmail.sent_at.is_(None), OutboxEmail.attempts < MAX_ATTEMPTS,
                                        OutboxEmail.next_attempt_at < limit).limit(1)
    ) is not None
