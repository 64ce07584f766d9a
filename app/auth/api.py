"""``/auth/*`` (workers' sign-in, token refresh) and ``/officers*`` (officer accounts and sign-in)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth import service
from app.auth.access import current_actor, require_officer
from app.auth.schemas import (
    OfficerCreateSchema,
    OfficerLoginSchema,
    OfficerSchema,
    OtpChallengeSchema,
    OtpRequestSchema,
    OtpVerifySchema,
    RefreshSchema,
    TokensSchema,
    WeChatSignInSchema,
)
from app.db import db
from app.errors import AppError, ErrorSchema
from app.joincodes import service as joincodes
from app.pagination import Page, PageArgsSchema, page_schema

auth_blp = Blueprint("auth", __name__, description="Sign-in for workers (SMS code or WeChat) and token refresh.")
officers_blp = Blueprint("officers", __name__, description="Officer accounts, their roles, and their sign-in.")

OfficerPageSchema = page_schema(OfficerSchema, "OfficerPage")


def _scan_attribution() -> service.SignInHook:
    """Ties this sign-in to the join code scanned with the same ``X-Device-Id`` (the funnel's "phone proved")."""
    settings = current_app.extensions["ruhui.settings"]
    return joincodes.sign_in_attribution(request.headers.get(joincodes.DEVICE_ID_HEADER), settings.secret_key)


def _policy() -> service.SignInPolicy:
    settings = current_app.extensions["ruhui.settings"]
    return service.SignInPolicy(secret_key=settings.secret_key, sms_daily_budget=settings.sms_daily_budget)


def _client_ip() -> str:
    # ProxyFix (TRUSTED_PROXY_HOPS) has already put the client's address here.
    return request.remote_addr or "unknown"


@contextmanager
def _commit_refusals_too() -> Iterator[None]:
    """Commit on success, and also when the service refused after recording why.

    A wrong code must count even though the answer is an error, and a reused
    refresh token must stay revoked; the service flushed those changes before
    raising, and they are kept here.
    """
    try:
        yield
    except AppError:
        db.session.commit()
        raise
    db.session.commit()


@auth_blp.route("/otp")
class OtpChallenges(MethodView):
    @auth_blp.arguments(OtpRequestSchema)
    @auth_blp.response(202, OtpChallengeSchema)
    @auth_blp.alt_response(422, schema=ErrorSchema, description="Not a mainland mobile number")
    @auth_blp.alt_response(429, schema=ErrorSchema, description="otp_rate_limited (see Retry-After)")
    @auth_blp.alt_response(503, schema=ErrorSchema, description="sms_unavailable")
    def post(self, body: dict[str, Any]) -> service.OtpIssued:
        """Send a six-digit sign-in code by SMS."""
        issued = service.issue_otp(db.session, phone=body["phone"], client_ip=_client_ip(), policy=_policy())
        db.session.commit()
        return issued


@auth_blp.route("/otp/verify")
class OtpVerification(MethodView):
    @auth_blp.arguments(OtpVerifySchema)
    @auth_blp.response(200, TokensSchema)
    @auth_blp.alt_response(400, schema=ErrorSchema, description="otp_invalid, with remaining_attempts")
    @auth_blp.alt_response(410, schema=ErrorSchema, description="otp_expired (also: used, or unknown)")
    @auth_blp.alt_response(429, schema=ErrorSchema, description="otp_locked: five wrong codes")
    def post(self, body: dict[str, Any]) -> service.Tokens:
        """Exchange a challenge and its code for tokens.

        Send the ``X-Device-Id`` header the scan sent: the sign-in then counts as a phone
        proved after that scan in the join funnel.
        """
        with _commit_refusals_too():
            return service.verify_otp(
                db.session,
                challenge_id=body["challenge_id"],
                code=body["code"],
                policy=_policy(),
                on_sign_in=_scan_attribution(),
            )


@auth_blp.route("/wechat")
class WeChatSignIn(MethodView):
    @auth_blp.arguments(WeChatSignInSchema)
    @auth_blp.response(200, TokensSchema)
    @auth_blp.alt_response(400, schema=ErrorSchema, description="wechat_code_invalid")
    @auth_blp.alt_response(409, schema=ErrorSchema, description="phone_required: no proved phone linked yet")
    @auth_blp.alt_response(501, schema=ErrorSchema, description="wechat_not_configured")
    @auth_blp.alt_response(503, schema=ErrorSchema, description="wechat_unavailable")
    def post(self, body: dict[str, Any]) -> service.Tokens:
        """Sign in with WeChat; a phone_code proves the number and links the account.

        Send the ``X-Device-Id`` header the scan sent: the sign-in then counts as a phone
        proved after that scan in the join funnel.
        """
        tokens = service.sign_in_with_wechat(
            db.session,
            code=body["code"],
            phone_code=body.get("phone_code"),
            policy=_policy(),
            on_sign_in=_scan_attribution(),
        )
        db.session.commit()
        return tokens


@auth_blp.route("/refresh")
class TokenRefresh(MethodView):
    @auth_blp.arguments(RefreshSchema)
    @auth_blp.response(200, TokensSchema)
    @auth_blp.alt_response(401, schema=ErrorSchema, description="token_invalid")
    def post(self, body: dict[str, Any]) -> service.Tokens:
        """Trade a refresh token for new tokens (the old one is spent)."""
        with _commit_refusals_too():
            return service.refresh_session(db.session, body["refresh_token"])


@officers_blp.route("/login")
class OfficerLogin(MethodView):
    @officers_blp.arguments(OfficerLoginSchema)
    @officers_blp.response(200, TokensSchema)
    @officers_blp.alt_response(401, schema=ErrorSchema, description="login_failed")
    @officers_blp.alt_response(429, schema=ErrorSchema, description="login_locked (see Retry-After)")
    def post(self, body: dict[str, Any]) -> service.Tokens:
        """Sign an officer in with username and password."""
        tokens = service.login_officer(
            db.session, username=body["username"], password=body["password"], client_ip=_client_ip()
        )
        db.session.commit()
        return tokens


@officers_blp.route("")
class Officers(MethodView):
    @require_officer("admin")
    @officers_blp.arguments(PageArgsSchema, location="query")
    @officers_blp.response(200, OfficerPageSchema)
    @officers_blp.alt_response(401, schema=ErrorSchema, description="unauthorized: no or bad token")
    @officers_blp.alt_response(403, schema=ErrorSchema, description="Not an admin")
    def get(self, args: dict[str, Any]) -> Page:
        """List the officers of the unions in your subtree."""
        return service.list_officers(db.session, current_actor(), limit=args["limit"], cursor=args["cursor"])

    @require_officer("admin")
    @officers_blp.arguments(OfficerCreateSchema)
    @officers_blp.response(201, OfficerSchema)
    @officers_blp.alt_response(401, schema=ErrorSchema, description="unauthorized: no or bad token")
    @officers_blp.alt_response(403, schema=ErrorSchema, description="Not an admin")
    @officers_blp.alt_response(409, schema=ErrorSchema, description="username_taken")
    def post(self, body: dict[str, Any]) -> Any:
        """Create an officer account on a union in your subtree."""
        officer = service.create_officer_in_scope(
            db.session,
            current_actor(),
            username=body["username"],
            password=body["password"],
            union_id=body["union_id"],
            role=body["role"],
            name=body.get("name"),
            sectors=body["sectors"],
        )
        db.session.commit()
        return officer
