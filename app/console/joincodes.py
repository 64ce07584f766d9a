"""Join codes and posters: a station's codes with their scans; issue, rotate, revoke; poster, images, the ZIP."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response as Redirect

from app.clock import CHINA
from app.config import Settings
from app.console import bp
from app.console.session import principal, require_role, scope
from app.db import db, utcnow
from app.directory import service as directory
from app.directory.models import OCCUPATIONS
from app.errors import ValidationFailed
from app.joincodes import bundle, qr, service

# The API lets admins manage codes; the console follows it.
MANAGING_ROLES = ("admin",)


def _settings() -> Settings:
    settings: Settings = current_app.extensions["ruhui.settings"]
    return settings


def _expires_at(raw: str) -> dt.datetime | None:
    """A date picked on the form: the code works until the end of that day, Beijing time."""
    if not raw.strip():
        return None
    try:
        day = dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailed(errors={"expires_at": ["请按 年-月-日 填写日期"]}) from None
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=CHINA)


@bp.get("/codes")
@require_role(*MANAGING_ROLES)
def stations() -> Any:
    """The stations of the scope, to pick one whose codes to manage."""
    q = request.args.get("q", "").strip()[:100]
    page = directory.list_stations(
        db.session, scope(), limit=50, cursor=request.args.get("cursor") or None, q=q or None
    )
    return render_template("console/code_stations.html", active="codes", page=page, q=q)


@bp.get("/codes/stations/<station_id>")
@require_role(*MANAGING_ROLES)
def station_codes(station_id: str) -> Any:
    """A station's codes, newest first, with their scan counts."""
    page = service.station_join_codes(
        db.session,
        principal(),
        station_id,
        limit=50,
        cursor=request.args.get("cursor") or None,
        base_url=_settings().public_base_url,
    )
    station = service.station_in_scope(db.session, principal(), station_id)
    return render_template(
        "console/codes.html",
        active="codes",
        station=station,
        page=page,
        occupation=OCCUPATIONS.get(station.occupation, ""),
        local=lambda moment: moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else "",
    )


@bp.post("/codes/stations/<station_id>")
@require_role(*MANAGING_ROLES)
def issue_code(station_id: str) -> Redirect:
    """Issue a new code for the station."""
    report = service.issue_join_code(
        db.session,
        principal(),
        station_id,
        expires_at=_expires_at(request.form.get("expires_at", "")),
        base_url=_settings().public_base_url,
    )
    db.session.commit()
    flash(f"已生成新的入会码（编号 {report.code.id}）。", "success")
    return redirect(url_for("console.station_codes", station_id=station_id), 303)


@bp.post("/codes/<code_id>/rotate")
@require_role(*MANAGING_ROLES)
def rotate_code(code_id: str) -> Redirect:
    """Replace a code with a new one; the old one stops working at once."""
    report = service.rotate_join_code_in_scope(
        db.session, principal(), code_id, expires_at=None, base_url=_settings().public_base_url
    )
    db.session.commit()
    flash(f"已更换入会码：旧码停用，新码编号 {report.code.id}。请重新打印张贴。", "success")
    return redirect(url_for("console.station_codes", station_id=report.code.station_id), 303)


@bp.post("/codes/<code_id>/revoke")
@require_role(*MANAGING_ROLES)
def revoke_code(code_id: str) -> Redirect:
    """Revoke a code: scanning it then says it is no longer in use."""
    report = service.revoke_join_code_in_scope(db.session, principal(), code_id, base_url=_settings().public_base_url)
    db.session.commit()
    flash(f"入会码 {report.code.id} 已停用。", "success")
    return redirect(url_for("console.station_codes", station_id=report.code.station_id), 303)


@bp.get("/codes/<code_id>/poster")
@require_role(*MANAGING_ROLES)
def poster(code_id: str) -> Response:
    """The A4 poster, to print from the browser (the same page the API serves)."""
    screen = service.printable_join_code(db.session, principal(), code_id, base_url=_settings().public_base_url)
    html = render_template(
        "joincodes/poster.html",
        screen=screen,
        occupation_label=OCCUPATIONS.get(screen.station.occupation, ""),
        beijing=CHINA,
        qr_svg=Markup(qr.render_svg(screen.url, 600)),  # noqa: S704  # our own SVG: numbers only, no input text
    )
    return Response(html, mimetype="text/html", headers={"Cache-Control": "private, no-cache"})


def _size() -> int:
    raw = request.args.get("size", "")
    size = int(raw) if raw.isdigit() and len(raw) < 6 else qr.DEFAULT_SIZE
    return min(max(size, qr.MIN_SIZE), qr.MAX_SIZE)


@bp.get("/codes/<code_id>/qr.<any(png, svg):kind>")
@require_role(*MANAGING_ROLES)
def code_image(code_id: str, kind: str) -> Response:
    """Download the code's QR image as PNG or SVG."""
    screen = service.printable_join_code(
        db.session, principal(), code_id, base_url=_settings().public_base_url, with_union=False
    )
    size = _size()
    body = qr.render_png(screen.url, size) if kind == "png" else qr.render_svg(screen.url, size)
    return Response(
        body,
        mimetype="image/png" if kind == "png" else "image/svg+xml",
        headers={
            "Content-Disposition": f'attachment; filename="joincode-{screen.code.id}.{kind}"',
            "Cache-Control": "private, no-cache",
        },
    )


@bp.get("/codes/print.zip")
@require_role(*MANAGING_ROLES)
def print_bundle() -> Response:
    """The print shop's ZIP: one PNG per station of an employer, a region or a union, and a manifest."""
    items = service.stations_for_print(
        db.session,
        principal(),
        employer_id=request.args.get("employer_id") or None,
        region_code=request.args.get("region_code") or None,
        union_id=request.args.get("union_id") or str(scope().union_id),
        now=utcnow(),
    )
    stream = bundle.stream_png_bundle(items, base_url=_settings().public_base_url, size=_size())
    return Response(
        stream,
        mimetype="application/zip",
        headers={"Content-Disposition": 'attachment; filename="stations-qr.zip"', "Cache-Control": "no-store"},
    )
