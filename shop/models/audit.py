"""The audit log: who changed what in the back office, and when."""
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import Model
from shop.models import lengths
from shop.models.base import UTCDateTime, now_utc


class AuditRecord(Model):
    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_created_at", "created_at"),
        Index("ix_audit_records_entity", "entity_type", "entity_id"),
        Index("ix_audit_records_actor_id", "actor_id"),
        Index("ix_audit_records_entity_type_created_at", "entity_type", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Kept as written: the record still names the admin after their account is gone.
    actor_email: Mapped[str] = mapped_column(String(lengths.EMAIL), default="")
    action: Mapped[str] = mapped_column(String(lengths.AUDIT_ACTION))  # e.g. "product.update"
    entity_type: Mapped[str] = mapped_column(String(lengths.ENTITY_TYPE))  # e.g. "product"
    entity_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="")  # one line a person reads: "Price of TEE-M 1900 → 2100"
    # {"field": [before, after]} for what changed; plain JSON values (cents as integers).
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
