"""Enrollment request and response shapes. Names and ID numbers are loaded in full and only ever dumped masked."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.directory.models import EMPLOYMENT_FORMS, OCCUPATIONS
from app.pagination import page_schema


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


class ApplicationSchema(ma.Schema):
    """The application as the worker and the officer's queue see it (personal data masked)."""

    id = ma.fields.Function(lambda v: str(v.application.id), required=True)
    status = ma.fields.Function(lambda v: v.application.status, required=True)
    occupation = ma.fields.Function(lambda v: v.application.occupation, required=True)
    employment_form = ma.fields.Function(lambda v: v.application.employment_form, required=True)
    station = ma.fields.Function(
        lambda v: {
            "id": str(v.station.id),
            "name": v.station.name,
            "address": v.station.address,
            "region_code": v.station.region_code,
        },
        required=True,
    )
    employer = ma.fields.Function(
        lambda v: {"id": str(v.employer.id), "name": v.employer.name} if v.employer else None, allow_none=True
    )
    employer_name = ma.fields.Function(lambda v: v.application.employer_name, allow_none=True)
    union = ma.fields.Function(
        lambda v: {"id": str(v.union.id), "name": v.union.name, "kind": v.union.kind}, required=True
    )
    route = ma.fields.Function(lambda v: v.route, required=True)
    is_transfer = ma.fields.Function(lambda v: v.application.is_transfer, required=True)
    name_masked = ma.fields.Function(lambda v: v.identity.name_masked, required=True)
    id_number_masked = ma.fields.Function(lambda v: v.identity.id_number_masked, required=True)
    member_no = ma.fields.Function(lambda v: v.application.member_no)
    decision_reason = ma.fields.Function(lambda v: v.application.decision_reason)
    submitted_at = ma.fields.Function(lambda v: v.application.submitted_at.isoformat(), required=True)
    due_at = ma.fields.Function(lambda v: v.application.due_at.isoformat(), required=True)
    created_at = ma.fields.Function(lambda v: v.application.created_at.isoformat(), required=True)
    updated_at = ma.fields.Function(lambda v: v.application.updated_at.isoformat(), required=True)
    version = ma.fields.Function(lambda v: v.application.version, required=True)

    @ma.post_dump
    def _drop_absent(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        # The contract marks these optional: absent until there is something to say.
        for key in ("member_no", "decision_reason"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


ApplicationPageSchema = page_schema(ApplicationSchema, "ApplicationPage")


class MembershipSchema(ma.Schema):
    member_no = ma.fields.Function(lambda v: v.membership.member_no, required=True)
    union = ma.fields.Function(
        lambda v: {"id": str(v.union.id), "name": v.union.name, "kind": v.union.kind}, required=True
    )
    since = ma.fields.Function(lambda v: v.membership.since.isoformat(), required=True)
    card_token = ma.fields.Function(
        lambda v: v.card_token, required=True, metadata={"description": "Valid for minutes; show as a QR code"}
    )


class CardSchema(ma.Schema):
    member_no = ma.fields.String(required=True)
    name_masked = ma.fields.String(required=True)
    union = ma.fields.Function(
        lambda v: {"id": str(v.union.id), "name": v.union.name, "kind": v.union.kind}, required=True
    )
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
    phone_masked = ma.fields.Function(lambda v: v.person.phone_masked, required=True)
    applications_moved = ma.fields.Integer(required=True)
    rebound_at = ma.fields.AwareDateTime(attribute="at", required=True)
