"""The worker's pages: scan → phone and SMS code → the form → submitted; then progress, corrections and the card.

Each view parses the form, calls one service function (the same ones the JSON API
calls, so the limits, identity rules, routing and idempotency are the same), commits,
and renders, or redirects after a POST so a reload never repeats it. The web session
is Flask's signed cookie; it holds the id of the ``Person`` the phone proved (the
same person the API's tokens name) under ``worker_*`` keys. Every form carries a
CSRF token (Flask-WTF), checked for this blueprint only: the JSON API has none.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlencode

import marshmallow as ma
from flask import Blueprint, Response, current_app, g, redirect, render_template, request, session, url_for
from werkzeug.http import http_date
from werkzeug.wrappers import Response as BaseResponse

from app.actors import Actor
from app.auth import service as auth
from app.clock import CHINA
from app.config import Settings
from app.consent import consent_text
from app.db import db, utcnow
from app.directory.models import EMPLOYMENT_FORMS, OCCUPATIONS
from app.enrollment import members, memberships
from app.enrollment import service as enrollment
from app.enrollment.schemas import ApplicationFormSchema, ApplicationSchema
from app.errors import AppError, flatten_field_errors
from app.founding import trigger as founding_trigger
from app.joincodes import service as joincodes
from app.joincodes.resolved import current_resolve_cache
from app.joincodes.scanlog import current_scan_log
from app.ratelimits import rate_limits
from app.retention import service as retention
from app.routing.cache import current_route_cache
from app.signing import DeviceTokens
from app.web.qrsvg import screen_svg

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/web/static")

P = ParamSpec("P")
R = TypeVar("R")

DEVICE_COOKIE = "ruhui_device"
_DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600
# Session keys of this door (the officer console keeps its own).
PERSON = "worker_person_id"
OTP = "worker_otp"  # {"challenge": id, "phone": masked number, "resend_at": epoch seconds}
JOIN = "worker_join"  # the join token the sign-in continues to, if any
HOTLINE = "12351"

_PRIVATE_HEADERS = {
    # Personal data, and codes that may be revoked at any moment: never from a cache.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
}
_DEAD_PAGES = {
    "join_code_not_found": ("没有找到这个入会码", "请确认扫描的是站点张贴的工会入会二维码，或向站点负责人询问。"),
    "join_code_revoked": ("这个入会码已停用", "站点可能已更换了新的入会码，请扫描站点最新张贴的二维码。"),
    "join_code_expired": ("这个入会码已过期", "请向站点负责人索取新的入会码。"),
}
STATUS_WORDS = {
    "pending": "待审核",
    "approved": "已通过",
    "returned": "已退回",
    "rejected": "未通过",
    "withdrawn": "已撤回",
}
# The service's error codes that concern the ID number the worker typed: shown beside that field.
_IDENTITY_CODES = {
    "application_open",
    "already_member",
    "identity_in_use",
    "identity_attempts_exceeded",
    "idempotency_key_reused",
}
_FORM_FIELDS = ("full_name", "id_number", "occupation", "employment_form", "employer_name")
# Codes whose landing pages a process keeps rendered (about 4.5 KB a page, two variants: up to ~45 MB).
LANDING_PAGES_KEPT = 5_000
# Where a cached page had its CSRF token (``landing``): no template writes this text itself.
_CSRF_MARK = b"\x00csrf\x00"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _settings() -> Settings:
    settings: Settings = current_app.extensions["ruhui.settings"]
    return settings


def _policy() -> enrollment.EnrollmentPolicy:
    settings = _settings()
    return enrollment.EnrollmentPolicy(
        consent_version=settings.consent_version,
        min_age=settings.min_member_age,
        due_working_days=settings.review_due_working_days,
    )


def _sign_in_policy() -> auth.SignInPolicy:
    settings = _settings()
    return auth.SignInPolicy(secret_key=settings.secret_key, sms_daily_budget=settings.sms_daily_budget)


def _render(template: str, **context: Any) -> str:
    return render_template(template, signed_in=PERSON in session, hotline=HOTLINE, **context)


def _html(body: str | bytes, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/html", headers=_PRIVATE_HEADERS)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    return _html(_render(template, **context), status)


def _client_ip() -> str:
    return request.remote_addr or "unknown"


class CsrfFailed(AppError):
    status = 400
    code = "csrf_failed"
    message = "页面已过期，请返回上一页刷新后重新提交"


def _device_tokens() -> DeviceTokens:
    tokens: DeviceTokens | None = current_app.extensions.get("ruhui.device_tokens")
    if tokens is None:
        tokens = current_app.extensions["ruhui.device_tokens"] = DeviceTokens(_settings().secret_key)
    return tokens


def _device_cookie() -> str | None:
    # A first scan has no Cookie header at all: then not even an empty ``request.cookies`` is parsed. Else
    # ``in`` first: ``cookies.get`` of a missing cookie raises and catches a ``BadRequestKeyError`` (an
    # HTTPException built each time).
    if not request.environ.get("HTTP_COOKIE"):
        return None
    cookies = request.cookies
    if DEVICE_COOKIE not in cookies:
        return None
    return cookies[DEVICE_COOKIE] or None


def _device_id() -> str:
    """This browser's device id: its cookie's, or a new one that ``_keep_device_id`` sets on the answer."""
    store = g._get_current_object()  # werkzeug's LocalProxy method: one lookup
    device_id: str | None = store.get("device_id")
    if device_id is None:
        device_id = store.device_id = _device_cookie() or _new_device_ids.next()
    return device_id


class _DeviceIds:
    """New device ids, 16 random bytes each (``secrets.token_urlsafe(16)``), drawn from the OS 64 at a time.

    One ``os.urandom`` a first scan let go of the GIL for a system call, and under gunicorn's threads
    every letting go is a thread switch; a batch of 1 KiB costs one. A fork starts its own batch.
    """

    BATCH = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: list[str] = []
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self._lock, self._ids = threading.Lock(), []  # never hand out the parent's ids again

    def next(self) -> str:
        with self._lock:
            if not self._ids:
                raw = secrets.token_bytes(16 * self.BATCH)
                self._ids = [
                    base64.urlsafe_b64encode(raw[i : i + 16]).rstrip(b"=").decode() for i in range(0, len(raw), 16)
                ]
            return self._ids.pop()


_new_device_ids = _DeviceIds()


def csrf_token() -> str:
    """The CSRF token of this request's forms, bound to the device id (``app.signing.DeviceTokens``)."""
    store = g._get_current_object()  # werkzeug's LocalProxy method: one lookup
    token: str | None = store.get("csrf_token")
    if token is None:
        token = store.csrf_token = _device_tokens().issue(_device_id(), time.time())
    return token


@bp.before_request
def _check_csrf() -> None:
    if request.method == "POST" and not _device_tokens().valid(
        _device_cookie(), request.form.get("csrf_token"), time.time()
    ):
        raise CsrfFailed()


@functools.lru_cache(maxsize=2)  # the current second's, formatted once (werkzeug formats it for every cookie)
def _device_cookie_expires(second: int) -> str:
    return http_date(second + _DEVICE_COOKIE_MAX_AGE)


@bp.after_request
def _keep_device_id(response: Response) -> Response:
    device_id = g.get("device_id")
    if device_id is not None and device_id != _device_cookie():
        # A random id only: repeat visits from one phone count as one device (and its sign-in), and the
        # forms' CSRF tokens are bound to it.
        response.set_cookie(
            DEVICE_COOKIE,
            device_id,
            max_age=_DEVICE_COOKIE_MAX_AGE,
            expires=_device_cookie_expires(int(time.time())),
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


# A global, not a context value, so that imported form macros see it too.
bp.add_app_template_global(csrf_token, "csrf_token")


@bp.errorhandler(AppError)
def _error_page(error: AppError) -> Response:
    db.session.rollback()
    if error.code in _DEAD_PAGES:
        return _dead_page(error)
    response = _page("web/error.html", status=error.status, title="无法完成操作", message=error.message)
    response.headers.update(error.headers or {})
    return response


def _dead_page(error: AppError) -> Response:
    title, advice = _DEAD_PAGES[error.code]
    return _page("web/dead.html", status=error.status, title=title, advice=advice)


def _form(*names: str) -> dict[str, str]:
    """The named fields of the posted form, trimmed; a control character is refused beside its field."""
    values = {name: request.form.get(name, "").strip() for name in names}
    bad = {name: ["含有不允许的字符"] for name, value in values.items() if _CONTROL.search(value)}
    if bad:
        raise _FieldErrors(bad, values)
    return values


class _FieldErrors(Exception):
    """Messages for fields of a form the view renders again, with what the worker typed."""

    def __init__(self, errors: Mapping[str, list[str]], values: Mapping[str, str]) -> None:
        super().__init__("form refused")
        self.errors = dict(errors)
        self.values = dict(values)


def _signed_in_person() -> int | None:
    """The person this browser proved, while it still exists (an erased person signs out)."""
    person_id = session.get(PERSON)
    if not isinstance(person_id, int):
        return None
    if not auth.person_signed_in(db.session, person_id):
        session.pop(PERSON, None)
        return None
    return person_id


def signed_in(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
    """Send a browser that has not proved a phone to the sign-in, then back to where it was going."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
        if _signed_in_person() is None:
            session[JOIN] = kwargs.get("token") if isinstance(kwargs.get("token"), str) else None
            return redirect(url_for("web.sign_in"), code=303)
        return view(*args, **kwargs)

    return wrapper


def _person() -> int:
    person_id = session.get(PERSON)
    assert isinstance(person_id, int)  # checked by @signed_in
    return person_id


# ---------------------------------------------------------------- the scan


def miniprogram_link(settings: Settings, token: str) -> str | None:
    """WeChat's plain-text URL scheme, which opens the mini-program from a phone browser outside WeChat.

    It needs no API call, but the page must be declared in the mini-program's admin
    console (隐私与安全 → 明文 Scheme 拉起此小程序); the page reads ``options.token``.
    """
    if not settings.wechat_app_id:
        return None
    query = urlencode(
        {
            "appid": settings.wechat_app_id,
            "path": settings.join_miniprogram_page,
            "query": urlencode({"token": token}),
            "env_version": settings.join_miniprogram_env_version,
        }
    )
    return f"weixin://dl/business/?{query}"


def _open(token: str, *, count_scan: bool, device_id: str | None = None) -> joincodes.JoinScreen:
    settings = _settings()
    return joincodes.open_join_code(
        lambda: db.session,  # opened only when the cache cannot answer
        token,
        channel="web",
        device_id=device_id,
        counting=joincodes.ScanCounting(
            rate_limits(),
            settings.secret_key,
            request.remote_addr or "unknown",
            settings.scans_counted_per_address_hour,
            current_scan_log(),
        ),
        base_url=settings.public_base_url,
        consent_version=settings.consent_version,
        count_scan=count_scan,
        cache=current_resolve_cache(),
    )


@bp.get("/j/<token>")
def landing(token: str) -> Response:
    """Show the station, its employer and the union the application goes to; then the phone number."""
    screen = _open(token, count_scan=request.method != "HEAD", device_id=_device_id())
    db.commit()
    signed_in = PERSON in session
    csrf = csrf_token()
    # The page is the same for every scan of the code but for the sign-in and the form's CSRF token:
    # kept, with the token marked, beside the cached answer (dropped with it when the directory changes).
    rendered = screen.resolved.rendered if screen.resolved is not None else {}
    key = "landing:signed-in" if signed_in else "landing"
    page = rendered.get(key)
    if page is None:
        if len(current_resolve_cache()) > LANDING_PAGES_KEPT:
            rendered = {}  # past the bound the page is rendered for this request only
        html = _render(
            "web/landing.html",
            screen=screen,
            occupation_label=OCCUPATIONS.get(screen.station.occupation, ""),
            miniprogram_link=miniprogram_link(_settings(), screen.code.token),
            errors={},
            values={},
        ).encode()
        page = rendered[key] = html.replace(csrf.encode(), _CSRF_MARK)
    return _html(page.replace(_CSRF_MARK, csrf.encode()))


# ---------------------------------------------------------------- phone and SMS code


def _join_target(raw: str | None) -> str | None:
    return raw if raw and joincodes.TOKEN_PATTERN.match(raw) else None


@bp.get("/signin")
def sign_in() -> BaseResponse:
    """Ask for the phone number that receives the code."""
    return _page("web/phone.html", errors={}, values={}, join=session.get(JOIN))


@bp.post("/signin")
def send_code() -> BaseResponse:
    """Send the SMS code (the API's limits: one a minute per number, and so on)."""
    join = _join_target(request.form.get("join")) or _join_target(session.get(JOIN))
    values = {"phone": request.form.get("phone", "").strip()}
    try:
        issued = auth.issue_otp(db.session, phone=values["phone"], client_ip=_client_ip(), policy=_sign_in_policy())
        db.session.commit()
    except AppError as error:
        db.session.rollback()
        errors = error.errors or {"phone": [error.message]}
        return _page("web/phone.html", status=error.status, errors=errors, values=values, join=join)
    digits = re.sub(r"\D", "", values["phone"])[-11:]
    session[OTP] = {
        "challenge": issued.challenge_id,
        "phone": f"{digits[:3]}****{digits[-4:]}",
        "resend_at": int(time.time()) + issued.resend_after,
    }
    session[JOIN] = join
    return redirect(url_for("web.enter_code"), code=303)


def _code_page(status: int = 200, errors: Mapping[str, list[str]] | None = None) -> BaseResponse:
    otp = session.get(OTP) or {}
    wait = max(0, int(otp.get("resend_at", 0)) - int(time.time()))
    return _page("web/code.html", status=status, errors=errors or {}, phone=otp.get("phone", ""), wait=wait)


@bp.get("/signin/code")
def enter_code() -> BaseResponse:
    """Ask for the six-digit code just sent."""
    if OTP not in session:
        return redirect(url_for("web.sign_in"), code=303)
    return _code_page()


@bp.post("/signin/code")
def check_code() -> BaseResponse:
    """Check the code; the right one signs this browser in as the phone's person."""
    otp = session.get(OTP)
    if not otp:
        return redirect(url_for("web.sign_in"), code=303)
    code = request.form.get("code", "").strip()
    try:
        person = auth.prove_phone(
            db.session,
            challenge_id=otp["challenge"],
            code=code,
            policy=_sign_in_policy(),
            # The sign-in counts for the code this browser scanned (the funnel's "phone proved").
            on_sign_in=joincodes.sign_in_attribution(_device_cookie(), _settings().secret_key),
        )
    except AppError as error:
        db.session.commit()  # a wrong code counts against the challenge, as in the API
        message = error.message
        remaining = error.extra.get("remaining_attempts") if error.extra else None
        if remaining is not None:
            message = f"{message}，还可尝试 {remaining} 次"
        return _code_page(status=error.status, errors={"code": [message]})
    db.session.commit()
    session.pop(OTP, None)
    session[PERSON] = person.id
    session.permanent = True  # stays signed in on this phone (Flask's PERMANENT_SESSION_LIFETIME)
    join = _join_target(session.pop(JOIN, None))
    target = url_for("web.apply", token=join) if join else url_for("web.my_page")
    return redirect(target, code=303)


@bp.post("/signout")
def sign_out() -> BaseResponse:
    """Forget this browser's sign-in."""
    for key in (PERSON, OTP, JOIN):
        session.pop(key, None)
    return redirect(url_for("web.sign_in"), code=303)


# ---------------------------------------------------------------- the application form


def _form_context(screen: joincodes.JoinScreen) -> dict[str, Any]:
    return {
        "screen": screen,
        "occupations": OCCUPATIONS,
        "employment_forms": EMPLOYMENT_FORMS,
        "consent": consent_text(_settings().consent_version),
        "ask_employer": screen.employer is None,
    }


def _parse_application(join_token: str) -> enrollment.ApplicationForm:
    """The posted form as the API's body; the consent version counts only when its box is ticked."""
    values = _form(*_FORM_FIELDS, "consent")
    body: dict[str, Any] = {name: values[name] for name in _FORM_FIELDS} | {"join_token": join_token}
    body["consent_version"] = request.form.get("consent_version", "") if request.form.get("consent") else "-"
    body["employer_name"] = values["employer_name"] or None
    try:
        loaded = ApplicationFormSchema().load(body)
    except ma.ValidationError as exc:
        raise _FieldErrors(flatten_field_errors(exc.messages), values) from None
    return enrollment.ApplicationForm(**loaded)


def _field_errors(error: AppError) -> dict[str, list[str]]:
    """A service refusal as messages beside the fields it concerns."""
    if error.errors:
        errors = dict(error.errors)
        if "consent_version" in errors:
            errors["consent"] = errors.pop("consent_version")
        return errors
    if error.code in _IDENTITY_CODES:
        return {"id_number": [error.message]}
    return {"_form": [error.message]}


@bp.get("/j/<token>/apply")
@signed_in
def apply(token: str) -> BaseResponse:
    """The one form: name, ID number, occupation, employment form and the consent tick."""
    screen = _open(token, count_scan=False)
    return _page(
        "web/apply.html",
        **_form_context(screen),
        errors={},
        values={"occupation": screen.station.occupation},
        nonce=secrets.token_urlsafe(16),
        action=url_for("web.submit", token=token),
        button="提交申请",
    )


@bp.post("/j/<token>/apply")
@signed_in
def submit(token: str) -> BaseResponse:
    """File the application once per form (its nonce is the idempotency key); then its page."""
    nonce = request.form.get("nonce", "")
    if not _NONCE.match(nonce):
        raise CsrfFailed()
    try:
        form = _parse_application(token)
        submitted = enrollment.submit_application_once(
            db.session,
            person_id=_person(),
            form=form,
            policy=_policy(),
            limits=rate_limits(),
            now=utcnow(),
            idempotency_key=f"web:{nonce}",
            represent=ApplicationSchema().dump,
            caches=enrollment.Caches(resolve=current_resolve_cache(), route=current_route_cache()),
        )
        # 以入会促建会, as the API's submit: the application that brings its place to the threshold opens a case.
        founding_trigger.after_filing(db.session, submitted.filed, now=utcnow())
        db.session.commit()
    except _FieldErrors as refused:
        return _refused_form(token, nonce, refused.errors, refused.values, status=422)
    except AppError as error:
        if error.code in _DEAD_PAGES:
            raise
        db.session.rollback()
        return _refused_form(token, nonce, _field_errors(error), _form(*_FORM_FIELDS, "consent"), status=error.status)
    target = url_for("web.application_page", application_id=submitted.body["id"], submitted=1)
    return redirect(target, code=303)


def _refused_form(
    token: str, nonce: str, errors: Mapping[str, list[str]], values: Mapping[str, str], *, status: int
) -> BaseResponse:
    screen = _open(token, count_scan=False)
    return _page(
        "web/apply.html",
        status=status,
        **_form_context(screen),
        errors=errors,
        values=values,
        nonce=nonce,
        action=url_for("web.submit", token=token),
        button="提交申请",
    )


# ---------------------------------------------------------------- progress


def status_words(view: enrollment.ApplicationView) -> str:
    words = STATUS_WORDS.get(view.application.status, view.application.status)
    reason = view.application.decision_reason
    if view.application.status in ("returned", "rejected") and reason:
        return f"{words}（{reason}）"
    return words


@bp.app_template_filter("beijing")
def _beijing(value: Any, fmt: str = "%Y-%m-%d") -> str:
    return str(value.astimezone(CHINA).strftime(fmt)) if value else ""


@bp.get("/my")
@signed_in
def my_page() -> BaseResponse:
    """The worker's applications with their status in words, and the member card when a member."""
    overview = enrollment.worker_overview(
        db.session, person_id=_person(), now=utcnow(), secret_key=_settings().secret_key
    )
    return _page("web/my.html", overview=overview, status_words=status_words, flash=request.args.get("done"))


@bp.get("/my/applications/<application_id>")
@signed_in
def application_page(application_id: str) -> BaseResponse:
    """One application: its status, its union, when it is due, and what happens next."""
    application = enrollment.own_application(db.session, _person(), application_id)
    view = enrollment.application_view(db.session, application)
    return _page(
        "web/application.html",
        view=view,
        status_words=status_words,
        submitted=request.args.get("submitted") == "1",
    )


@bp.post("/my/applications/<application_id>/withdraw")
@signed_in
def withdraw(application_id: str) -> BaseResponse:
    """Withdraw an open application."""
    enrollment.withdraw_application(db.session, person_id=_person(), application_id=application_id)
    db.session.commit()
    return redirect(url_for("web.my_page", done="withdrawn"), code=303)


@bp.get("/my/applications/<application_id>/edit")
@signed_in
def edit(application_id: str) -> BaseResponse:
    """The form again, for a returned application: the officer's reason at the top."""
    returned = enrollment.returned_application(db.session, person_id=_person(), application_id=application_id)
    return _edit_page(returned, errors={}, values=_values_of(returned.view))


def _values_of(view: enrollment.ApplicationView) -> dict[str, str]:
    return {
        "occupation": view.application.occupation,
        "employment_form": view.application.employment_form,
        "employer_name": view.application.employer_name or "",
    }


def _edit_page(
    returned: enrollment.ReturnedApplication,
    *,
    errors: Mapping[str, list[str]],
    values: Mapping[str, str],
    status: int = 200,
) -> BaseResponse:
    screen = _open(returned.join_token, count_scan=False)
    return _page(
        "web/apply.html",
        status=status,
        **_form_context(screen),
        errors=errors,
        values=values,
        nonce="",
        returned=returned.view,
        action=url_for("web.resubmit", application_id=returned.view.application.id),
        button="重新提交申请",
    )


@bp.post("/my/applications/<application_id>/edit")
@signed_in
def resubmit(application_id: str) -> BaseResponse:
    """Send the corrected application back to the union's queue."""
    returned = enrollment.returned_application(db.session, person_id=_person(), application_id=application_id)
    try:
        form = _parse_application(returned.join_token)
        enrollment.resubmit_application(
            db.session,
            person_id=_person(),
            application_id=application_id,
            form=form,
            policy=_policy(),
            now=utcnow(),
        )
        db.session.commit()
    except _FieldErrors as refused:
        return _edit_page(returned, errors=refused.errors, values=refused.values, status=422)
    except AppError as error:
        if error.code in _DEAD_PAGES:
            raise
        db.session.rollback()
        return _edit_page(
            returned, errors=_field_errors(error), values=_form(*_FORM_FIELDS, "consent"), status=error.status
        )
    target = url_for("web.application_page", application_id=application_id, submitted=1)
    return redirect(target, code=303)


# ---------------------------------------------------------------- the membership: status, history, leave, retain

_MEMBERSHIP_FORMS = {"withdraw": "withdraw_reason", "retain": "retain_reason"}


def _membership_page(errors: Mapping[str, list[str]] | None = None, status: int = 200, **context: Any) -> Response:
    membership = enrollment.my_membership(
        db.session, person_id=_person(), now=utcnow(), secret_key=_settings().secret_key
    )
    return _page(
        "web/membership.html",
        status=status,
        membership=membership,
        labels=memberships.STATUS_LABELS,
        errors=errors or {},
        flash=request.args.get("done"),
        **context,
    )


@bp.get("/my/membership")
@signed_in
def membership_page() -> BaseResponse:
    """The membership: its status, its history, and the forms to leave or to ask for retained membership."""
    return _membership_page()


def _membership_action(action: str) -> BaseResponse:
    field = _MEMBERSHIP_FORMS[action]
    try:
        reason = _form(field)[field]
        act = memberships.withdraw if action == "withdraw" else memberships.request_retention
        act(db.session, actor=Actor(kind="worker", id=_person()), reason=reason, now=utcnow())
        db.session.commit()
    except _FieldErrors as refused:
        return _membership_page(errors=refused.errors, status=422, values=refused.values)
    except AppError as error:
        if error.code == "not_a_member":
            raise
        db.session.rollback()
        messages = flatten_field_errors(error.errors) if error.errors else {}
        errors = {field: messages.get("reason", [error.message])}
        return _membership_page(errors=errors, status=error.status, values={field: request.form.get(field, "")})
    return redirect(url_for("web.membership_page", done=action), code=303)


@bp.post("/my/membership/withdraw")
@signed_in
def withdraw_membership() -> BaseResponse:
    """Leave the union (退会), with a reason; the member number stays yours."""
    return _membership_action("withdraw")


@bp.post("/my/membership/retain")
@signed_in
def retain_membership() -> BaseResponse:
    """Ask the union to keep the membership while out of work (保留会籍)."""
    return _membership_action("retain")


# ---------------------------------------------------------------- the member card


def card_url(card_token: str) -> str:
    return f"{_settings().public_base_url}/api/v1/cards/{card_token}"


@bp.get("/my/card")
@signed_in
def card() -> BaseResponse:
    """The e-member card: number, union, since, and a QR code of a card token that lives a few minutes."""
    membership = enrollment.my_membership(
        db.session, person_id=_person(), now=utcnow(), secret_key=_settings().secret_key
    )
    # Our script reloads the page a minute before the token expires; without it, the worker reloads.
    refresh = max(30, int(members.CARD_TTL.total_seconds()) - 60)
    qr_svg = screen_svg(card_url(membership.card_token)) if membership.card_token else ""
    return _page("web/card.html", membership=membership, qr_svg=qr_svg, refresh=refresh)


def card_check_page(check: enrollment.CardCheck | None) -> Response:
    """The card check a person sees after scanning a member card (``GET /api/v1/cards/{token}`` as HTML)."""
    status = 200 if check is not None else 404
    response = _page("web/card_check.html", status=status, check=check, checked_at=utcnow())
    return response


# ---------------------------------------------------------------- erasing the worker's data (as DELETE /me)

ERASE = "worker_erase"  # {"challenge": id}: the code that confirms the erasure


@bp.get("/my/erase")
@signed_in
def erase_page() -> BaseResponse:
    """What deleting one's data means, and the button that sends the confirming code; or why not now."""
    try:
        retention.check_erasable(db.session, person_id=_person())
    except AppError as refusal:
        return _page("web/erase.html", refusal=refusal.message, errors={})
    return _page("web/erase.html", refusal=None, errors={})


@bp.post("/my/erase")
@signed_in
def send_erase_code() -> BaseResponse:
    """Send the confirming code to the signed-in phone (the API's limits: one a minute, and so on)."""
    try:
        issued = retention.send_erasure_code(
            db.session, person_id=_person(), client_ip=_client_ip(), policy=_sign_in_policy()
        )
        db.session.commit()
    except AppError as error:
        db.session.rollback()
        if error.code == "member_active":
            return _page("web/erase.html", status=error.status, refusal=error.message, errors={})
        return _page("web/erase.html", status=error.status, refusal=None, errors={"_form": [error.message]})
    session[ERASE] = {"challenge": issued.challenge_id}
    return redirect(url_for("web.erase_code"), code=303)


@bp.get("/my/erase/code")
@signed_in
def erase_code() -> BaseResponse:
    """Ask for the code just sent; entering it erases the data."""
    if ERASE not in session:
        return redirect(url_for("web.erase_page"), code=303)
    return _page("web/erase_code.html", errors={})


@bp.post("/my/erase/code")
@signed_in
def confirm_erase() -> BaseResponse:
    """Erase the worker's name, ID number and phone (the service of DELETE /me), then sign this browser out."""
    pending = session.get(ERASE)
    if not isinstance(pending, dict) or not isinstance(pending.get("challenge"), str):
        return redirect(url_for("web.erase_page"), code=303)
    try:
        retention.erase_me(
            db.session,
            person_id=_person(),
            challenge_id=pending["challenge"],
            code=request.form.get("code", "").strip(),
            secret_key=_settings().secret_key,
            now=utcnow(),
        )
    except AppError as error:
        if error.code == "stale_version":
            db.session.rollback()  # nothing happened; the same code may be entered again
        else:
            db.session.commit()  # a wrong code counts against the challenge, as in the API
        if error.code == "member_active":
            session.pop(ERASE, None)
            return _page("web/erase.html", status=error.status, refusal=error.message, errors={})
        message = error.message
        remaining = error.extra.get("remaining_attempts") if error.extra else None
        if remaining is not None:
            message = f"{message}，还可尝试 {remaining} 次"
        return _page("web/erase_code.html", status=error.status, errors={"code": [message]})
    db.session.commit()
    for key in (PERSON, OTP, JOIN, ERASE):
        session.pop(key, None)
    return redirect(url_for("web.erased"), code=303)


@bp.get("/erased")
def erased() -> BaseResponse:
    """Say that the data is gone (this browser is signed out)."""
    return _page("web/erased.html")
