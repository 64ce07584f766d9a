"""The review pages: the queue (filters, cursor pages, bulk decisions), one application's case and its decisions."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from app.clock import CHINA
from app.console import bp
from app.console.labels import APPLICATION_STATUS_NAMES, COMMON_REASONS
from app.console.session import principal, require_role, scope
from app.db import db, parse_id, utcnow
from app.directory.models import OCCUPATIONS
from app.errors import Conflict, ValidationFailed
from app.review import service

PAGE_SIZE = 50
UNION_CHOICES = 200  # the union filter's options: the subtree's first unions (by id)
# The queue's union options are kept this long per subtree and process: the busiest page then costs
# no look-up for them, and a union created or renamed shows in the filter within this time.
UNION_CHOICES_TTL = 30.0
_CHOICES = "ruhui.console.union_choices"
DEADLINE_WARNING = dt.timedelta(days=3)  # "near" the 15-working-day reply deadline
_DATE_NAMES = {"since": "提交日期从", "until": "提交日期到"}


@dataclass
class QueueArgs:
    """The queue's query string, read the way the page's filter form writes it."""

    values: dict[str, str]
    filters: service.QueueFilters | None = None
    cursor: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def _date(raw: str, name: str, errors: dict[str, list[str]]) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = ["请按 年-月-日 填写日期，例如 2026-01-31"]
        return None


def _china_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=CHINA)


def read_queue_args(args: MultiDict[str, str]) -> QueueArgs:
    """Pending and oldest first unless the officer chose otherwise; an empty status means every status."""
    values = {name: args.get(name, "").strip()[:40] for name in ("occupation", "station_id", "union_id", "q")}
    values["status"] = args.get("status", "pending").strip()
    values.update({name: args.get(name, "").strip()[:10] for name in _DATE_NAMES})
    errors: dict[str, list[str]] = {}
    if values["status"] and values["status"] not in APPLICATION_STATUS_NAMES:
        errors["status"] = ["请选择列表中的状态"]
    if values["occupation"] and values["occupation"] not in OCCUPATIONS:
        errors["occupation"] = ["请选择列表中的职业"]
    for name in ("station_id", "union_id"):
        if values[name] and parse_id(values[name]) is None:
            errors[name] = ["编号应为数字"]
    since, until = _date(values["since"], "since", errors), _date(values["until"], "until", errors)
    if since and until and until < since:
        errors["until"] = ["结束日期不能早于开始日期"]
    if any(ord(c) < 32 for c in values["q"]):
        errors["q"] = ["搜索内容含有无法识别的字符"]
    if errors:
        return QueueArgs(values=values, errors=errors)
    filters = service.QueueFilters(
        status=values["status"] or None,
        occupation=values["occupation"] or None,
        station_id=values["station_id"] or None,
        union_id=values["union_id"] or None,
        since=_china_midnight(since) if since else None,
        until=_china_midnight(until + dt.timedelta(days=1)) if until else None,  # the end day included
        q=values["q"] or None,
        sort="oldest",
    )
    return QueueArgs(values=values, filters=filters, cursor=args.get("cursor") or None)


def deadline_badge(view: service.ReviewView, now: dt.datetime) -> tuple[str, str] | None:
    """(css class, words) for a pending application whose reply deadline is past or near."""
    application = view.application
    if application.status != "pending":
        return None
    if application.due_at < now:
        return "late", "已超期"
    if application.due_at - now < DEADLINE_WARNING:
        return "near", "即将到期"
    return None


def waiting(view: service.ReviewView, now: dt.datetime) -> str:
    hours = int((now - view.application.submitted_at).total_seconds() // 3600)
    return f"{hours // 24} 天 {hours % 24} 小时" if hours >= 24 else f"{hours} 小时"


def _decision_helpers(now: dt.datetime) -> dict[str, Any]:
    return {
        "badge": lambda view: deadline_badge(view, now),
        "waiting": lambda view: waiting(view, now),
        "local": lambda moment: moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else "",
        "local_iso": lambda text: (
            dt.datetime.fromisoformat(text).astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if text else ""
        ),
        "deciding": principal().role in service.DECIDING_ROLES,
        "unmasking": principal().role in service.UNMASKING_ROLES,
        "common_reasons": COMMON_REASONS,
    }


def _notices() -> service.NoticePolicy:
    settings = current_app.extensions["ruhui.settings"]
    return service.NoticePolicy(
        wechat_template_id=settings.wechat_decision_template_id if settings.wechat_configured else "",
        wechat_page=settings.wechat_decision_page,
    )


def _queue_union_choices() -> list[service.UnionChoice]:
    cache: dict[str, tuple[float, list[service.UnionChoice]]] = current_app.extensions.setdefault(_CHOICES, {})
    subtree, now = scope().subtree, time.monotonic()
    kept = cache.get(subtree)
    if kept is not None and now - kept[0] < UNION_CHOICES_TTL:
        return kept[1]
    choices = service.union_choices(db.session, scope(), limit=UNION_CHOICES)
    if len(cache) >= 1000:  # one entry per subtree that signed in: bounded all the same
        cache.clear()
    cache[subtree] = (now, choices)
    return choices


@bp.get("/review")
def queue() -> Any:
    """The officer's queue: pending, oldest first, with filters, flags and a bulk decision form."""
    now = utcnow()
    args = read_queue_args(request.args)
    page, flags = None, {}
    if args.filters is not None:
        page = service.review_queue(
            db.read_session,
            principal(),
            filters=args.filters,
            limit=PAGE_SIZE,
            cursor=args.cursor,
            now=now,
            flag_duplicates=True,  # in the page's own statement, not a second look-up
        )
        flags = {view.application.id: True for view in page.items if view.possible_duplicate}
    unions = _queue_union_choices()
    next_query = (
        {**{k: v for k, v in args.values.items() if v or k == "status"}, "cursor": page.next_cursor} if page else {}
    )
    html = render_template(
        "console/queue.html",
        active="review",
        args=args,
        page=page,
        flags=flags,
        unions=unions,
        tick_all=request.args.get("tick") == "pending",
        next_query=next_query,
        **_decision_helpers(now),
    )
    return html, 422 if args.errors else 200


def _case_page(application_id: str, *, unmask: bool, errors: dict[str, list[str]] | None = None, **form: Any) -> Any:
    now = utcnow()
    case = service.review_case(db.session, principal(), application_id, unmask=unmask, now=now)
    db.session.commit()  # the audit event of an unmasked view
    unions = service.union_choices(db.session, scope(), limit=UNION_CHOICES)
    html = render_template(
        "console/detail.html",
        active="review",
        case=case,
        view=case.view,
        application=case.view.application,
        unions=unions,
        errors=errors or {},
        form=form,
        **_decision_helpers(now),
    )
    return html, 422 if errors else 200


@bp.get("/review/<application_id>")
def detail(application_id: str) -> Any:
    """One application: its data (masked), why it reached this union, look-alikes, history, the decision form."""
    return _case_page(application_id, unmask=False)


@bp.post("/review/<application_id>/identity")
@require_role(*service.UNMASKING_ROLES)
def reveal_identity(application_id: str) -> Any:
    """Show the full name and ID number on this page (each view is an audit event)."""
    return _case_page(application_id, unmask=True)


def _version(raw: str | None) -> int:
    number = parse_id(raw or "")
    if number is None:
        raise ValidationFailed(errors={"version": ["页面缺少申请的版本号，请刷新后重试"]})
    return number


def _reason(form: MultiDict[str, str]) -> str:
    return form.get("reason", "").strip() or form.get("reason_choice", "").strip()


@bp.post("/review/<application_id>/decision")
@require_role(*service.DECIDING_ROLES)
def decide(application_id: str) -> Any:
    """Approve, return or refuse with the version the officer saw: a colleague's earlier decision is not overwritten."""
    action = request.form.get("action", "")
    reason = _reason(request.form)
    if action not in ("approve", "reject", "return"):
        return _case_page(application_id, unmask=False, errors={"action": ["请选择通过、退回补充或不予通过"]})
    try:
        application = service.decide_application(
            db.session,
            principal(),
            application_id,
            action=action,
            reason=reason,
            expected_version=_version(request.form.get("version")),
            notices=_notices(),
            now=utcnow(),
        )
        db.session.commit()
    except ValidationFailed as error:
        db.session.rollback()
        errors = error.errors or {"reason": [error.message]}
        return _case_page(application_id, unmask=False, errors=errors, reason=reason, action=action)
    except Conflict as error:
        db.session.rollback()
        if error.code not in ("stale_version", "invalid_state"):
            raise
        flash(_colleague_message(application_id), "error")
        return redirect(url_for("console.detail", application_id=application_id), 303)
    if application.status == "approved":
        flash(f"已通过。会员号：{application.member_no}", "success")
    else:
        flash(f"已{APPLICATION_STATUS_NAMES[application.status]}，原因已通知申请人。", "success")
    return redirect(url_for("console.detail", application_id=application_id), 303)


def _colleague_message(application_id: str) -> str:
    current = service.review_case(db.session, principal(), application_id, unmask=False, now=utcnow())
    status = APPLICATION_STATUS_NAMES.get(current.view.application.status, current.view.application.status)
    who = current.history[-1].officer_name if current.history else None
    by = f"（{who}）" if who else ""
    return f"这份申请已被其他工作人员{by}先处理，当前状态为「{status}」。您的决定没有保存，请看下方的最新情况。"


@bp.post("/review/<application_id>/transfer")
@require_role(*service.DECIDING_ROLES)
def transfer(application_id: str) -> Any:
    """Send a misrouted application to another union, with a reason."""
    union_id = request.form.get("union_id", "").strip()
    reason = request.form.get("transfer_reason", "").strip()
    errors: dict[str, list[str]] = {}
    if not union_id:
        errors["union_id"] = ["请选择或填写目标工会"]
    if not reason:
        errors["transfer_reason"] = ["转办须填写原因"]
    if errors:
        return _case_page(application_id, unmask=False, errors=errors, union_id=union_id, transfer_reason=reason)
    try:
        application = service.transfer_application(
            db.session,
            principal(),
            application_id,
            union_id=union_id,
            reason=reason,
            expected_version=_version(request.form.get("version")),
            notices=_notices(),
            now=utcnow(),
        )
        db.session.commit()
    except ValidationFailed as error:
        db.session.rollback()
        errors = {("transfer_reason" if k == "reason" else k): v for k, v in (error.errors or {}).items()}
        return _case_page(application_id, unmask=False, errors=errors, union_id=union_id, transfer_reason=reason)
    except Conflict as error:
        db.session.rollback()
        if error.code not in ("stale_version", "invalid_state"):
            raise
        flash(_colleague_message(application_id), "error")
        return redirect(url_for("console.detail", application_id=application_id), 303)
    flash("已转办。", "success")
    if principal().covers(application.union_path):
        return redirect(url_for("console.detail", application_id=application_id), 303)
    return redirect(url_for("console.queue"), 303)  # it left the officer's subtree


@bp.post("/review/bulk")
@require_role(*service.DECIDING_ROLES)
def bulk() -> Any:
    """Preview (the dry run, duplicates flagged) or confirm one decision for the ticked applications."""
    ids = [raw for raw in request.form.getlist("ids") if raw.strip()]
    action = request.form.get("action", "approve")
    reason = request.form.get("reason", "").strip()
    confirm = request.form.get("step") == "confirm"
    errors: dict[str, list[str]] = {}
    if not ids:
        errors["ids"] = ["请至少勾选一份申请"]
    if action not in ("approve", "reject", "return"):
        errors["action"] = ["请选择通过、退回补充或不予通过"]
    results: list[service.BulkOutcome] = []
    if not errors:
        try:
            results = service.bulk_decide(
                db.session,
                principal(),
                ids=ids,
                action=action,
                reason=reason,
                dry_run=not confirm,
                notices=_notices(),
                now=utcnow(),
            )
            db.session.commit()
        except ValidationFailed as error:
            db.session.rollback()
            errors = error.errors or {"ids": [error.message]}
    items = service.review_items(db.session, principal(), [r.id for r in results], now=utcnow()) if results else {}
    html = render_template(
        "console/bulk.html",
        items=items,
        active="review",
        ids=ids,
        action=action,
        reason=reason,
        confirmed=confirm and not errors,
        results=results,
        errors=errors,
    )
    return html, 422 if errors else 200
