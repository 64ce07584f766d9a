"""The officer's path: ``/review/applications`` (queue, detail, decision, transfer) and ``/review/bulk-decision``."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth.access import current_actor, require_officer
from app.db import db, utcnow
from app.enrollment.schemas import ApplicationSchema, RebindingSchema
from app.enrollment.service import application_view
from app.errors import AppError, ErrorSchema, ValidationFailed
from app.review import service
from app.review.schemas import (
    BulkDecisionSchema,
    BulkResponseSchema,
    DecisionSchema,
    IdentityVerificationSchema,
    ReviewDetailSchema,
    ReviewPageSchema,
    ReviewQuerySchema,
    TransferSchema,
)

blp = Blueprint(
    "review", __name__, description="The officers' review of applications, and identities checked in person"
)

_IF_MATCH = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


def _expected_version() -> int | None:
    """The version in ``If-Match`` (``3``, ``"3"`` or ``W/"3"``); None when the header is absent or ``*``."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    match = _IF_MATCH.match(raw.strip())
    if match is None:
        raise ValidationFailed(errors={"If-Match": ["须为所见的 version，例如 3"]})
    return int(match.group(1))


def _notices() -> service.NoticePolicy:
    settings = current_app.extensions["ruhui.settings"]
    return service.NoticePolicy(
        wechat_template_id=settings.wechat_decision_template_id if settings.wechat_configured else "",
        wechat_page=settings.wechat_decision_page,
    )


@blp.route("/applications")
class ReviewQueue(MethodView):
    @require_officer()
    @blp.arguments(ReviewQuerySchema, location="query")
    @blp.response(200, ReviewPageSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="forbidden: not an officer")
    def get(self, query: dict[str, Any]) -> Any:
        """List the applications in your subtree (filters, newest or oldest first)."""
        limit, cursor = query.pop("limit"), query.pop("cursor")
        return service.review_queue(
            db.read_session,  # the list may lag the primary by the replica's delay (docs/API.md)
            current_actor(),
            filters=service.QueueFilters(**query),
            limit=limit,
            cursor=cursor,
            now=utcnow(),
        )


@blp.route("/applications/<application_id>")
class ReviewApplication(MethodView):
    @require_officer()
    @blp.response(200, ReviewDetailSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="application_not_found (also outside your scope)")
    def get(self, application_id: str) -> Any:
        """Show one application in full; reviewers and admins see name and ID number (audited)."""
        detail = service.review_detail(db.session, current_actor(), application_id, now=utcnow())
        db.session.commit()  # the audit event of the unmasked view
        return detail, 200, {"ETag": f'"{detail.application.version}"'}


@blp.route("/applications/<application_id>/decision")
class Decision(MethodView):
    @require_officer(*service.DECIDING_ROLES)
    @blp.arguments(DecisionSchema)
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="application_not_found")
    @blp.alt_response(409, schema=ErrorSchema, description="stale_version (If-Match differs) / invalid_state")
    def post(self, body: dict[str, Any], application_id: str) -> Any:
        """Approve, reject or return an application; send If-Match with the version you saw."""
        application = service.decide_application(
            db.session,
            current_actor(),
            application_id,
            action=body["action"],
            reason=body["reason"],
            expected_version=_expected_version(),
            notices=_notices(),
            now=utcnow(),
        )
        db.session.commit()
        return application_view(db.session, application), 200, {"ETag": f'"{application.version}"'}


@blp.route("/applications/<application_id>/transfer")
class Transfer(MethodView):
    @require_officer(*service.DECIDING_ROLES)
    @blp.arguments(TransferSchema)
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="application_not_found / union_not_found")
    @blp.alt_response(409, schema=ErrorSchema, description="stale_version / invalid_state / already_member")
    def post(self, body: dict[str, Any], application_id: str) -> Any:
        """Send a misrouted application to another union, with a reason."""
        application = service.transfer_application(
            db.session,
            current_actor(),
            application_id,
            union_id=body["union_id"],
            reason=body["reason"],
            expected_version=_expected_version(),
            notices=_notices(),
            now=utcnow(),
        )
        db.session.commit()
        return application_view(db.session, application), 200, {"ETag": f'"{application.version}"'}


@blp.route("/bulk-decision")
class BulkDecision(MethodView):
    @require_officer(*service.DECIDING_ROLES)
    @blp.arguments(BulkDecisionSchema)
    @blp.response(200, BulkResponseSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Decide up to 200 applications, each on its own; ``dry_run`` reports and changes nothing."""
        results = service.bulk_decide(
            db.session,
            current_actor(),
            ids=body["ids"],
            action=body["action"],
            reason=body["reason"],
            dry_run=body["dry_run"],
            notices=_notices(),
            now=utcnow(),
        )
        db.session.commit()
        return {"dry_run": body["dry_run"], "results": results}


@blp.route("/identities/<application_id>/verify")
class IdentityVerification(MethodView):
    @require_officer(*service.DECIDING_ROLES)
    @blp.arguments(IdentityVerificationSchema)
    @blp.response(200, RebindingSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="`otp_invalid` (with `remaining_attempts`)")
    @blp.alt_response(403, schema=ErrorSchema, description="forbidden: a viewer, or not an officer")
    @blp.alt_response(404, schema=ErrorSchema, description="application_not_found: none in your subtree")
    @blp.alt_response(410, schema=ErrorSchema, description="`otp_expired`")
    @blp.alt_response(422, schema=ErrorSchema, description="Bad code format or document")
    @blp.alt_response(429, schema=ErrorSchema, description="`otp_locked`")
    def post(self, body: dict[str, Any], application_id: str) -> Any:
        """Move the application's identity to the phone of the person you checked in place (现场核验换绑).

        For a worker told `identity_in_use` (another phone filed the ID number first) or who lost the old
        phone. Check the original ID document against the detail view's full name and ID number, have a
        code sent to the person's phone (`POST /auth/otp`), and send the code they read out. The identity,
        its applications and membership card then belong to that phone, and the phone that held it sees them
        no more. Reviewers and admins, within their subtree; audited as `identity.verify_in_person`.
        """
        try:
            rebinding = service.verify_identity_in_person(
                db.session,
                current_actor(),
                application_id,
                now=utcnow(),
                secret_key=current_app.extensions["ruhui.settings"].secret_key,
                **body,
            )
        except AppError:
            db.session.commit()  # a wrong code counts
            raise
        db.session.commit()
        return rebinding
