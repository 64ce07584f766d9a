"""The audit table. Rows are only ever inserted: the ORM refuses updates and deletes, and
a database trigger refuses updates, so a reviewer's trail cannot be rewritten by the app."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base, BigId, JSONType, UTCDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_union_path", "union_path", postgresql_ops={"union_path": "text_pattern_ops"}),
        # Partitioned by month on PostgreSQL like the scans (``app.partitions``), and never dropped; the key
        # includes the partition key there. SQLite keeps a plain table keyed by ``id`` alone.
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True, primary_key=True)
    actor_kind: Mapped[str] = mapped_column(sa.String(16))  # officer | worker | system
    actor_id: Mapped[int | None] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(32))
    object_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    # The union subtree the object belongs to: admins see events under their own path.
    union_path: Mapped[str] = mapped_column(sa.String(400))
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class AuditLogIsAppendOnly(Exception):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_rewrites(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent):
            raise AuditLogIsAppendOnly("audit events cannot be changed or deleted")
