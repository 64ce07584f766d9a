"""Review request and response shapes. Queue items are masked; only the detail view unmasks."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.directory.models import OCCUPATIONS
from app.enrollment.models import APPLICATION_STATUSES
from app.enrollment.schemas import ApplicationSchema
from app.pagination import PageArgsSchema, page_schema
from app.review.service import MAX_BULK

ACTIONS = ("approve", "reject", "return")


class ReviewQuerySchema(PageArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(APPLICATION_STATUSES))
    occupation = ma.fields.String(validate=ma.validate.OneOf(OCCUPATIONS))
    station_id = ma.fields.String(validate=ma.validate.Length(max=32))
    union_id = ma.fields.String(
        validate=ma.validate.Length(max=32), metadata={"description": "Applications routed to exactly this union"}
    )
    since = ma.fields.AwareDateTime(default_timezone=None, metadata={"description": "Submitted at or after"})
    until = ma.fields.AwareDateTime(default_timezone=None, metadata={"description": "Submitted before"})
    q = ma.fields.String(
        validate=ma.validate.Length(max=40),
        metadata={"description": "An ID number (exact), a member number, or a masked-name prefix such as 张"},
    )
    overdue = ma.fields.Boolean(metadata={"description": "Only pending applications past their reply deadline"})
    queue = ma.fields.String(
        load_default="all",
        validate=ma.validate.OneOf(("all", "own")),
        metadata={
            "description": "all: the whole subtree; own: routed to your union plus overdue ones escalated from below"
        },
    )
    sort = ma.fields.String(load_default="newest", validate=ma.validate.OneOf(("newest", "oldest")))


class ReviewApplicationSchema(ApplicationSchema):
    """A queue item: the masked application with its deadline flags."""

    overdue = ma.fields.Boolean(required=True)
    escalated = ma.fields.Boolean(
        required=True,
        metadata={"description": "Overdue, and routed to a union below yours: it reached you by escalation"},
    )


ReviewPageSchema = page_schema(ReviewApplicationSchema, "ReviewPage")


class ReviewDetailSchema(ReviewApplicationSchema):
    """The full application. ``full_name``/``id_number`` only for reviewers and admins; each view is audited."""

    full_name = ma.fields.String(allow_none=True)
    id_number = ma.fields.String(allow_none=True)
    phone_masked = ma.fields.String(allow_none=True)
    unmasked = ma.fields.Boolean(required=True)


class DecisionSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(ACTIONS))
    reason = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=500),
        metadata={"description": "Required to reject or return"},
    )

    @ma.validates_schema
    def _reason_for_refusals(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("action") in ("reject", "return") and not (data.get("reason") or "").strip():
            raise ma.ValidationError("不予通过或退回补充时须填写原因", field_name="reason")


class TransferSchema(ma.Schema):
    union_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))

    @ma.validates_schema
    def _reason_not_blank(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "reason" in data and not data["reason"].strip():
            raise ma.ValidationError("转办须填写原因", field_name="reason")


class BulkDecisionSchema(DecisionSchema):
    ids = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=32)),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_BULK),
    )
    dry_run = ma.fields.Boolean(
        load_default=False, metadata={"description": "Report what would happen; change nothing"}
    )


class DuplicateSchema(ma.Schema):
    match = ma.fields.String(required=True, metadata={"enum": ["id_number", "phone"]})
    status = ma.fields.String(required=True, metadata={"description": "The other application's status, or member"})
    application_id = ma.fields.String(metadata={"description": "When that application is in your scope"})


class BulkResultSchema(ma.Schema):
    id = ma.fields.String(required=True)
    ok = ma.fields.Boolean(required=True)
    code = ma.fields.String(metadata={"description": "Why this one was (or would be) refused"})
    status = ma.fields.String(metadata={"description": "The status it has (or would have)"})
    duplicates = ma.fields.List(ma.fields.Nested(DuplicateSchema), metadata={"description": "Dry run only"})

    @ma.post_dump
    def _drop_absent(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        for key in ("code", "status"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class BulkResponseSchema(ma.Schema):
    dry_run = ma.fields.Boolean(required=True)
    results = ma.fields.List(ma.fields.Nested(BulkResultSchema), required=True)
