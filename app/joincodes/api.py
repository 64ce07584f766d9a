"""Join-code endpoints: officers manage and print codes (``join-codes``); the mini-program resolves a scan."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, current_app, render_template, request
from flask.views import MethodView
from flask_smorest import Blueprint
from markupsafe import Markup

from app.auth.access import current_actor, require_officer
from app.clock import CHINA
from app.config import Settings
from app.db import db
from app.directory.models import OCCUPATIONS
from app.joincodes import bundle, qr, service, wxacode
from app.joincodes.resolved import current_resolve_cache
from app.joincodes.scanlog import current_scan_log
from app.joincodes.schemas import (
    BundleArgsSchema,
    JoinCodeCreateSchema,
    JoinCodeSchema,
    JoinScreenSchema,
    QrArgsSchema,
)
from app.pagination import Page, PageArgsSchema, page_schema
from app.ratelimits import rate_limits

blp = Blueprint(
    "join-codes",
    __name__,
    description="Join codes of stations: issue, revoke, rotate, print (admins)",
    template_folder="templates",  # the A4 poster
)
join_blp = Blueprint("join", __name__, description="What the mini-program shows after a scan (no sign-in)")

_BINARY = {"type": "string", "format": "binary"}
_JOIN_SCREEN = JoinScreenSchema()
# The images of a code never change while its URL does not; the ETag catches a changed PUBLIC_BASE_URL.
_IMAGE_CACHE_CONTROL = "private, max-age=86400"


def _settings() -> Settings:
    settings: Settings = current_app.extensions["ruhui.settings"]
    return settings


def _image_response(url: str, kind: str, size: int, *, filename: str) -> Response:
    """The QR image, or 304 when the client's copy is current (a reprint then renders nothing)."""
    etag = qr.image_etag(url, kind, size)
    headers = {"ETag": f'"{etag}"', "Cache-Control": _IMAGE_CACHE_CONTROL}
    if request.if_none_match.contains_weak(etag):
        return Response(status=304, headers=headers)
    if kind == "png":
        response = Response(qr.render_png(url, size), mimetype="image/png", headers=headers)
    else:
        response = Response(qr.render_svg(url, size), mimetype="image/svg+xml", headers=headers)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@blp.route("/stations/<station_id>/join-codes")
class StationJoinCodes(MethodView):
    @require_officer("admin")
    @blp.arguments(JoinCodeCreateSchema)
    @blp.response(201, JoinCodeSchema)
    @blp.alt_response(404, description="Unknown station, or outside the officer's scope")
    @blp.alt_response(422, description="expires_at missing an offset, in the past, or too far ahead")
    def post(self, args: dict[str, Any], station_id: str) -> service.JoinCodeReport:
        """Issue a new join code for a station."""
        report = service.issue_join_code(
            db.session,
            current_actor(),
            station_id,
            expires_at=args["expires_at"],
            base_url=_settings().public_base_url,
        )
        db.session.commit()
        return report

    @require_officer("admin")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(JoinCodeSchema, "JoinCodePage"))
    @blp.alt_response(404, description="Unknown station, or outside the officer's scope")
    def get(self, args: dict[str, Any], station_id: str) -> Page:
        """List a station's join codes with their scan totals, newest first."""
        return service.station_join_codes(
            db.session,
            current_actor(),
            station_id,
            limit=args["limit"],
            cursor=args["cursor"],
            base_url=_settings().public_base_url,
        )


@blp.route("/join-codes/<code_id>")
class JoinCodeItem(MethodView):
    @require_officer("admin")
    @blp.response(200, JoinCodeSchema)
    @blp.alt_response(404, description="Unknown code, or outside the officer's scope")
    def get(self, code_id: str) -> service.JoinCodeReport:
        """Show a join code with its scan totals."""
        return service.join_code_report(db.session, current_actor(), code_id, base_url=_settings().public_base_url)


@blp.route("/join-codes/<code_id>/revoke")
class JoinCodeRevoke(MethodView):
    @require_officer("admin")
    @blp.response(200, JoinCodeSchema)
    @blp.alt_response(404, description="Unknown code, or outside the officer's scope")
    def post(self, code_id: str) -> service.JoinCodeReport:
        """Revoke a join code (idempotent: the first revocation stands)."""
        report = service.revoke_join_code_in_scope(
            db.session, current_actor(), code_id, base_url=_settings().public_base_url
        )
        db.session.commit()
        return report


@blp.route("/join-codes/<code_id>/rotate")
class JoinCodeRotate(MethodView):
    @require_officer("admin")
    @blp.arguments(JoinCodeCreateSchema)
    @blp.response(201, JoinCodeSchema)
    @blp.alt_response(404, description="Unknown code, or outside the officer's scope")
    @blp.alt_response(409, description="join_code_revoked: the code is already revoked")
    @blp.alt_response(422, description="Bad expires_at")
    def post(self, args: dict[str, Any], code_id: str) -> service.JoinCodeReport:
        """Replace a join code with a new one for the same station, revoking the old one in the same step."""
        report = service.rotate_join_code_in_scope(
            db.session,
            current_actor(),
            code_id,
            expires_at=args["expires_at"],
            base_url=_settings().public_base_url,
        )
        db.session.commit()
        return report


@blp.route("/join-codes/<code_id>/qr.png")
class JoinCodeQrPng(MethodView):
    @require_officer("admin")
    @blp.arguments(QrArgsSchema, location="query")
    @blp.response(200, _BINARY, content_type="image/png")
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    @blp.alt_response(404, description="Unknown code, or outside the officer's scope")
    @blp.alt_response(410, description="join_code_revoked / join_code_expired: a dead code is not printed")
    def get(self, args: dict[str, Any], code_id: str) -> Response:
        """Render the QR code of the join code's URL as a PNG."""
        screen = service.printable_join_code(
            db.session, current_actor(), code_id, base_url=_settings().public_base_url, with_union=False
        )
        return _image_response(screen.url, "png", args["size"], filename=f"joincode-{screen.code.id}.png")


@blp.route("/join-codes/<code_id>/qr.svg")
class JoinCodeQrSvg(MethodView):
    @require_officer("admin")
    @blp.arguments(QrArgsSchema, location="query")
    @blp.response(200, _BINARY, content_type="image/svg+xml")
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    @blp.alt_response(404, description="Unknown code, or outside the officer's scope")
    @blp.alt_response(410, description="join_code_revoked / join_code_expired: a dead code is not printed")
    def get(self, args: dict[str, Any], code_id: str) -> Response:
        """Render the QR code of the join code's URL as an SVG."""
        screen = service.printable_join_code(
            db.session, current_actor(), code_id, base_url=_settings().public_base_url, with_union=False
        )
        return _image_response(screen.url, "svg", args["size"], filename=f"joincode-{screen.code.id}.svg")


@blp.route("/join-codes/<code_id>/wxacode.png")
class JoinCodeWxaCode(MethodView):
    @require_officer("admin")
    @blp.response(200, _BINARY, content_type="image/png")
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    @blp.alt_response(404, description="Unknown code, or outside the officer's scope")
    @blp.alt_response(410, description="join_code_revoked / join_code_expired: a dead code is not printed")
    @blp.alt_response(
        501, description="wechat_not_configured: WECHAT_APP_ID / WECHAT_APP_SECRET are not set (and not cached)"
    )
    @blp.alt_response(
        502, description="wxacode_page_invalid (41030), wxacode_scene_invalid (40169/40129), wxacode_failed"
    )
    @blp.alt_response(503, description="wxacode_rate_limited (45009), wechat_unavailable; with Retry-After")
    def get(self, code_id: str) -> Response:
        """Get the WeChat mini-program code (小程序码) for the join code: scene is the token."""
        settings = _settings()
        png = wxacode.wxacode_png(
            db.session,
            current_actor(),
            code_id,
            page=settings.join_miniprogram_page,
            env_version=settings.join_miniprogram_env_version,
        )
        db.session.commit()  # a newly fetched image is kept: WeChat is asked once per code
        etag = hashlib.sha256(png).hexdigest()[:32]
        headers = {"ETag": f'"{etag}"', "Cache-Control": _IMAGE_CACHE_CONTROL}
        if request.if_none_match.contains_weak(etag):
            return Response(status=304, headers=headers)
        return Response(png, mimetype="image/png", headers=headers)


@blp.route("/join-codes/<code_id>/poster")
class JoinCodePoster(MethodView):
    @require_officer("admin")
    @blp.response(200, {"type": "string"}, content_type="text/html")
    @blp.alt_response(404, description="Unknown code, or outside the officer's scope")
    @blp.alt_response(410, description="join_code_revoked / join_code_expired: a dead code is not printed")
    def get(self, code_id: str) -> Response:
        """Render an A4 poster (HTML, print from the browser) with the station, the union and the QR code."""
        screen = service.printable_join_code(db.session, current_actor(), code_id, base_url=_settings().public_base_url)
        html = render_template(
            "joincodes/poster.html",
            screen=screen,
            occupation_label=OCCUPATIONS.get(screen.station.occupation, ""),
            beijing=CHINA,
            qr_svg=Markup(qr.render_svg(screen.url, 600)),  # noqa: S704  # our own SVG: numbers only, no input text
        )
        return Response(html, mimetype="text/html", headers={"Cache-Control": "private, no-cache"})


@blp.route("/stations/qr.zip")
class StationQrBundle(MethodView):
    @require_officer("admin")
    @blp.arguments(BundleArgsSchema, location="query")
    @blp.response(200, _BINARY, content_type="application/zip")
    @blp.alt_response(404, description="stations_not_found: no station in scope matches; union_not_found")
    @blp.alt_response(422, description="too_many_stations, or a bad filter")
    def get(self, args: dict[str, Any]) -> Response:
        """Download a ZIP of the QR PNGs of many stations (by employer, region or union) and a manifest.csv."""
        items = service.stations_for_print(
            db.session,
            current_actor(),
            employer_id=args["employer_id"],
            region_code=args["region_code"],
            union_id=args["union_id"],
        )
        stream = bundle.stream_png_bundle(items, base_url=_settings().public_base_url, size=args["size"])
        return Response(
            stream,
            mimetype="application/zip",
            headers={"Content-Disposition": 'attachment; filename="stations-qr.zip"', "Cache-Control": "no-store"},
        )


@join_blp.route("/join/<token>")
class JoinResolve(MethodView):
    @join_blp.response(200, JoinScreenSchema, headers={"Cache-Control": {"schema": {"type": "string"}}})
    @join_blp.alt_response(404, description="join_code_not_found")
    @join_blp.alt_response(410, description="join_code_revoked / join_code_expired")
    def get(self, token: str) -> Response:
        """Resolve a scanned join code for the mini-program's first screen, and count the scan.

        Send a stable, app-generated ``X-Device-Id`` header to have distinct devices counted. A device
        counts once per code an hour, and an address at most ``SCANS_COUNTED_PER_ADDRESS_HOUR`` (120)
        scans an hour; past that the code is still answered, only not counted.
        """
        settings = _settings()
        screen = service.open_join_code(
            lambda: db.session,  # opened only when the cache cannot answer
            token,
            channel="miniprogram",
            device_id=request.headers.get(service.DEVICE_ID_HEADER),
            counting=service.ScanCounting(
                rate_limits(),
                settings.secret_key,
                request.remote_addr or "unknown",
                settings.scans_counted_per_address_hour,
                current_scan_log(),
            ),
            base_url=settings.public_base_url,
            consent_version=settings.consent_version,
            count_scan=request.method != "HEAD",
            cache=current_resolve_cache(),
        )
        db.commit()
        # The body is the same for every scan while the code's answer stays cached: dump it once.
        rendered = screen.resolved.rendered if screen.resolved is not None else {}
        body = rendered.get("api")
        if body is None:
            body = rendered["api"] = f"{current_app.json.dumps(_JOIN_SCREEN.dump(screen))}\n".encode()
        # Not cacheable: every GET is a counted scan, and the code may be revoked at any moment.
        return Response(body, mimetype="application/json", headers={"Cache-Control": "no-store"})
