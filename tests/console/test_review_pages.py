"""The review pages with the test client: queue, detail, identity reveal, decisions, colleague races, bulk."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.enrollment.models import Application, Membership
from tests.conftest import id_number
from tests.console.support import csrf_of, post_form


def make_overdue(session, application_id: str) -> None:
    """Move an application's reply deadline into the past."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    session.execute(sa.update(Application).where(Application.id == int(application_id)).values(due_at=past))
    session.commit()


def _ids_in(html: str) -> list[str]:
    return re.findall(r'href="/console/review/(\d+)"', html)


def test_the_queue_shows_pending_oldest_first_masked_with_flags(client, session, nanjing, apply, signed_in):
    first, second = apply(), apply()
    decided = apply()
    session.execute(sa.update(Application).where(Application.id == int(decided["id"])).values(status="rejected"))
    session.commit()
    make_overdue(session, first["id"])
    elsewhere = apply(code=nanjing.suzhou_code)
    signed_in(nanjing.city)
    html = client.get("/console/review").get_data(as_text=True)
    assert _ids_in(html) == [first["id"], second["id"]]
    assert elsewhere["id"] not in _ids_in(html)
    assert "张*" in html and "张三" not in html
    assert "已超期" in html
    assert "示例速运玄武点部" in html
    everything = client.get("/console/review?status=").get_data(as_text=True)
    assert decided["id"] in _ids_in(everything)


def _row(html: str, application_id: str) -> str:
    [row] = [r for r in html.split("<tr>") if f'href="/console/review/{application_id}"' in r]
    return row


def test_the_queue_flags_possible_duplicates_row_by_row(client, session, nanjing, apply, signed_in):
    looked_alike, alone, earlier = apply(), apply(), apply()
    # An earlier, refused application under the same ID number as the first one.
    first = session.get(Application, int(looked_alike["id"]))
    session.execute(
        sa.update(Application)
        .where(Application.id == int(earlier["id"]))
        .values(status="rejected", identity_id=first.identity_id)
    )
    session.commit()
    signed_in(nanjing.city)
    html = client.get("/console/review").get_data(as_text=True)
    assert "疑似重复" in _row(html, looked_alike["id"])
    assert "疑似重复" not in _row(html, alone["id"])
    everything = client.get("/console/review?status=").get_data(as_text=True)
    assert "疑似重复" in _row(everything, earlier["id"])  # each of the two is flagged


def test_the_queue_flags_an_applicant_whose_membership_is_retained(client, session, nanjing, apply, signed_in):
    applicant, granting = apply(), apply()
    first = session.get(Application, int(applicant["id"]))
    # The applicant is a member already, kept as retained (保留会籍) after losing work; no other
    # application shares the ID number or the phone, so the membership alone raises the flag.
    session.execute(
        sa.update(Application)
        .where(Application.id == int(granting["id"]))
        .values(status="approved", member_no="M00000001")
    )
    session.add(
        Membership(
            identity_id=first.identity_id,
            union_id=first.union_id,
            application_id=int(granting["id"]),
            member_no="M00000001",
            status="retained",
            since=first.submitted_at,
        )
    )
    session.commit()
    signed_in(nanjing.city)
    html = client.get("/console/review").get_data(as_text=True)
    assert "疑似重复" in _row(html, applicant["id"])


def test_the_queue_filters_by_occupation_union_and_search(client, nanjing, apply, signed_in):
    courier = apply()
    rider = apply(code=nanjing.rider_code, occupation="food_delivery_rider")
    signed_in(nanjing.city)
    riders = client.get("/console/review?occupation=food_delivery_rider").get_data(as_text=True)
    assert _ids_in(riders) == [rider["id"]]
    by_union = client.get(f"/console/review?union_id={nanjing.xuanwu.id}").get_data(as_text=True)
    assert _ids_in(by_union) == [rider["id"]]
    by_id_number = client.get("/console/review", query_string={"q": id_number(1)}).get_data(as_text=True)
    assert _ids_in(by_id_number) == [courier["id"]]
    by_surname = client.get("/console/review", query_string={"q": "李"}).get_data(as_text=True)
    assert _ids_in(by_surname) == []


def test_a_bad_filter_is_explained_next_to_its_field(client, nanjing, signed_in):
    signed_in(nanjing.city)
    response = client.get("/console/review?since=31-01-2026")
    assert response.status_code == 422
    assert "请按 年-月-日 填写日期" in response.get_data(as_text=True)


def test_the_queue_pages_by_cursor(client, nanjing, apply, signed_in):
    made = [apply()["id"] for _ in range(52)]
    signed_in(nanjing.city)
    first = client.get("/console/review").get_data(as_text=True)
    assert _ids_in(first) == made[:50]
    next_link = re.search(r'href="(/console/review\?[^"]*cursor=[^"]+)">下一页', first)
    assert next_link
    second = client.get(next_link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert _ids_in(second) == made[50:]


def test_the_detail_is_masked_until_the_officer_asks_and_each_reveal_is_audited(
    client, session, nanjing, apply, signed_in
):
    application = apply()
    signed_in(nanjing.city)
    page = client.get(f"/console/review/{application['id']}").get_data(as_text=True)
    assert "张三" not in page and "为什么分到这个工会" in page
    assert (
        session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "application.view_unmasked")
        )
        == 0
    )
    url = f"/console/review/{application['id']}"
    revealed = post_form(client, url, f"{url}/identity").get_data(as_text=True)
    assert "张三" in revealed and id_number(1) in revealed
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "application.view_unmasked")).all()
    assert [e.object_id for e in events] == [application["id"]]


def test_approving_with_the_version_shows_approved_and_the_member_number(client, session, nanjing, apply, signed_in):
    application = apply()
    signed_in(nanjing.city)
    url = f"/console/review/{application['id']}"
    response = post_form(client, url, f"{url}/decision", {"action": "approve", "version": "1"})
    assert response.status_code == 303
    page = client.get(url).get_data(as_text=True)
    member_no = session.scalar(sa.select(Membership.member_no))
    assert member_no and member_no in page
    assert "已通过" in page


def test_returning_needs_a_reason_shown_at_the_field(client, session, nanjing, apply, signed_in):
    application = apply()
    signed_in(nanjing.city)
    url = f"/console/review/{application['id']}"
    missing = post_form(client, url, f"{url}/decision", {"action": "return", "version": "1"})
    assert missing.status_code == 422
    assert 'id="reason-error"' in missing.get_data(as_text=True)
    chosen = post_form(
        client,
        url,
        f"{url}/decision",
        {"action": "return", "version": "1", "reason_choice": "工作单位信息不完整，请补充"},
    )
    assert chosen.status_code == 303
    stored = session.get(Application, int(application["id"]))
    assert (stored.status, stored.decision_reason) == ("returned", "工作单位信息不完整，请补充")


def test_a_colleagues_earlier_decision_is_a_clear_message_not_an_overwrite(
    client, session, nanjing, apply, signed_in, make_officer
):
    application = apply()
    signed_in(nanjing.city)
    url = f"/console/review/{application['id']}"
    page = client.get(url).get_data(as_text=True)  # the officer sees version 1
    _, colleague = make_officer(nanjing.city, "reviewer")
    rejected = client.post(
        f"/api/v1/review/applications/{application['id']}/decision",
        json={"action": "reject", "reason": "不属于本工会受理范围"},
        headers={**colleague, "If-Match": "1"},
    )
    assert rejected.status_code == 200
    token = csrf_of(page)
    late = client.post(f"{url}/decision", data={"action": "approve", "version": "1", "csrf_token": token})
    assert late.status_code == 303
    shown = client.get(url).get_data(as_text=True)
    assert "已被其他工作人员（测试干部）先处理，当前状态为「不予通过」" in shown
    assert re.search(r"<td>不予通过</td><td>测试干部</td>", shown)  # the history names who decided
    assert session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 0


def test_a_viewer_sees_no_decision_buttons_and_cannot_post_one(client, nanjing, apply, signed_in):
    application = apply()
    signed_in(nanjing.city, "viewer")
    url = f"/console/review/{application['id']}"
    page = client.get(url).get_data(as_text=True)
    for button in ('value="approve"', "退回补充</button>", "不予通过</button>", "显示完整姓名"):
        assert button not in page
    assert "预览" not in client.get("/console/review").get_data(as_text=True)
    refused = post_form(client, url, f"{url}/decision", {"action": "approve", "version": "1"})
    assert refused.status_code == 403


def test_another_districts_admin_gets_not_found(client, nanjing, apply, signed_in):
    application = apply()  # routed into Nanjing
    signed_in(nanjing.suzhou, "admin")
    response = client.get(f"/console/review/{application['id']}")
    assert response.status_code == 404
    assert "不在您的管辖范围内" in response.get_data(as_text=True)


def test_bulk_preview_changes_nothing_and_confirm_reports_each_row(client, session, nanjing, apply, signed_in):
    ids = [apply()["id"] for _ in range(3)]
    session.execute(sa.update(Application).where(Application.id == int(ids[2])).values(status="withdrawn"))
    session.commit()
    signed_in(nanjing.city)
    preview = post_form(
        client, "/console/review", "/console/review/bulk", {"ids": ids, "action": "approve", "step": "preview"}
    )
    html = preview.get_data(as_text=True)
    assert "尚未保存任何决定" in html and "不在待审核状态" in html
    assert html.count("示例速运玄武点部") == 3  # each row says whose application it is
    assert session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 0
    done = post_form(
        client, "/console/review", "/console/review/bulk", {"ids": ids, "action": "approve", "step": "confirm"}
    )
    html = done.get_data(as_text=True)
    assert "已处理 2 份" in html
    assert re.findall(r'name="ids" value="(\d+)"[^>]*checked', html) == [ids[2]]  # the failed row stays ticked
    assert session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 2


def test_transfer_needs_a_reason_and_moves_the_application(client, session, nanjing, apply, signed_in):
    application = apply()
    signed_in(nanjing.city)
    url = f"/console/review/{application['id']}"
    missing = post_form(client, url, f"{url}/transfer", {"union_id": str(nanjing.xuanwu.id), "version": "1"})
    assert missing.status_code == 422
    moved = post_form(
        client,
        url,
        f"{url}/transfer",
        {"union_id": str(nanjing.xuanwu.id), "transfer_reason": "在玄武区工作", "version": "1"},
    )
    assert moved.status_code == 303
    assert session.get(Application, int(application["id"])).union_id == nanjing.xuanwu.id
