"""The landing page ``/j/<token>``: what a phone camera outside WeChat opens from a printed join code.

WeChat's scanner opens the mini-program directly (the ``/j/`` prefix is registered
with WeChat as "scan an ordinary link QR code to open the mini-program"); every
other camera lands here. The page is plain HTML with inline CSS, no scripts and
no external assets, so it loads on a weak signal and is readable at 360 px.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, render_template, request

from app.config import Settings
from app.db import db
from app.directory.models import OCCUPATIONS
from app.errors import AppError
from app.joincodes import service
from app.ratelimits import rate_limits

bp = Blueprint("join_landing", __name__, template_folder="templates")

DEVICE_COOKIE = "ruhui_device"
_DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600
_PAGE_HEADERS = {
    # Every visit is a counted scan, and a code may be revoked at any moment.
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_DEAD_PAGES = {
    "join_code_not_found": ("没有找到这个入会码", "请确认扫描的是站点张贴的工会入会二维码，或向站点负责人询问。"),
    "join_code_revoked": ("这个入会码已停用", "站点可能已更换了新的入会码，请扫描站点最新张贴的二维码。"),
    "join_code_expired": ("这个入会码已过期", "请向站点负责人索取新的入会码。"),
}


def _settings() -> Settings:
    settings: Settings = current_app.extensions["ruhui.settings"]
    return settings


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


@bp.get("/j/<token>")
def landing(token: str) -> Response:
    """Show the station and its union, and how to continue in WeChat."""
    settings = _settings()
    device_id = request.cookies.get(DEVICE_COOKIE) or secrets.token_urlsafe(16)
    try:
        screen = service.open_join_code(
            db.session,
            token,
            channel="web",
            device_id=device_id,
            counting=service.ScanCounting(
                rate_limits(),
                settings.secret_key,
                request.remote_addr or "unknown",
                settings.scans_counted_per_address_hour,
            ),
            base_url=settings.public_base_url,
            consent_version=settings.consent_version,
            count_scan=request.method != "HEAD",
        )
        db.session.commit()
    except AppError as error:
        db.session.rollback()
        if error.code not in _DEAD_PAGES:
            raise
        title, advice = _DEAD_PAGES[error.code]
        html = render_template("joincodes/dead.html", title=title, advice=advice)
        return Response(html, status=error.status, mimetype="text/html", headers=_PAGE_HEADERS)
    html = render_template(
        "joincodes/landing.html",
        screen=screen,
        occupation_label=OCCUPATIONS.get(screen.station.occupation, ""),
        miniprogram_link=miniprogram_link(settings, screen.code.token),
    )
    response = Response(html, mimetype="text/html", headers=_PAGE_HEADERS)
    if request.cookies.get(DEVICE_COOKIE) != device_id:
        # A random id only, so that repeat visits from one phone count as one device.
        response.set_cookie(
            DEVICE_COOKIE,
            device_id,
            max_age=_DEVICE_COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
            path="/j/",
        )
    return response
