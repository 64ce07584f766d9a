"""The worker's membership page (status, history, leave, retain) and the console's membership pages, without JS."""

from __future__ import annotations

import sqlalchemy as sa

from app.enrollment.models import Membership
from tests.console.support import csrf_of, sign_in


def _as_worker(client, member):
    with client.session_transaction() as cookie:
        cookie["worker_person_id"] = member.person_id


def _membership(session, member):
    session.expire_all()
    return session.get(Membership, int(member.membership_id))


def test_the_worker_sees_status_history_and_can_ask_to_retain_then_leave(client, session, make_member):
    member = make_member()
    _as_worker(client, member)
    page = client.get("/my/membership")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "会籍状态" in html and "正常" in html and member.member_no in html and "会籍记录" in html
    assert "申请保留会籍" in html and "确认退会" in html

    missing = client.post("/my/membership/retain", data={"csrf_token": csrf_of(html), "retain_reason": ""})
    assert missing.status_code == 422 and "须填写原因" in missing.get_data(as_text=True)
    asked = client.post("/my/membership/retain", data={"csrf_token": csrf_of(html), "retain_reason": "暂时失业"})
    assert asked.status_code == 303
    after = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "保留会籍申请已提交" in after and "等待工会确认" in after
    assert _membership(session, member).retain_request_reason == "暂时失业"

    no_token = client.post("/my/membership/withdraw", data={"withdraw_reason": "个人原因"})
    assert no_token.status_code == 400 and _membership(session, member).status == "active"
    left = client.post("/my/membership/withdraw", data={"csrf_token": csrf_of(after), "withdraw_reason": "个人原因"})
    assert left.status_code == 303
    final = client.get(left.headers["Location"]).get_data(as_text=True)
    assert "您已退会" in final and "已退会" in final and "确认退会" not in final
    assert _membership(session, member).status == "withdrawn"
    card = client.get("/my/card").get_data(as_text=True)
    assert "会员证已失效" in card
    assert "会籍状态与记录" in client.get("/my").get_data(as_text=True)


def test_the_console_lists_members_and_changes_a_status_with_reason_and_version(
    client, session, nanjing, make_member, make_officer
):
    first, second = make_member(), make_member()
    officer, _ = make_officer(nanjing.city, "reviewer", password="correct-horse-battery")
    assert sign_in(client, officer.username, "correct-horse-battery").status_code == 302
    listing = client.get("/console/memberships")
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert first.member_no in html and second.member_no in html and "会员与会籍" in html
    only = client.get("/console/memberships", query_string={"q": first.member_no}).get_data(as_text=True)
    assert first.member_no in only and second.member_no not in only
    assert client.get("/console/memberships", query_string={"status": "gone"}).status_code == 422

    detail = client.get(f"/console/memberships/{first.membership_id}")
    page = detail.get_data(as_text=True)
    assert detail.status_code == 200 and "会籍记录" in page and "入会：正常" in page
    version = _membership(session, first).version
    token = csrf_of(page)

    refused = client.post(
        f"/console/memberships/{first.membership_id}/status",
        data={"csrf_token": token, "status": "retained", "reason": "", "version": version},
    )
    assert refused.status_code == 422 and "须填写原因" in refused.get_data(as_text=True)
    done = client.post(
        f"/console/memberships/{first.membership_id}/status",
        data={"csrf_token": token, "status": "removed", "reason": "违反章程", "version": version},
    )
    assert done.status_code == 303
    shown = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "会籍状态已更新为「已除名」" in shown and "正常 → 已除名" in shown and "违反章程" in shown
    assert _membership(session, first).status == "removed"

    stale = client.post(
        f"/console/memberships/{second.membership_id}/status",
        data={"csrf_token": token, "status": "removed", "reason": "违纪", "version": version + 5},
    )
    assert stale.status_code == 303
    assert "其他工作人员处理" in client.get(stale.headers["Location"]).get_data(as_text=True)
    assert _membership(session, second).status == "active"
    assert session.scalar(sa.select(sa.func.count()).select_from(Membership).where(Membership.status == "active")) == 1
