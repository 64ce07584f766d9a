"""Union founding (建会) in the console: the dashboard, the targets, the case board, a case, the department import.

The same services as ``/api/v1/founding`` and ``/api/v1/stats/founding``; only admins change
founding data (as the API's founding writers). A liaison (``liaison_reads``) opens the
dashboard, the targets, the board and a case — each filtered to its sectors by the services —
and nothing else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for

from app.clock import CHINA
from app.console import bp
from app.console.session import liaison_reads, principal, require_role, scope
from app.db import db, parse_id, utcnow
from app.directory.regions import display_name
from app.errors import AppError, Conflict, NotFound, ValidationFailed
from app.exports import founding as founding_report_service
from app.founding import board
from app.founding import imports as founding_imports
from app.founding import service as founding
from app.founding.vocabulary import (
    CLOSED_STAGES,
    IMPORT_SOURCES,
    OPEN_STAGES,
    SECTORS,
    STAGE_NAMES,
    STAGES,
    TARGET_SOURCES,
)
from app.stats import founding as ledger

# Who changes founding data in the console: the API's founding writers.
WRITERS = ("admin",)
GROUPINGS = {"union": "工会", "sector": "行业", "region": "地区", "source": "名单来源"}
BOARD_COLUMN_LIMIT = 30
NAMES = {"stage": STAGE_NAMES, "sector": SECTORS, "source": TARGET_SOURCES, "import_source": IMPORT_SOURCES}


def _render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    signed_in = principal()
    context.setdefault("active", "founding")
    html = render_template(
        template,
        names=NAMES,
        can_write=signed_in.role in WRITERS,
        liaison_sectors=signed_in.sectors,
        region_name=display_name,
        local=_local,
        **context,
    )
    return html, status


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else ""


# ---------------------------------------------------------------- the dashboard


@bp.get("/founding")
@liaison_reads
def founding_dashboard() -> Any:
    """The ledger's figures grouped by union, sector, region or source, with bars; the largest units unbuilt."""
    by = request.args.get("by", "union")
    if by not in GROUPINGS:
        by = "union"
    now = utcnow()
    stats = ledger.founding_stats(db.session, scope(), by=by, now=now, union_id=request.args.get("union_id") or None)
    unbuilt = ledger.unbuilt(db.session, scope(), now=now, union_id=str(stats.union.id), limit=10)
    top = max([row.figures.targets for row in stats.items] + [1])
    return _render(
        "console/founding_dashboard.html",
        stats=stats,
        by=by,
        groupings=GROUPINGS,
        unbuilt=unbuilt,
        top=top,
        stages=ledger.IN_PROGRESS_STAGES,
        flag=(ledger.FLAG_HEADCOUNT, ledger.FLAG_YEARS),
    )


@bp.get("/founding/report.xlsx")
@liaison_reads
def founding_report() -> Response:
    """The monthly founding report (通报) of the subtree, as ``GET /api/v1/exports/founding.xlsx`` gives it."""
    signed_in = principal()
    report = founding_report_service.prepare_founding_report(
        db.session,
        signed_in,
        now=utcnow(),
        month=request.args.get("month") or None,
        union_id=request.args.get("union_id") or None,
    )
    return Response(
        founding_report_service.report_bytes(report, signed_in, current_app.extensions["ruhui.sessionmaker"]),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="{founding_report_service.FILENAME}"',
            "Cache-Control": "no-store",
        },
    )


# ---------------------------------------------------------------- targets


def _filters() -> tuple[dict[str, str], dict[str, Any], dict[str, list[str]]]:
    """The targets' filters from the query string: what the form shows, what the service takes, the errors."""
    shown = {
        name: request.args.get(name, "").strip()[:32]
        for name in ("region_code", "sector", "source", "has_union", "min_headcount")
    }
    query: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if shown["region_code"]:
        if len(shown["region_code"]) == 6 and shown["region_code"].isdigit():
            query["region_code"] = shown["region_code"]
        else:
            errors["region_code"] = ["请填写六位行政区划代码"]
    if shown["sector"] in SECTORS:
        query["sector"] = shown["sector"]
    if shown["source"] in TARGET_SOURCES:
        query["source"] = shown["source"]
    if shown["has_union"] in ("yes", "no"):
        query["has_union"] = shown["has_union"] == "yes"
    if shown["min_headcount"]:
        if shown["min_headcount"].isdigit() and len(shown["min_headcount"]) <= 7:
            query["min_headcount"] = int(shown["min_headcount"])
        else:
            errors["min_headcount"] = ["请填写整数"]
    return shown, query, errors


@bp.get("/founding/targets")
@liaison_reads
def founding_targets() -> Any:
    """The units that should have a union, with filters (region, sector, source, union or not, headcount)."""
    shown, query, errors = _filters()
    page = founding.list_targets(db.session, scope(), limit=50, cursor=request.args.get("cursor") or None, **query)
    views = founding.target_views(db.session, page.items)
    open_cases = board.open_cases_of(db.session, scope(), [view.target.id for view in views])
    return _render(
        "console/founding_targets.html",
        422 if errors else 200,
        views=views,
        next_cursor=page.next_cursor,
        values=shown,
        errors=errors,
        open_cases=open_cases,
        today=founding.today_in_china(utcnow()),
    )


@bp.post("/founding/cases")
@require_role(*WRITERS)
def founding_open_case() -> Any:
    """Open a case for a target, the signed-in officer's union responsible, with its planned date."""
    target_id = parse_id(request.form.get("target_id", ""))
    planned_raw = request.form.get("planned_by", "").strip()
    try:
        planned_by = dt.date.fromisoformat(planned_raw) if planned_raw else None
    except ValueError:
        flash("计划完成日期须按 年-月-日 填写。", "error")
        return redirect(url_for("console.founding_targets"), 303)
    if target_id is None:
        raise NotFound("应建单位不存在", code="target_not_found")
    signed_in = principal()
    assert signed_in.union_id is not None
    try:
        view = founding.create_case(
            db.session,
            signed_in,
            target_id=target_id,
            union_id=signed_in.union_id,
            planned_by=planned_by,
            now=utcnow(),
        )
        db.session.commit()
    except Conflict as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("console.founding_targets"), 303)
    flash(f"已为「{view.target.name}」启动建会工作。", "success")
    return redirect(url_for("console.founding_case", case_id=view.case.id), 303)


# ---------------------------------------------------------------- the case board and a case


@bp.get("/founding/cases")
@liaison_reads
def founding_cases() -> Any:
    """The case board: a column per stage (open ones first), each with its newest cases; overdue marked."""
    now = utcnow()
    columns = []
    for stage in (*OPEN_STAGES, *CLOSED_STAGES):
        page = founding.list_cases(db.session, scope(), now=now, limit=BOARD_COLUMN_LIMIT, stage=stage)
        columns.append((stage, page.items, page.next_cursor is not None))
    return _render("console/founding_cases.html", columns=columns, limit=BOARD_COLUMN_LIMIT)


@bp.get("/founding/cases/<case_id>")
@liaison_reads
def founding_case(case_id: str) -> Any:
    """One case: its target, its history, and (for admins) the buttons of the stages it may move to."""
    return _case_page(case_id)


def _case_page(case_id: str, *, errors: dict[str, list[str]] | None = None, form: dict[str, str] | None = None) -> Any:
    number = parse_id(case_id)
    if number is None:
        raise NotFound("建会工作不存在", code="case_not_found")
    view = founding.get_case(db.session, scope(), number, utcnow())
    return _render(
        "console/founding_case.html",
        422 if errors else 200,
        view=view,
        allowed=founding.allowed_stages(view.case),
        joint_unions=board.joint_union_choices(db.session, scope()) if view.case.stage not in CLOSED_STAGES else [],
        officers=board.step_officer_names(db.session, view.history),
        errors=errors or {},
        form=form or {},
    )


@bp.post("/founding/cases/<case_id>/stage")
@require_role(*WRITERS)
def founding_case_stage(case_id: str) -> Any:
    """Move the case to the stage of the button pressed, with the version the officer saw."""
    number = parse_id(case_id)
    if number is None:
        raise NotFound("建会工作不存在", code="case_not_found")
    form = {name: request.form.get(name, "").strip() for name in ("stage", "note", "document_no", "joint_union_id")}
    version = parse_id(request.form.get("version", ""))
    if form["stage"] not in STAGES:
        return _case_page(case_id, errors={"stage": ["请选择要推进到的阶段"]}, form=form)
    if version is None:
        return _case_page(case_id, errors={"version": ["页面缺少版本号，请刷新后重试"]}, form=form)
    joint_union_id = parse_id(form["joint_union_id"]) if form["joint_union_id"] else None
    try:
        view = founding.change_stage(
            db.session,
            principal(),
            number,
            stage=form["stage"],
            note=form["note"][:500],
            document_no=form["document_no"][:64] or None,
            joint_union_id=joint_union_id if form["stage"] == "joined_joint_union" else None,
            expected_version=version,
            now=utcnow(),
        )
        db.session.commit()
    except ValidationFailed as error:
        db.session.rollback()
        return _case_page(case_id, errors=error.errors or {"stage": [error.message]}, form=form)
    except Conflict as error:
        db.session.rollback()
        if error.code == "stale_version":
            flash("这项建会工作刚被其他工作人员更新，您的操作没有保存，请看下方的最新情况。", "error")
        else:
            flash(error.message, "error")
        return redirect(url_for("console.founding_case", case_id=case_id), 303)
    message = f"已推进到「{STAGE_NAMES[view.case.stage]}」。"
    if view.founded_union is not None:
        message += f"企业工会「{view.founded_union.name}」已建立，新的入会申请将分派到该工会。"
    flash(message, "success")
    return redirect(url_for("console.founding_case", case_id=case_id), 303)


# ---------------------------------------------------------------- the department import


@bp.get("/founding/import")
@require_role(*WRITERS)
def founding_import_page() -> Any:
    """The form for a department's list (CSV) and its source."""
    return _render("console/founding_import.html", result=None, errors={}, source="")


@bp.post("/founding/import")
@require_role(*WRITERS)
def founding_import() -> Any:
    """Import a department's whole list or nothing; show the difference from that source's previous list."""
    source = request.form.get("source", "")
    upload = request.files.get("file")
    errors: dict[str, list[str]] = {}
    result = None
    if source not in IMPORT_SOURCES:
        errors["source"] = ["请选择名单来源"]
    if upload is None or not upload.filename:
        errors["file"] = ["请选择要上传的 CSV 文件"]
    if not errors:
        assert upload is not None
        try:
            result = founding_imports.import_targets(db.session, scope(), source, upload.stream)
            db.session.commit()
        except AppError as error:
            db.session.rollback()
            errors = error.errors or {"file": [error.message]}
            errors.setdefault("_summary", [error.message])
    return _render("console/founding_import.html", 422 if errors else 200, result=result, errors=errors, source=source)
