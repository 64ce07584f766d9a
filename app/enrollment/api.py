"""The worker's path: submit, follow, correct and withdraw applications; membership and cards."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from flask import Response, current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth.access import current_actor, require_signed_in, require_worker
from app.db import db, utcnow
from app.enrollment import memberships, service
from app.enrollment.members import issue_card_token
from app.enrollment.schemas import (
    ApplicationFormSchema,
    ApplicationPageSchema,
    ApplicationSchema,
    CardSchema,
    EraseMeSchema,
    MembershipSchema,
    ReasonSchema,
    RebindingSchema,
    RebindSchema,
)
from app.errors import AppError, ErrorSchema, NotFound, ValidationFailed
from app.extensions import limiter
from app.founding import trigger as founding_trigger
from app.joincodes.resolved import current_resolve_cache
from app.pagination import PageArgsSchema
from app.ratelimits import rate_limits
from app.retention import service as retention
from app.routing.cache import current_route_cache
from app.web.pages import card_check_page

applications_blp = Blueprint("applications", __name__, description="Applications to join a union")
me_blp = Blueprint("me", __name__, description="The signed-in worker's own records")
cards_blp = Blueprint("cards", __name__, description="Member card checks (no sign-in)")

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
# One instance each (loading and dumping keep no state between calls): a schema and its nested ones are built
# once, not per submit (webargs instantiates a schema given as a class on every request).
_APPLICATION = ApplicationSchema()
_APPLICATION_FORM = ApplicationFormSchema()


def _policy() -> service.EnrollmentPolicy:
    settings = current_app.extensions["ruhui.settings"]
    return service.EnrollmentPolicy(
        consent_version=settings.consent_version,
        min_age=settings.min_member_age,
        due_working_days=settings.review_due_working_days,
    )


def _caches() -> service.Caches:
    """This process's resolve and routing caches: a submit at a code and a route already seen reads neither."""
    return service.Caches(resolve=current_resolve_cache(), route=current_route_cache())


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
    @applications_blp.arguments(_APPLICATION_FORM)
    @applications_blp.response(201, ApplicationSchema)
    @applications_blp.alt_response(
        409,
        schema=ErrorSchema,
        description="`identity_in_use`: the ID number is bound to another phone (nothing else is revealed); "
        "`already_member` / `application_open`: only to the phone the identity is bound to",
    )
    @applications_blp.alt_response(410, schema=ErrorSchema, description="join_code_revoked / join_code_expired")
    @applications_blp.alt_response(
        429,
        schema=ErrorSchema,
        description="`identity_attempts_exceeded`: more than 3 different ID numbers from this phone in a day "
        "(Retry-After)",
    )
    def post(self, body: dict[str, Any]) -> Any:
        """Submit an application; a retried request with the same Idempotency-Key is answered once.

        An ID number is bound to the phone that first filed it; another phone must move it first
        (`POST /me/identity/rebind`, or an officer's check in person).
        """
        submitted = service.submit_application_once(
            db.session,
            person_id=current_actor().id,
            form=service.ApplicationForm(**body),
            policy=_policy(),
            limits=rate_limits(),
            now=utcnow(),
            idempotency_key=_idempotency_key(),
            represent=_APPLICATION.dump,
            caches=_caches(),
        )
        # 以入会促建会: the application that brings its place to the threshold opens a founding case.
        founding_trigger.after_filing(db.session, submitted.filed, now=utcnow())
        db.session.commit()
        return _created(submitted.body, submitted.status_code)


@applications_blp.route("/<application_id>")
class ApplicationById(MethodView):
    @require_signed_in
    @applications_blp.response(200, ApplicationSchema)
    def get(self, application_id: str) -> Any:
        """Show one application: the worker's own, or one in the officer's subtree."""
        application = service.visible_application(db.session, current_actor(), application_id)
        return service.application_view(db.session, application)

    @require_worker
    @applications_blp.arguments(_APPLICATION_FORM)
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
            caches=_caches(),
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


@me_blp.route("")
class Me(MethodView):
    @require_worker
    @me_blp.arguments(EraseMeSchema)
    @me_blp.response(204)
    @me_blp.alt_response(400, schema=ErrorSchema, description="`otp_invalid` (also for a code sent to another number)")
    @me_blp.alt_response(
        409,
        schema=ErrorSchema,
        description="`member_active`: a membership still holds the data (withdraw first); "
        "`stale_version`: an application was decided meanwhile, try again",
    )
    @me_blp.alt_response(410, schema=ErrorSchema, description="`otp_expired`")
    @me_blp.alt_response(429, schema=ErrorSchema, description="`otp_locked`")
    def delete(self, body: dict[str, Any]) -> Any:
        """Erase your personal data (your name, ID number and phone), after a fresh SMS code to this phone.

        Ask `POST /auth/otp` for a code to the signed-in number, and send it here. Open applications
        are withdrawn; every application and past membership stays only as an anonymous row in the
        statistics. You are signed out everywhere. Refused while your membership is active.
        Audited as `person.erase`, without personal data.
        """
        try:
            retention.erase_me(db.session, person_id=current_actor().id, now=utcnow(), secret_key=_secret_key(), **body)
        except AppError as error:
            if error.code == "stale_version":
                db.session.rollback()  # nothing happened: the code stays usable for the retry
            else:
                db.session.commit()  # a wrong code counts, and a used code stays used
            raise
        db.session.commit()
        return None


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
        """Show the worker's membership: status, history and, while active or retained, a short-lived card token.

        The membership held (active or retained), else the latest one that ended (withdrawn, removed).
        """
        return service.my_membership(db.session, person_id=current_actor().id, now=utcnow(), secret_key=_secret_key())


@me_blp.route("/membership/withdraw")
class WithdrawMembership(MethodView):
    @require_worker
    @me_blp.arguments(ReasonSchema)
    @me_blp.response(200, MembershipSchema)
    @me_blp.alt_response(404, schema=ErrorSchema, description="not_a_member")
    @me_blp.alt_response(409, schema=ErrorSchema, description="invalid_transition: not active or retained")
    @me_blp.alt_response(422, schema=ErrorSchema, description="reason missing")
    def post(self, body: dict[str, Any]) -> Any:
        """Leave the union (退会): the membership becomes `withdrawn`; the member number stays yours for life.

        Joining again later (a new application) gives the same number back on approval. The card stops
        being valid at once; an SMS confirms it.
        """
        membership = memberships.withdraw(db.session, actor=current_actor(), reason=body["reason"], now=utcnow())
        db.session.commit()
        return memberships.detail(db.session, membership)


@me_blp.route("/membership/retain")
class RetainMembership(MethodView):
    @require_worker
    @me_blp.arguments(ReasonSchema)
    @me_blp.response(202, MembershipSchema)
    @me_blp.alt_response(404, schema=ErrorSchema, description="not_a_member")
    @me_blp.alt_response(409, schema=ErrorSchema, description="invalid_transition: only an active membership")
    @me_blp.alt_response(422, schema=ErrorSchema, description="reason missing")
    def post(self, body: dict[str, Any]) -> Any:
        """Ask for retained membership (保留会籍) when out of work or retired; an officer of the union confirms.

        Answers 202 with the membership, still `active`, carrying `retain_request`; asking again replaces the
        reason. On confirmation it becomes `retained`, held by a union above, and the card stays valid.
        """
        membership = memberships.request_retention(
            db.session, actor=current_actor(), reason=body["reason"], now=utcnow()
        )
        db.session.commit()
        token = issue_card_token(membership.id, utcnow(), secret_key=_secret_key())
        return memberships.detail(db.session, membership, card_token=token)


@cards_blp.route("/<card_token>")
class Card(MethodView):
    # Public: bounded per client so card tokens cannot be ground through.
    decorators: ClassVar[list[Any]] = [limiter.limit("60/minute")]

    @cards_blp.response(200, CardSchema)
    @cards_blp.alt_response(404, schema=ErrorSchema, description="card_not_found: forged, expired or not active")
    def get(self, card_token: str) -> Any:
        """Check a member card (what a venue or officer sees when scanning it).

        A browser (``Accept: text/html``, as after scanning the card's QR code with a phone
        camera) gets a page with the same facts and the time of the check; a program gets JSON.
        """
        if not _wants_html():
            return service.check_card(db.session, card_token, secret_key=_secret_key())
        try:
            check: service.CardCheck | None = service.check_card(db.session, card_token, secret_key=_secret_key())
        except NotFound:
            check = None
        return card_check_page(check)


def _wants_html() -> bool:
    accepted = request.accept_mimetypes
    return accepted.best_match(["application/json", "text/html"]) == "text/html" and accepted["text/html"] > 0


@me_blp.route("/identity/rebind")
class IdentityRebind(MethodView):
    @require_worker
    @me_blp.arguments(RebindSchema)
    @me_blp.response(200, RebindingSchema)
    @me_blp.alt_response(
        400, schema=ErrorSchema, description="`otp_invalid` (with `remaining_attempts` and the `challenge_id`)"
    )
    @me_blp.alt_response(
        409, schema=ErrorSchema, description="`rebind_refused`: the ID number is not bound to the old number"
    )
    @me_blp.alt_response(410, schema=ErrorSchema, description="`otp_expired`")
    @me_blp.alt_response(
        422, schema=ErrorSchema, description="The new code is not for the signed-in phone, or both are one number"
    )
    @me_blp.alt_response(429, schema=ErrorSchema, description="`otp_locked`")
    def post(self, body: dict[str, Any]) -> Any:
        """Move your identity from your old phone to this one (换绑), proving both numbers by SMS code.

        Sign in with the new phone, ask `POST /auth/otp` for a code to the old number and one to the new,
        and send both. The identity, its applications and its membership card then belong to this phone;
        the old phone sees them no more. Audited as `identity.rebind`. Without the old phone, go to the
        union in person: an officer checks the ID card and moves it (`POST /review/identities/{id}/verify`).
        """
        try:
            rebinding = service.rebind_identity_by_codes(
                db.session, person_id=current_actor().id, now=utcnow(), secret_key=_secret_key(), **body
            )
        except AppError:
            db.session.commit()  # a wrong code counts, and used codes stay used
            raise
        db.session.commit()
        return rebinding
