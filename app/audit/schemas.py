"""Audit request and response shapes."""

from __future__ import annotations

import marshmallow as ma

from app.pagination import PageArgsSchema, page_schema


class AuditQuerySchema(PageArgsSchema):
    action = ma.fields.String(validate=ma.validate.Length(max=64))
    object_id = ma.fields.String(validate=ma.validate.Length(max=64))
    since = ma.fields.AwareDateTime(default_timezone=None)
    until = ma.fields.AwareDateTime(default_timezone=None)


class AuditEventSchema(ma.Schema):
    id = ma.fields.String(required=True)
    occurred_at = ma.fields.AwareDateTime(required=True)
    actor = ma.fields.Method("_actor", required=True)
    action = ma.fields.String(required=True)
    object_type = ma.fields.String(required=True)
    object_id = ma.fields.String(required=True)
    request_id = ma.fields.String(allow_none=True)
    details = ma.fields.Dict(required=True)

    def _actor(self, event: object) -> dict[str, str | None]:
        actor_id = getattr(event, "actor_id", None)
        return {"kind": getattr(event, "actor_kind", "system"), "id": str(actor_id) if actor_id else None}


AuditPageSchema = page_schema(AuditEventSchema, "AuditPage")
