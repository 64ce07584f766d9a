"""The worker's path: submit, follow, correct and withdraw applications; membership and cards."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from flask import Response, current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from app.auth.access import current_actor, require_signed_in, require_worker
from app.db import db, utcnow
from app.enrollment import service
from app.enrollment.schemas import (
    ApplicationFormSchema,
    ApplicationPageSchema,
    ApplicationSchema,
    CardSchema,
    MembershipSchema,
)
from app.errors import Conflict, ErrorSchema, ValidationFailed
from app.extensions import limiter
from app.pagination import PageArgsSchema

applications_blp = Blueprint("applications", __name__, description="Applications to join a union")
me_blp = Blueprint("me", __name__, description="The signed-in worker's own records")
cards_blp = Blueprint("cards", __name__, description="Member card checks (no sign-in)")

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")


def _policy() -> service.EnrollmentPolicy:
    settings = current_app.extensions["ruhui.settings"]
    return service.EnrollmentPolicy(
        consent_version=settings.consent_version,
        min_age=settings.min_member_age,
        due_working_days=settings.review_due_working_days,
    )


def _secret_key() -> str:
    """The key member cards are signed under (``SECRET_KEY``)."""
    secret_key: str = current_app.extensions["ruhui.settings"].secret_key
    return secret_key


def _created(body: dict[str, Any], status: int) -> Response:
    # Returned as a finished response: it is stored for Idempotency-Key replays byte for byte.
    response = jsonify(body)
    response.status_code = status
    return response


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise ValidationFailed(errors={"Idempotency-Key": ["须为 8 到 128 位字母、数字或 _ . : -"]})
    return key


@applications_blp.route("")
class Applications(MethodView):
    @require_worker
    @applications_blp.arguments(ApplicationFormSchema)
    @applications_blp.response(201, ApplicationSchema)
    @applications_blp.alt_response(409, schema=ErrorSchema, description="already_member / application_open")
    @applications_blp.alt_response(410, schema=ErrorSchema, description="join_code_revoked / join_code_expired")
    def post(self, body: dict[str, Any]) -> Any:
        """Submit an application; a retried request with the same Idempotency-Key is answered once."""
        person_id = current_actor().id
        key = _idempotency_key()
        fingerprint = service.request_fingerprint(body)
        if key:
            replay = service.stored_response(db.session, person_id=person_id, key=key, fingerprint=fingerprint)
            if replay is not None:
                return _created(*replay)
        try:
            application = service.submit_application(
                db.session,
                person_id=person_id,
                form=service.ApplicationForm(**body),
                policy=_policy(),
                now=utcnow(),
            )
            response = ApplicationSchema().dump(service.application_view(db.session, application))
            if key:
                service.remember_response(
                    db.session,
                    person_id=person_id,
                    key=key,
                    fingerprint=fingerprint,
                    response=response,
                    status_code=201,
                )
            db.session.commit()
        except IntegrityError:
            # A request racing this one committed first: the same key replays its answer,
            # anything else met the one-open-application rule.
            db.session.rollback()
            replay = (
                service.stored_response(db.session, person_id=person_id, key=key, fingerprint=fingerprint)
                if key
                else None
            )
            if replay is not None:
                return _created(*replay)
            raise Conflict("您已有一份正在办理的入会申请，请勿重复提交", code="application_open") from None
        return _created(response, 201)


@applications_blp.route("/<application_id>")
class ApplicationById(MethodView):
    @require_signed_in
    @applications_blp.response(200, ApplicationSchema)
    def get(self, application_id: str) -> Any:
        """Show one application: the worker's own, or one in the officer's subtree."""
        application = service.visible_application(db.session, current_actor(), application_id)
        return service.application_view(db.session, application)

    @require_worker
    @applications_blp.arguments(ApplicationFormSchema)
    @applications_blp.response(200, ApplicationSchema)
    @applications_blp.alt_response(409, schema=ErrorSchema, description="invalid_state: only a returned application")
    def put(self, body: dict[str, Any], application_id: str) -> Any:
        """Correct a returned application and send it back to the queue."""
        application = service.resubmit_application(
            db.session,
            person_id=current_actor().id,
            application_id=application_id,
            form=service.ApplicationForm(**body),
            policy=_policy(),
            now=utcnow(),
        )
        db.session.commit()
        return service.application_view(db.session, application)


@applications_blp.route("/<application_id>/withdraw")
class WithdrawApplication(MethodView):
    @require_worker
    @applications_blp.response(200, ApplicationSchema)
    @applications_blp.alt_response(409, schema=ErrorSchema, description="invalid_state")
    def post(self, application_id: str) -> Any:
        """Withdraw an open application."""
        application = service.withdraw_application(
            db.session, person_id=current_actor().id, application_id=application_id
        )
        db.session.commit()
        return service.application_view(db.session, application)


@me_blp.route("/applications")
class MyApplications(MethodView):
    @require_worker
    @me_blp.arguments(PageArgsSchema, location="query")
    @me_blp.response(200, ApplicationPageSchema)
    def get(self, query: dict[str, Any]) -> Any:
        """List the worker's own applications, newest first."""
        page = service.list_own_applications(db.session, person_id=current_actor().id, **query)
        page.items = service.application_views(db.session, page.items)
        return page


@me_blp.route("/membership")
class MyMembership(MethodView):
    @require_worker
    @me_blp.response(200, MembershipSchema)
    @me_blp.alt_response(404, schema=ErrorSchema, description="not_a_member")
    def get(self) -> Any:
        """Show the worker's membership with a fresh, short-lived card token."""
        return service.my_membership(db.session, person_id=current_actor().id, now=utcnow(), secret_key=_secret_key())


@cards_blp.route("/<card_token>")
class Card(MethodView):
    # Public: bounded per client so card tokens cannot be ground through.
    decorators: ClassVar[list[Any]] = [limiter.limit("60/minute")]

    @cards_blp.response(200, CardSchema)
    @cards_blp.alt_response(404, schema=ErrorSchema, description="card_not_found: forged, expired or not active")
    def get(self, card_token: str) -> Any:
        """Check a member card (what a venue or officer sees when scanning it)."""
        return service.check_card(db.session, card_token, secret_key=_secret_key())
