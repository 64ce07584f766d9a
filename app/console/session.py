"""Signing officers in and out of the console, the idle timeout, CSRF on every form, and the error pages.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax); the console's keys are
``officer_*`` so that the worker's pages can share the cookie. Every request reloads the
officer, so a deactivated account is out at its next click. The password check and its
lockouts are the API's own (``authenticate_officer``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response
from wtforms.validators import ValidationError

from app.actors import Actor
from app.auth import service as auth_service
from app.auth.models import LIAISON, Officer
from app.console import bp
from app.console.labels import LABELS
from app.db import READ_FROM_PRIMARY, db, utcnow
from app.directory.models import Union
from app.errors import AppError
from app.signing import csrf_token

P = ParamSpec("P")
R = TypeVar("R")

OFFICER_ID = "officer_id"
OFFICER_SEEN = "officer_seen"  # epoch seconds of the last request: the idle timeout
OFFICER_SINCE = "officer_since"  # epoch seconds of the sign-in: the absolute limit
OFFICER_CHANGED = "officer_changed"  # epoch seconds of the last POST: reports read the primary a while
OFFICER_KEYS = (OFFICER_ID, OFFICER_SEEN, OFFICER_SINCE, OFFICER_CHANGED)
READ_PRIMARY_AFTER_CHANGE = dt.timedelta(seconds=10)
IDLE_TIMEOUT = dt.timedelta(minutes=30)
SESSION_LIFETIME = dt.timedelta(hours=12)
PUBLIC_ENDPOINTS = {"console.login", "console.static", "console.not_found"}
_ROLE_NAMES = {"admin": "管理员", "reviewer": "审核员", "viewer": "查看员", "liaison": "联络员"}
# Pages a liaison (``app.auth.models.LIAISON``) may open besides these: those marked ``liaison_reads``.
LIAISON_ENDPOINTS = {"console.logout", "console.home"}


class CsrfRefused(AppError):
    status = 400
    code = "csrf_failed"
    message = "页面已过期或来源不明，请刷新页面后重试"


def _now() -> float:
    return utcnow().timestamp()


def principal() -> Actor:
    """The signed-in officer (every console view runs after ``_guard`` has loaded it)."""
    signed_in: Actor = g.actor
    return signed_in


def _load_officer(officer_id: object) -> tuple[Officer, Actor] | None:
    if not isinstance(officer_id, int):
        return None
    # One statement for both (every console request runs it): the officer and its union's path.
    row = db.session.execute(
        sa.select(Officer, Union.path).join(Union, Union.id == Officer.union_id).where(Officer.id == officer_id)
    ).first()
    if row is None or not row[0].active:
        return None
    officer, path = row
    return officer, auth_service.officer_actor(db.session, officer, union_path=path)


def _forget_officer() -> None:
    for key in OFFICER_KEYS:
        session.pop(key, None)
    session.pop("csrf_token", None)  # a new sign-in gets a new token


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the console: a sign-in link cannot send the officer to another site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/") or "\\" in target:
        return None
    return target


@bp.before_request
def _guard() -> Response | None:
    """CSRF on every POST; then the officer, unless the page is public (sign-in, static files)."""
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            raise CsrfRefused() from None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    now = _now()
    seen, since = session.get(OFFICER_SEEN), session.get(OFFICER_SINCE)
    loaded = _load_officer(session.get(OFFICER_ID))
    expired = (
        not isinstance(seen, float | int)
        or not isinstance(since, float | int)
        or now - seen > IDLE_TIMEOUT.total_seconds()
        or now - since > SESSION_LIFETIME.total_seconds()
    )
    if loaded is None or expired:
        if OFFICER_ID in session:
            flash("长时间未操作，已自动退出，请重新登录。", "info")
        _forget_officer()
        next_page = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("console.login", next=next_page))
    g.officer, g.actor = loaded  # g.actor: what current_actor() answers for the API too
    session[OFFICER_SEEN] = now
    if loaded[1].role == LIAISON and not _liaison_may_open():
        raise AppError("您的账号没有这项操作的权限", code="forbidden", status=403)
    # Read-your-own-write: for a few seconds after a change, the officer's reports (the queue, the
    # figures) read the primary, not a replica that may not have replayed the change yet (app.db).
    if request.method == "POST":
        session[OFFICER_CHANGED] = now
    changed = session.get(OFFICER_CHANGED)
    if isinstance(changed, float | int) and now - changed < READ_PRIMARY_AFTER_CHANGE.total_seconds():
        g.setdefault(READ_FROM_PRIMARY, True)
    return None


def _liaison_may_open() -> bool:
    if request.endpoint in LIAISON_ENDPOINTS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "liaison_reads", False) is True


def liaison_reads(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a page a liaison may open too (founding data, filtered to its sectors by the services).

    Every other console page refuses a liaison, whatever its other roles, as the API does.
    """
    view.liaison_reads = True  # type: ignore[attr-defined]  # a marker ``_guard`` reads off the view function
    return view


def landing_page(role: str) -> str:
    """Where an officer lands after signing in: the queue, or for a liaison the founding dashboard."""
    return url_for("console.founding_dashboard" if role == LIAISON else "console.queue")


def require_role(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Refuse (403 page) an officer whose role is not among ``roles``, as the API's ``require_officer`` does."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if principal().role not in roles:
                raise AppError("您的账号没有这项操作的权限", code="forbidden", status=403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


@bp.app_template_global()
def csrf_field() -> Any:
    from markupsafe import Markup

    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(csrf_token())


@bp.context_processor
def _page_globals() -> dict[str, Any]:
    return {"officer": g.get("officer"), "role_name": _ROLE_NAMES, "labels": LABELS}


# ---------------------------------------------------------------- sign-in and sign-out


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in with username and password (the API's lockouts apply)."""
    next_page = _safe_next(request.values.get("next"))
    if request.method == "GET":
        signed_in = _load_officer(session.get(OFFICER_ID))
        if signed_in is not None and OFFICER_SEEN in session:
            return redirect(next_page or landing_page(signed_in[0].role))
        return render_template("console/login.html", next_page=next_page, errors={}, username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    errors: dict[str, list[str]] = {}
    status = 200
    if not username:
        errors["username"] = ["请输入用户名"]
    if not password:
        errors["password"] = ["请输入密码"]
    if errors:
        status = 422
    else:
        try:
            officer = auth_service.authenticate_officer(
                db.session, username=username, password=password, client_ip=request.remote_addr or "unknown"
            )
        except AppError as error:
            db.session.rollback()
            if error.status not in (401, 429):
                raise
            errors["password"], status = [error.message], error.status
        else:
            db.session.commit()
            _forget_officer()
            now = _now()
            session[OFFICER_ID], session[OFFICER_SEEN], session[OFFICER_SINCE] = officer.id, now, now
            return redirect(next_page or landing_page(officer.role))
    html = render_template("console/login.html", next_page=next_page, errors=errors, username=username)
    return html, status


@bp.post("/logout")
def logout() -> Response:
    """Sign out: the cookie forgets the officer."""
    _forget_officer()
    flash("您已安全退出。", "info")
    return redirect(url_for("console.login"))


@bp.get("/")
def home() -> Response:
    return redirect(landing_page(principal().role or ""))


# ---------------------------------------------------------------- error pages


@bp.route("/<path:_rest>")
def not_found(_rest: str) -> Any:
    """Any other console address: the console's own "not found" page rather than the API's JSON."""
    return _error_page(404, "没有找到这个页面", "请从上方的导航重新进入。")


def _error_page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("console/error.html", status=status, title=title, message=message), status


@bp.errorhandler(AppError)
def _app_error(error: AppError) -> Any:
    db.session.rollback()
    if error.status == 404:
        # Outside the scope is "not found", exactly like something that does not exist.
        return _error_page(404, "没有找到", "该记录不存在，或不在您的管辖范围内。")
    titles = {400: "请求有误", 403: "没有权限", 409: "无法完成", 410: "已失效", 422: "填写有误", 429: "操作太频繁"}
    page, status = _error_page(error.status, titles.get(error.status, "出错了"), error.message)
    headers = dict(error.headers)
    if error.status in (429, 503):
        headers.setdefault("Retry-After", "60")
    return page, status, headers


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if status == 404:
        return _error_page(404, "没有找到", "该记录不存在，或不在您的管辖范围内。")
    return _error_page(status, "请求有误", "请返回上一页重试。")


def scope() -> Actor:
    """The signed-in officer as the directory, routing and statistics services take it (one value since ``Actor``)."""
    return principal()
