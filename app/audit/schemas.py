"""Audit request and response shapes."""

from __future__ import annotations

import marshmallow as ma

from app.pagination import PageArgsSchema, page_schema
from app.schemas import Itself


class AuditQuerySchema(PageArgsSchema):
    action = ma.fields.String(validate=ma.validate.Length(max=64))
    object_id = ma.fields.String(validate=ma.validate.Length(max=64))
    since = ma.fields.AwareDateTime(default_timezone=None)
    until = ma.fields.AwareDateTime(default_timezone=None)


class ActorSchema(ma.Schema):
    """Who acted: read from the event's ``actor_kind`` and ``actor_id``."""

    kind = ma.fields.String(attribute="actor_kind", required=True, metadata={"enum": ["officer", "worker", "system"]})
    id = ma.fields.String(
        attribute="actor_id", allow_none=True, required=True, metadata={"description": "null: system"}
    )


class AuditEventSchema(ma.Schema):
    id = ma.fields.String(required=True)
    occurred_at = ma.fields.AwareDateTime(required=True)
    actor = Itself(ActorSchema, required=True)
    action = ma.fields.String(required=True)
    object_type = ma.fields.String(required=True)
    object_id = ma.fields.String(required=True)
    request_id = ma.fields.String(allow_none=True)
    details = ma.fields.Dict(required=True)


AuditPageSchema = page_schema(AuditEventSchema, "AuditPage")
