"""The officer's path for memberships: ``/review/memberships`` (list, detail, status) and ``/unions/{id}/dissolve``."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth.access import current_actor, require_officer
from app.db import db, utcnow
from app.enrollment import dissolution, memberships
from app.enrollment.models import MEMBERSHIP_STATUSES
from app.enrollment.schemas import MembershipSchema, reason_field
from app.errors import ErrorSchema
from app.pagination import PageArgsSchema, page_schema
from app.review.api import _expected_version
from app.schemas import UnionRefSchema

blp = Blueprint("review_memberships", __name__, description="Memberships: status, history, and officers' changes")
unions_blp = Blueprint("union_dissolution", __name__, description="Closing a union (撤销)")


class MembershipQuerySchema(PageArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(MEMBERSHIP_STATUSES))
    union_id = ma.fields.String(
        validate=ma.validate.Length(max=32), metadata={"description": "Memberships held by exactly this union"}
    )
    q = ma.fields.String(
        validate=ma.validate.Length(max=40),
        metadata={"description": "An ID or mobile number (exact), a member number, or a masked-name prefix such as 张"},
    )
    retain_requested = ma.fields.Boolean(
        metadata={"description": "Only memberships whose member asked for retained membership (waiting)"}
    )


class OfficerMembershipSchema(MembershipSchema):
    """A membership as officers see it: the member's name and ID number masked."""

    name_masked = ma.fields.String(attribute="identity.name_masked", required=True)
    id_number_masked = ma.fields.String(attribute="identity.id_number_masked", required=True)
    application_id = ma.fields.String(attribute="membership.application_id", required=True)


MembershipPageSchema = page_schema(OfficerMembershipSchema, "MembershipPage")


class StatusChangeSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(memberships.OFFICER_STATUSES))
    reason = reason_field()
    union_id = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=32),
        metadata={"description": "status=retained: the union above that holds it (default: the nearest federation)"},
    )


class DissolveSchema(ma.Schema):
    reason = reason_field("Why the union closes (kept in each member's history); required")
    members_to = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=32),
        metadata={"description": "The union that holds the retained members (default: the nearest federation above)"},
    )
    dry_run = ma.fields.Boolean(load_default=False, metadata={"description": "Count only; change nothing"})


class DissolutionSchema(ma.Schema):
    dry_run = ma.fields.Boolean(required=True)
    union = ma.fields.Nested(UnionRefSchema, required=True)
    members_to = ma.fields.Nested(UnionRefSchema, required=True)
    applications = ma.fields.Integer(required=True, metadata={"description": "Open applications routed elsewhere"})
    members = ma.fields.Integer(required=True, metadata={"description": "Active members who became retained"})
    retained_moved = ma.fields.Integer(
        required=True, metadata={"description": "Retained memberships it held, moved to members_to"}
    )


@blp.route("")
class MembershipList(MethodView):
    @require_officer()
    @blp.arguments(MembershipQuerySchema, location="query")
    @blp.response(200, MembershipPageSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="forbidden: not an officer")
    def get(self, query: dict[str, Any]) -> Any:
        """List the memberships held by unions of your subtree, newest first (filters, cursor pages)."""
        limit, cursor = query.pop("limit"), query.pop("cursor")
        return memberships.list_memberships(
            db.session, current_actor(), filters=memberships.MembershipFilters(**query), limit=limit, cursor=cursor
        )


@blp.route("/<membership_id>")
class MembershipById(MethodView):
    @require_officer()
    @blp.response(200, OfficerMembershipSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="membership_not_found (also outside your scope)")
    def get(self, membership_id: str) -> Any:
        """Show one membership with its history; `ETag` is its version."""
        membership = memberships.membership_in_scope(db.session, current_actor(), membership_id)
        return memberships.detail(db.session, membership), 200, {"ETag": f'"{membership.version}"'}


@blp.route("/<membership_id>/status")
class MembershipStatus(MethodView):
    @require_officer(*memberships.CHANGING_ROLES)
    @blp.arguments(StatusChangeSchema)
    @blp.response(200, OfficerMembershipSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="membership_not_found; union_not_found (union_id)")
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="stale_version (If-Match differs, or another officer won) / invalid_transition",
    )
    @blp.alt_response(422, schema=ErrorSchema, description="reason missing; union_id not above the membership's union")
    def post(self, body: dict[str, Any], membership_id: str) -> Any:
        """Change a membership's status (`active`, `retained`, `removed`) with a reason; send If-Match.

        Allowed: active → retained | removed; retained → active | removed. `retained` is held by
        `union_id` (a union above) or the nearest federation above; `retained` → `active` returns it to the
        union that granted it. `active` on an active membership whose member asked for retained membership
        declines the request. Each change writes a history entry, an audit event and the member's SMS.
        """
        membership = memberships.change_status(
            db.session,
            current_actor(),
            membership_id,
            status=body["status"],
            reason=body["reason"],
            union_id=body["union_id"],
            expected_version=_expected_version(),
            now=utcnow(),
        )
        db.session.commit()
        return memberships.detail(db.session, membership), 200, {"ETag": f'"{membership.version}"'}


@unions_blp.route("/<union_id>/dissolve")
class DissolveUnion(MethodView):
    @require_officer("admin")
    @unions_blp.arguments(DissolveSchema)
    @unions_blp.response(200, DissolutionSchema)
    @unions_blp.alt_response(403, schema=ErrorSchema, description="forbidden: not an admin, or your own union")
    @unions_blp.alt_response(
        404, schema=ErrorSchema, description="union_not_found: the union or members_to (also outside your scope)"
    )
    @unions_blp.alt_response(
        422, schema=ErrorSchema, description="reason missing; members_to inside the union, or not accepting"
    )
    def post(self, body: dict[str, Any], union_id: str) -> Any:
        """Close a union below yours: it stops accepting, its open applications are routed again, its members retained.

        All in one transaction, audited as `union.dissolve`; each member gets a history entry and an SMS,
        each re-routed application a `dissolution` hop in its trace and an SMS. `dry_run` counts first.
        """
        result = dissolution.dissolve_union(
            db.session,
            current_actor(),
            union_id,
            reason=body["reason"],
            members_to=body["members_to"],
            dry_run=body["dry_run"],
            now=utcnow(),
        )
        if body["dry_run"]:
            db.session.rollback()
        else:
            db.session.commit()
        return dissolution.counts(result)
