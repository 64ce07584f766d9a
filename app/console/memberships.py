"""The membership pages: the members of the subtree (filters, cursor pages), one membership's history and status."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from app.clock import CHINA
from app.console import bp
from app.console.session import principal, require_role, scope
from app.db import db, parse_id, utcnow
from app.directory import service as directory
from app.enrollment import memberships
from app.enrollment.models import MEMBERSHIP_STATUSES
from app.errors import Conflict, ValidationFailed

PAGE_SIZE = 50
BY_NAMES = {"worker": "会员本人", "system": "系统"}
# What an officer may choose on the status form, and what each means.
CHOICES = {
    "retained": "保留会籍（失业、退休等，由上级工会管理）",
    "active": "恢复正常会籍（退回原工会）",
    "removed": "除名",
}


def _helpers() -> dict[str, Any]:
    return {
        "labels": memberships.STATUS_LABELS,
        "local": lambda moment: moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else "",
        "changing": principal().role in memberships.CHANGING_ROLES,
        "by_name": lambda item: BY_NAMES.get(item.by, f"工作人员（编号 {item.by}）"),
    }


@bp.get("/memberships")
def memberships_list() -> Any:
    """The memberships held by unions of the officer's subtree, newest first, with filters."""
    values = {name: request.args.get(name, "").strip()[:40] for name in ("status", "union_id", "q", "waiting")}
    errors: dict[str, list[str]] = {}
    if values["status"] and values["status"] not in MEMBERSHIP_STATUSES:
        errors["status"] = ["请选择列表中的状态"]
    if values["union_id"] and not parse_id(values["union_id"]):
        errors["union_id"] = ["请选择列表中的工会"]
    if any(ord(c) < 32 for c in values["q"]):
        errors["q"] = ["搜索内容含有无法识别的字符"]
    page = None
    if not errors:
        page = memberships.list_memberships(
            db.session,
            principal(),
            filters=memberships.MembershipFilters(
                status=values["status"] or None,
                union_id=values["union_id"] or None,
                q=values["q"] or None,
                retain_requested=True if values["waiting"] == "1" else None,
            ),
            limit=PAGE_SIZE,
            cursor=request.args.get("cursor") or None,
        )
    unions = directory.list_unions(db.session, scope(), limit=200).items
    next_query = {**{k: v for k, v in values.items() if v}, "cursor": page.next_cursor} if page else {}
    html = render_template(
        "console/memberships.html",
        active="memberships",
        values=values,
        errors=errors,
        page=page,
        unions=unions,
        next_query=next_query,
        **_helpers(),
    )
    return html, 422 if errors else 200


def _membership_page(membership_id: str, *, errors: dict[str, list[str]] | None = None, **form: Any) -> Any:
    membership = memberships.membership_in_scope(db.session, principal(), membership_id)
    html = render_template(
        "console/membership.html",
        active="memberships",
        detail=memberships.detail(db.session, membership),
        holders=memberships.ancestors(db.session, memberships.detail(db.session, membership).union),
        choices={
            k: v for k, v in CHOICES.items() if k in memberships.TRANSITIONS["officer"].get(membership.status, ())
        },
        errors=errors or {},
        form=form,
        **_helpers(),
    )
    return html, 422 if errors else 200


@bp.get("/memberships/<membership_id>")
def membership_detail(membership_id: str) -> Any:
    """One membership: the member (masked), its union, its history and the status form."""
    return _membership_page(membership_id)


@bp.post("/memberships/<membership_id>/status")
@require_role(*memberships.CHANGING_ROLES)
def membership_status(membership_id: str) -> Any:
    """Change the status with a reason and the version the officer saw; a colleague's change is not overwritten."""
    status = request.form.get("status", "").strip()
    reason = request.form.get("reason", "").strip()
    union_id = request.form.get("union_id", "").strip() or None
    version = parse_id(request.form.get("version", ""))
    form = {"status": status, "reason": reason, "union_id": union_id or ""}
    if not version:
        return _membership_page(membership_id, errors={"status": ["页面缺少版本号，请刷新后重试"]}, **form)
    try:
        membership = memberships.change_status(
            db.session,
            principal(),
            membership_id,
            status=status,
            reason=reason,
            union_id=union_id if status == "retained" else None,
            expected_version=version,
            now=utcnow(),
        )
        db.session.commit()
    except ValidationFailed as error:
        db.session.rollback()
        return _membership_page(membership_id, errors=error.errors or {"reason": [error.message]}, **form)
    except Conflict as error:
        db.session.rollback()
        if error.code == "invalid_transition":
            return _membership_page(membership_id, errors={"status": [error.message]}, **form)
        if error.code != "stale_version":
            raise
        flash("这条会籍刚被其他工作人员处理，您的修改没有保存，请看下方的最新情况。", "error")
        return redirect(url_for("console.membership_detail", membership_id=membership_id), 303)
    flash(f"会籍状态已更新为「{memberships.STATUS_LABELS[membership.status]}」，已短信通知会员。", "success")
    if principal().covers(memberships.detail(db.session, membership).union.path):
        return redirect(url_for("console.membership_detail", membership_id=membership_id), 303)
    return redirect(url_for("console.memberships_list"), 303)  # held above the officer's subtree now
