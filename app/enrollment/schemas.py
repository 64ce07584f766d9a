"""Enrollment request and response shapes. Names and ID numbers are loaded in full and only ever dumped masked."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.directory.models import EMPLOYMENT_FORMS, OCCUPATIONS
from app.directory.schemas import Text
from app.enrollment.models import APPLICATION_STATUSES, MEMBERSHIP_STATUSES
from app.pagination import page_schema
from app.schemas import EmployerRefSchema, UnionRefSchema


class ApplicationFormSchema(ma.Schema):
    join_token = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    full_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=60))
    id_number = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    occupation = ma.fields.String(
        required=True, metadata={"enum": list(OCCUPATIONS)}, validate=ma.validate.Length(max=32)
    )
    employment_form = ma.fields.String(
        required=True, metadata={"enum": list(EMPLOYMENT_FORMS)}, validate=ma.validate.Length(max=32)
    )
    consent_version = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=16))
    employer_name = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=200),
        metadata={"description": "The worker's employer, when the station has none"},
    )
    transfer = ma.fields.Boolean(
        load_default=False, metadata={"description": "Move an existing membership to the routed union"}
    )


class ApplicationStationSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    address = ma.fields.String(required=True)
    region_code = ma.fields.String(required=True)


class RouteHopSchema(ma.Schema):
    """One step of an application's way to its union: routed when filed or resubmitted, or transferred."""

    at = ma.fields.String(required=True, metadata={"format": "date-time"})
    by = ma.fields.String(required=True, metadata={"enum": ["routing", "transfer", "dissolution"]})
    rule = ma.fields.String(required=True, metadata={"description": "The routing rule, or transfer"})
    union = ma.fields.Nested(UnionRefSchema, required=True)
    reasons = ma.fields.List(ma.fields.String(), required=True)
    officer_id = ma.fields.String(metadata={"description": "by=transfer: the officer who transferred it"})
    from_union_id = ma.fields.String(metadata={"description": "by=transfer: the union it left"})


class RouteSchema(ma.Schema):
    rule = ma.fields.String(required=True, metadata={"description": "The rule of the last hop"})
    reasons = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "The last hop's reasons"})
    hops = ma.fields.List(ma.fields.Nested(RouteHopSchema), required=True)


class ApplicationSchema(ma.Schema):
    """The application as the worker and the officer's queue see it (personal data masked)."""

    id = ma.fields.String(attribute="application.id", required=True)
    status = ma.fields.String(
        attribute="application.status", required=True, metadata={"enum": list(APPLICATION_STATUSES)}
    )
    occupation = ma.fields.String(attribute="application.occupation", required=True)
    employment_form = ma.fields.String(attribute="application.employment_form", required=True)
    station = ma.fields.Nested(ApplicationStationSchema, required=True)
    employer = ma.fields.Nested(EmployerRefSchema, allow_none=True)
    employer_name = ma.fields.String(attribute="application.employer_name", allow_none=True)
    union = ma.fields.Nested(UnionRefSchema, required=True)
    route = ma.fields.Nested(RouteSchema, required=True)
    is_transfer = ma.fields.Boolean(attribute="application.is_transfer", required=True)
    name_masked = ma.fields.String(attribute="identity.name_masked", required=True)
    id_number_masked = ma.fields.String(attribute="identity.id_number_masked", required=True)
    member_no = ma.fields.String(attribute="application.member_no")
    decision_reason = ma.fields.String(attribute="application.decision_reason")
    submitted_at = ma.fields.AwareDateTime(attribute="application.submitted_at", required=True)
    due_at = ma.fields.AwareDateTime(attribute="application.due_at", required=True)
    created_at = ma.fields.AwareDateTime(attribute="application.created_at", required=True)
    updated_at = ma.fields.AwareDateTime(attribute="application.updated_at", required=True)
    version = ma.fields.Integer(attribute="application.version", required=True)

    @ma.post_dump
    def _drop_absent(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        # The contract marks these optional: absent until there is something to say.
        for key in ("member_no", "decision_reason"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


ApplicationPageSchema = page_schema(ApplicationSchema, "ApplicationPage")


class MembershipHistorySchema(ma.Schema):
    """One change of a membership's status."""

    at = ma.fields.AwareDateTime(attribute="entry.at", required=True)
    from_ = ma.fields.String(
        attribute="entry.from_status",
        data_key="from",
        allow_none=True,
        required=True,
        metadata={"description": "null for the entry that starts the membership", "enum": list(MEMBERSHIP_STATUSES)},
    )
    to = ma.fields.String(attribute="entry.to_status", required=True, metadata={"enum": list(MEMBERSHIP_STATUSES)})
    union = ma.fields.Nested(UnionRefSchema, required=True, metadata={"description": "The union holding it after"})
    by = ma.fields.String(required=True, metadata={"description": "`worker`, `system`, or the officer's id"})
    reason = ma.fields.String(attribute="entry.reason", allow_none=True, required=True)


class RetainRequestSchema(ma.Schema):
    at = ma.fields.AwareDateTime(required=True)
    reason = ma.fields.String(allow_none=True, required=True)


class MembershipSchema(ma.Schema):
    """A membership as its member sees it: status, history (oldest first) and, while held, a card token."""

    id = ma.fields.String(attribute="membership.id", required=True)
    member_no = ma.fields.String(attribute="membership.member_no", required=True)
    status = ma.fields.String(
        attribute="membership.status", required=True, metadata={"enum": list(MEMBERSHIP_STATUSES)}
    )
    union = ma.fields.Nested(
        UnionRefSchema, required=True, metadata={"description": "The union it belongs to (retained: the holder)"}
    )
    since = ma.fields.AwareDateTime(attribute="membership.since", required=True)
    status_changed_at = ma.fields.AwareDateTime(attribute="membership.status_changed_at", required=True)
    retain_request = ma.fields.Nested(
        RetainRequestSchema,
        allow_none=True,
        required=True,
        metadata={"description": "The member's request for retained membership, while it waits for an officer"},
    )
    history = ma.fields.List(ma.fields.Nested(MembershipHistorySchema), required=True)
    card_token = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Valid for minutes; show as a QR code. null unless active or retained"},
    )
    version = ma.fields.Integer(attribute="membership.version", required=True)


def reason_field(description: str = "Why (kept in the history); required") -> Text:
    """A required reason: at most 500 characters, something besides white space, no control characters."""
    return Text(
        non_blank=True,
        required=True,
        validate=ma.validate.Length(min=1, max=500),
        metadata={"description": description},
    )


class ReasonSchema(ma.Schema):
    reason = reason_field()


class CardSchema(ma.Schema):
    member_no = ma.fields.String(required=True)
    name_masked = ma.fields.String(required=True)
    union = ma.fields.Nested(UnionRefSchema, required=True)
    status = ma.fields.String(required=True)


_CODE_SHAPE = r"^\d{6}$"


def _challenge_id(description: str) -> ma.fields.String:
    return ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=64), metadata={"description": description}
    )


def _code() -> ma.fields.String:
    return ma.fields.String(required=True, validate=ma.validate.Regexp(_CODE_SHAPE, error="验证码为 6 位数字"))


class RebindSchema(ma.Schema):
    """Move an identity to the signed-in phone (换绑): an SMS code to the old number and one to the new."""

    id_number = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=32), metadata={"description": "The identity to move"}
    )
    old_challenge_id = _challenge_id("From POST /auth/otp for the number the identity is bound to")
    old_code = _code()
    new_challenge_id = _challenge_id("From POST /auth/otp for the signed-in phone's number")
    new_code = _code()


class MaskedIdentitySchema(ma.Schema):
    name_masked = ma.fields.String(required=True)
    id_number_masked = ma.fields.String(required=True)


class RebindingSchema(ma.Schema):
    """The identity now bound to the phone named (masked), and how many of its applications moved with it."""

    identity = ma.fields.Nested(MaskedIdentitySchema, required=True)
    phone_masked = ma.fields.String(attribute="person.phone_masked", required=True)
    applications_moved = ma.fields.Integer(required=True)
    rebound_at = ma.fields.AwareDateTime(attribute="at", required=True)


class EraseMeSchema(ma.Schema):
    """Erase the signed-in worker's data: a fresh SMS code sent to the signed-in phone (``POST /auth/otp``)."""

    challenge_id = _challenge_id("From POST /auth/otp for the signed-in phone's number")
    code = _code()
