"""Figures and records: coverage (with SVG bars), blind spots, the funnel, exports, the audit log, officer accounts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.models import OFFICER_ROLES
from app.clock import CHINA
from app.console import bp
from app.console.session import principal, require_role, scope
from app.db import db, utcnow
from app.errors import AppError, ValidationFailed
from app.exports import service as exports
from app.founding.vocabulary import SECTORS
from app.privacy import keyring
from app.stats import service as stats

GROUPINGS = {"occupation": "职业", "region": "地区", "union": "工会", "station": "站点", "employment_form": "用工形式"}
_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _day(raw: str | None, *, end: bool = False) -> dt.datetime | None:
    """A date from a form, as the start of that day (or of the next, for an inclusive end), Beijing time."""
    if not raw or not raw.strip():
        return None
    try:
        day = dt.date.fromisoformat(raw.strip()[:10])
    except ValueError:
        raise ValidationFailed(errors={"until" if end else "since": ["请按 年-月-日 填写日期"]}) from None
    return dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time(), tzinfo=CHINA)


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else ""


@bp.get("/stats")
def coverage() -> Any:
    """Coverage grouped by occupation, region, union (drill down), station or employment form."""
    by = request.args.get("by", "occupation")
    if by not in GROUPINGS:
        by = "occupation"
    figures = stats.coverage(
        db.read_session,
        scope(),
        by=by,
        now=utcnow(),
        since=_day(request.args.get("since")),
        until=_day(request.args.get("until"), end=True),
        union_id=request.args.get("union_id") or None,
        limit=50,
        cursor=request.args.get("cursor") or None,
    )
    top = max([row.figures.active_members for row in figures.items] + [1])
    return render_template(
        "console/coverage.html",
        active="stats",
        by=by,
        groupings=GROUPINGS,
        coverage=figures,
        top=top,
        args=request.args,
        local=_local,
    )


@bp.get("/stats/blind-spots")
def blind_spots() -> Any:
    """Stations and regions whose workers can reach only a fallback federation."""
    spots = stats.blind_spots(db.read_session, scope(), union_id=request.args.get("union_id") or None)
    return render_template("console/blind_spots.html", active="stats", spots=spots)


@bp.get("/stats/funnel")
def funnel() -> Any:
    """Scans → phones proved → applications → approvals, for a code, a station or a union."""
    figures = stats.funnel(
        db.read_session,
        scope(),
        join_code_id=request.args.get("join_code_id") or None,
        station_id=request.args.get("station_id") or None,
        union_id=request.args.get("union_id") or None,
        since=_day(request.args.get("since")),
        until=_day(request.args.get("until"), end=True),
    )
    return render_template("console/funnel.html", active="stats", funnel=figures, args=request.args)


# ---------------------------------------------------------------- exports


@bp.get("/exports")
def exports_page() -> Any:
    """Download members or applications, masked; admins may download them unmasked (audited)."""
    return render_template("console/exports.html", active="exports", admin=principal().role == "admin")


@bp.route("/exports/<any(members, applications):kind>.<any(csv, xlsx):fmt>", methods=["GET", "POST"])
def export_file(kind: str, fmt: str) -> Response:
    """A masked export by GET; an unmasked one only by POST from the page (with its CSRF token), and audited."""
    export = exports.prepare_export(
        db.session,
        principal(),
        kind=kind,
        fmt=fmt,
        unmasked=request.method == "POST" and request.form.get("unmasked") == "1",
        keyring=keyring(),
    )
    db.session.commit()  # the audit event stands before the first byte leaves
    return Response(
        exports.export_bytes(export, db.read_sessionmaker),
        content_type=_CONTENT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"', "Cache-Control": "no-store"},
    )


# ---------------------------------------------------------------- audit and accounts


@bp.get("/audit")
@require_role("admin")
def audit_log() -> Any:
    """The audit trail of the subtree, newest first, with filters."""
    values = {name: request.args.get(name, "").strip()[:64] for name in ("action", "object_id", "since", "until")}
    signed_in = principal()
    assert signed_in.union_path is not None
    page = audit.list_events(
        db.session,
        scope_path=signed_in.union_path,
        action=values["action"] or None,
        object_id=values["object_id"] or None,
        since=_day(values["since"]),
        until=_day(values["until"], end=True),
        limit=100,
        cursor=request.args.get("cursor") or None,
    )
    return render_template("console/audit.html", active="audit", page=page, values=values, local=_local)


@bp.get("/officers")
@require_role("admin")
def officers() -> Any:
    """The officer accounts of the subtree, and a form for a new one."""
    return _officers_page({}, {})


def _officers_page(errors: dict[str, list[str]], values: dict[str, Any]) -> Any:
    page = auth_service.list_officers(db.session, principal(), limit=200, cursor=request.args.get("cursor") or None)
    html = render_template(
        "console/officers.html",
        active="officers",
        page=page,
        errors=errors,
        values=values,
        roles=OFFICER_ROLES,
        sector_names=SECTORS,
    )
    return html, 422 if errors else 200


@bp.post("/officers")
@require_role("admin")
def create_officer() -> Any:
    """Create an officer account on a union of the subtree."""
    values: dict[str, Any] = {
        name: request.form.get(name, "").strip() for name in ("username", "name", "union_id", "role")
    }
    values["sectors"] = request.form.getlist("sectors")
    try:
        auth_service.create_officer_in_scope(
            db.session,
            principal(),
            username=values["username"],
            password=request.form.get("password", ""),
            union_id=values["union_id"],
            role=values["role"],
            name=values["name"] or None,
            sectors=values["sectors"],
        )
        db.session.commit()
    except AppError as error:
        db.session.rollback()
        errors = error.errors or {"username": [error.message]}
        return _officers_page(errors, values)
    flash(f"已创建账号 {values['username']}。", "success")
    return redirect(url_for("console.officers"), 303)
