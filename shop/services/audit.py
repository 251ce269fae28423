"""The audit log's write side: every change an admin makes is recorded in the same transaction."""
from typing import Any

from shop.extensions import db
from shop.models import AuditRecord, User


def record(actor: User | None, action: str, entity_type: str, entity_id: int | None, summary: str,
           changes: dict[str, Any] | None = None) -> AuditRecord:
    """Add an audit record to the current transaction; it commits, or rolls back, with the change."""
    return record_by(actor.id if actor else None, actor.email if actor else "", action, entity_type, entity_id,
                     summary, changes)


def record_by(actor_id: int | None, actor_email: str, action: str, entity_type: str, entity_id: int | None,
              summary: str, changes: dict[str, Any] | None = None) -> AuditRecord:
    """Add an audit record for an actor known by id and email (an order's history names admins so)."""
    entry = AuditRecord(actor_id=actor_id, actor_email=actor_email, action=action, entity_type=entity_type,
                        entity_id=entity_id, summary=summary[:2000], changes=changes or {})
    db.session.add(entry)
    return entry


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Return {field: [before, after]} for the fields whose values differ."""
    return {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}
