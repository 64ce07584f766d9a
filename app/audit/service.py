"""Recording and reading audit events. Details never hold personal data in clear."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.actors import Actor, within_subtree
from app.audit.models import AuditEvent
from app.observability import request_id_if_any
from app.pagination import Page, paginate


def record_event(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: int | str,
    union_path: str,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event in the caller's transaction, so it commits (or not) with the change itself."""
    audit_event = AuditEvent(
        actor_kind=actor.kind if actor else "system",
        actor_id=actor.id if actor and actor.kind != "system" else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        union_path=union_path,
        request_id=request_id_if_any(),
        details=details or {},
    )
    session.add(audit_event)
    session.flush()
    return audit_event


def list_events(
    session: Session,
    *,
    scope_path: str,
    action: str | None = None,
    object_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int,
    cursor: str | None,
) -> Page:
    statement = sa.select(AuditEvent).where(within_subtree(AuditEvent.union_path, scope_path))
    if action:
        statement = statement.where(AuditEvent.action == action)
    if object_id:
        statement = statement.where(AuditEvent.object_id == object_id)
    if since:
        statement = statement.where(AuditEvent.occurred_at >= since)
    if until:
        statement = statement.where(AuditEvent.occurred_at < until)
    return paginate(session, statement, keys=[AuditEvent.id], limit=limit, cursor=cursor)
