"""Membership statuses: every allowed and forbidden change, by the member and by officers, and its traces."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.enrollment.models import Application, Membership, MembershipHistory
from app.notify.models import OutboxMessage
from tests.conftest import form, id_number

ME = "/api/v1/me/membership"
REVIEW = "/api/v1/review/memberships"


def _status(client, headers, membership_id, status, reason="核实情况", if_match=None, **body):
    extra = {"If-Match": if_match} if if_match is not None else {}
    return client.post(
        f"{REVIEW}/{membership_id}/status",
        json={"status": status, "reason": reason, **body},
        headers={**headers, **extra},
    )


def _row(session, membership_id):
    session.expire_all()
    membership = session.get(Membership, int(membership_id))
    assert membership is not None
    return membership


def _history(session, membership_id) -> list[tuple[str | None, str]]:
    session.expire_all()
    return [
        (e.from_status, e.to_status)
        for e in session.scalars(
            sa.select(MembershipHistory)
            .where(MembershipHistory.membership_id == int(membership_id))
            .order_by(MembershipHistory.id)
        )
    ]


def _sms(session, template="membership_status") -> list[dict[str, str]]:
    session.expire_all()
    return [m.params for m in session.scalars(sa.select(OutboxMessage).where(OutboxMessage.template == template))]


# ---------------------------------------------------------------- what the member sees


def test_a_new_member_sees_status_and_the_entry_that_started_it(client, make_member, nanjing, reviewer):
    member = make_member()
    body = client.get(ME, headers=member.headers).get_json()
    assert body["status"] == "active"
    assert body["union"]["name"] == "南京市快递行业工会联合会"
    assert body["card_token"]
    assert body["retain_request"] is None
    assert body["history"] == [
        {
            "at": body["since"],
            "from": None,
            "to": "active",
            "union": {"id": str(nanjing.express.id), "name": "南京市快递行业工会联合会", "kind": "industry"},
            "by": str(reviewer[0].id),
            "reason": None,
        }
    ]


def test_withdrawing_needs_a_reason_ends_the_card_and_keeps_the_number(client, session, make_member):
    member = make_member()
    token = client.get(ME, headers=member.headers).get_json()["card_token"]

    missing = client.post(f"{ME}/withdraw", json={"reason": "  "}, headers=member.headers)
    assert missing.status_code == 422 and "reason" in missing.get_json()["errors"]
    assert _row(session, member.membership_id).status == "active"

    left = client.post(f"{ME}/withdraw", json={"reason": "个人原因"}, headers=member.headers)
    assert left.status_code == 200, left.get_json()
    body = left.get_json()
    assert (body["status"], body["member_no"], body["card_token"]) == ("withdrawn", member.member_no, None)
    assert body["history"][-1]["from"] == "active" and body["history"][-1]["to"] == "withdrawn"
    assert (body["history"][-1]["by"], body["history"][-1]["reason"]) == ("worker", "个人原因")

    row = _row(session, member.membership_id)
    assert row.status == "withdrawn" and row.ended_at is not None
    assert session.get(Application, int(member.application_id)).membership_active is False
    assert _sms(session) == [{"union": "南京市快递行业工会联合会", "status": "已退会"}]
    assert client.get(f"/api/v1/cards/{token}").status_code == 404

    again = client.post(f"{ME}/withdraw", json={"reason": "再退一次"}, headers=member.headers)
    assert again.status_code == 409 and again.get_json()["code"] == "invalid_transition"
    mine = client.get(ME, headers=member.headers).get_json()
    assert mine["status"] == "withdrawn" and mine["card_token"] is None


def test_a_worker_who_never_joined_has_no_membership_to_leave(client, make_worker):
    _, headers = make_worker("13800000001")
    for path in (f"{ME}/withdraw", f"{ME}/retain"):
        response = client.post(path, json={"reason": "x"}, headers=headers)
        assert response.status_code == 404 and response.get_json()["code"] == "not_a_member"


def test_rejoining_after_withdrawing_gives_the_old_number_back(client, session, nanjing, make_member, reviewer):
    member = make_member()
    client.post(f"{ME}/withdraw", json={"reason": "离开本行业"}, headers=member.headers)

    body = form(nanjing, id_number=id_number(member.serial))
    again = client.post("/api/v1/applications", json=body, headers=member.headers)
    assert again.status_code == 201, again.get_json()
    decided = client.post(
        f"/api/v1/review/applications/{again.get_json()['id']}/decision",
        json={"action": "approve"},
        headers=reviewer[1],
    )
    assert decided.status_code == 200 and decided.get_json()["member_no"] == member.member_no

    mine = client.get(ME, headers=member.headers).get_json()
    assert (mine["status"], mine["member_no"]) == ("active", member.member_no)
    assert mine["id"] != member.membership_id
    session.expire_all()
    rows = session.scalars(sa.select(Membership.status).order_by(Membership.id)).all()
    assert rows == ["withdrawn", "active"]
    assert len(set(session.scalars(sa.select(Membership.member_no)))) == 1


# ---------------------------------------------------------------- retained membership


def test_a_request_to_retain_waits_for_an_officer_who_confirms_it(client, session, nanjing, make_member, reviewer):
    member = make_member()
    asked = client.post(f"{ME}/retain", json={"reason": "平台停止合作，暂未就业"}, headers=member.headers)
    assert asked.status_code == 202, asked.get_json()
    assert asked.get_json()["status"] == "active"
    assert asked.get_json()["retain_request"]["reason"] == "平台停止合作，暂未就业"

    waiting = client.get(REVIEW, query_string={"retain_requested": "true"}, headers=reviewer[1]).get_json()
    assert [item["id"] for item in waiting["items"]] == [member.membership_id]
    version = waiting["items"][0]["version"]

    confirmed = _status(client, reviewer[1], member.membership_id, "retained", "核实失业", if_match=str(version))
    assert confirmed.status_code == 200, confirmed.get_json()
    body = confirmed.get_json()
    # Held by the nearest federation above the industry union: the city's.
    assert (body["status"], body["union"]["id"], body["retain_request"]) == ("retained", str(nanjing.city.id), None)
    assert body["history"][-1] == {
        "at": body["status_changed_at"],
        "from": "active",
        "to": "retained",
        "union": {"id": str(nanjing.city.id), "name": "南京市总工会", "kind": "federation"},
        "by": str(reviewer[0].id),
        "reason": "核实失业",
    }
    assert confirmed.headers["ETag"] == f'"{body["version"]}"'
    assert _sms(session) == [{"union": "南京市总工会", "status": "保留会籍"}]
    assert session.get(Application, int(member.application_id)).membership_active is False
    mine = client.get(ME, headers=member.headers).get_json()
    assert mine["status"] == "retained" and mine["card_token"]


def test_an_officer_declines_a_request_to_retain_by_keeping_it_active(client, session, make_member, reviewer):
    member = make_member()
    client.post(f"{ME}/retain", json={"reason": "暂时没活"}, headers=member.headers)
    declined = _status(client, reviewer[1], member.membership_id, "active", "仍在平台接单")
    assert declined.status_code == 200, declined.get_json()
    assert (declined.get_json()["status"], declined.get_json()["retain_request"]) == ("active", None)
    assert _history(session, member.membership_id) == [(None, "active")]
    assert _sms(session, "membership_retain_declined") == [{"union": "南京市快递行业工会联合会"}]
    # Without a request waiting, active → active is no change at all.
    again = _status(client, reviewer[1], member.membership_id, "active", "再次")
    assert again.status_code == 409 and again.get_json()["code"] == "invalid_transition"


def test_retained_is_held_above_and_returns_to_the_granting_union(
    client, session, nanjing, make_member, reviewer, make_officer
):
    member = make_member()
    below = _status(client, reviewer[1], member.membership_id, "retained", union_id=str(nanjing.xuanwu.id))
    assert below.status_code == 422 and "union_id" in below.get_json()["errors"]
    chosen = _status(client, reviewer[1], member.membership_id, "retained", union_id=str(nanjing.province.id))
    assert chosen.status_code == 200 and chosen.get_json()["union"]["id"] == str(nanjing.province.id)

    # The province is outside the city reviewer's subtree now; the province's reviewer brings it back.
    assert client.get(f"{REVIEW}/{member.membership_id}", headers=reviewer[1]).status_code == 404
    _, province_reviewer = make_officer(nanjing.province, "reviewer")
    back = _status(client, province_reviewer, member.membership_id, "active", "重新就业")
    assert back.status_code == 200, back.get_json()
    assert back.get_json()["union"]["id"] == str(nanjing.express.id)
    assert session.get(Application, int(member.application_id)).membership_active is True
    assert _history(session, member.membership_id) == [(None, "active"), ("active", "retained"), ("retained", "active")]


def test_a_retained_member_who_applies_at_a_new_place_is_active_there_with_the_same_number(
    client, session, nanjing, make_member, reviewer
):
    member = make_member()
    _status(client, reviewer[1], member.membership_id, "retained", "失业")
    # A new job at a rider station: no transfer box to tick, the held membership moves on approval.
    body = form(nanjing, join_token=nanjing.rider_code.token, occupation="food_delivery_rider",
                id_number=id_number(member.serial))  # fmt: skip
    created = client.post("/api/v1/applications", json=body, headers=member.headers)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["is_transfer"] is True
    decided = client.post(
        f"/api/v1/review/applications/{created.get_json()['id']}/decision", json={"action": "approve"},
        headers=reviewer[1],
    )  # fmt: skip
    assert decided.status_code == 200, decided.get_json()
    mine = client.get(ME, headers=member.headers).get_json()
    assert (mine["status"], mine["member_no"], mine["union"]["id"]) == (
        "active",
        member.member_no,
        str(nanjing.xuanwu.id),
    )
    assert _history(session, member.membership_id) == [
        (None, "active"),
        ("active", "retained"),
        ("retained", "transferred_out"),
    ]


# ---------------------------------------------------------------- the table of transitions


def _reach(client, session, nanjing, member, reviewer, status):
    """Bring ``member``'s membership to ``status`` the way it happens for real; its id afterwards."""
    if status == "retained":
        assert _status(client, reviewer[1], member.membership_id, "retained", "失业").status_code == 200
    elif status == "removed":
        assert _status(client, reviewer[1], member.membership_id, "removed", "违反章程").status_code == 200
    elif status == "withdrawn":
        assert client.post(f"{ME}/withdraw", json={"reason": "个人"}, headers=member.headers).status_code == 200
    elif status == "transferred_out":
        body = form(nanjing, join_token=nanjing.rider_code.token, occupation="food_delivery_rider",
                    id_number=id_number(member.serial), transfer=True)  # fmt: skip
        created = client.post("/api/v1/applications", json=body, headers=member.headers).get_json()
        decided = client.post(
            f"/api/v1/review/applications/{created['id']}/decision", json={"action": "approve"}, headers=reviewer[1]
        )
        assert decided.status_code == 200
    assert _row(session, member.membership_id).status == status


OFFICER_ALLOWED = {("active", "retained"), ("active", "removed"), ("retained", "active"), ("retained", "removed")}
FROM = ("active", "retained", "withdrawn", "removed", "transferred_out")


@pytest.mark.parametrize("to", ["active", "retained", "removed"])
@pytest.mark.parametrize("start", FROM)
def test_officer_transitions(client, session, nanjing, make_member, reviewer, start, to):
    member = make_member()
    _reach(client, session, nanjing, member, reviewer, start)
    before = _history(session, member.membership_id)
    response = _status(client, reviewer[1], member.membership_id, to, "依规办理")
    if (start, to) in OFFICER_ALLOWED:
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == to
        assert _history(session, member.membership_id) == [*before, (start, to)]
        assert _sms(session)[-1]["status"] == {"active": "正常", "retained": "保留会籍", "removed": "已除名"}[to]
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "membership.status")).all()[-1]
        assert (event.details["from"], event.details["to"], event.actor_id) == (start, to, reviewer[0].id)
    else:
        assert response.status_code == 409, response.get_json()
        body = response.get_json()
        assert (body["code"], body["membership_status"], body["requested_status"]) == ("invalid_transition", start, to)
        assert _row(session, member.membership_id).status == start
        assert _history(session, member.membership_id) == before


MEMBER_ALLOWED = {("active", "withdraw"), ("retained", "withdraw"), ("active", "retain")}


@pytest.mark.parametrize("action", ["withdraw", "retain"])
@pytest.mark.parametrize("start", ["active", "retained", "withdrawn", "removed"])
def test_member_transitions(client, session, nanjing, make_member, reviewer, start, action):
    member = make_member()
    _reach(client, session, nanjing, member, reviewer, start)
    before = _history(session, member.membership_id)
    response = client.post(f"{ME}/{action}", json={"reason": "本人申请"}, headers=member.headers)
    if (start, action) in MEMBER_ALLOWED:
        assert response.status_code == (200 if action == "withdraw" else 202), response.get_json()
        expected = [*before, (start, "withdrawn")] if action == "withdraw" else before
        assert _history(session, member.membership_id) == expected
    else:
        assert response.status_code == 409 and response.get_json()["code"] == "invalid_transition"
        assert _history(session, member.membership_id) == before


def test_officers_need_a_reason_a_known_status_the_current_version_and_the_scope(
    client, session, nanjing, make_member, reviewer, make_officer
):
    member = make_member()
    assert _status(client, reviewer[1], member.membership_id, "removed", reason="").status_code == 422
    assert _status(client, reviewer[1], member.membership_id, "withdrawn").status_code == 422
    stale = _status(client, reviewer[1], member.membership_id, "removed", if_match='"9"')
    assert stale.status_code == 409 and stale.get_json()["code"] == "stale_version"
    assert stale.get_json()["current_version"] == _row(session, member.membership_id).version
    _, suzhou = make_officer(nanjing.suzhou, "admin")
    assert _status(client, suzhou, member.membership_id, "removed").status_code == 404
    assert client.get(f"{REVIEW}/{member.membership_id}", headers=suzhou).status_code == 404
    assert client.get(REVIEW, headers=suzhou).get_json()["items"] == []
    _, viewer = make_officer(nanjing.city, "viewer")
    assert _status(client, viewer, member.membership_id, "removed").status_code == 403
    assert client.get(f"{REVIEW}/{member.membership_id}", headers=viewer).status_code == 200
    assert client.post(f"{ME}/withdraw", json={"reason": "x"}, headers=reviewer[1]).status_code == 403
    assert _history(session, member.membership_id) == [(None, "active")]


def test_the_list_filters_by_status_union_and_q(client, session, nanjing, make_member, reviewer):
    first, second, third = make_member(), make_member(), make_member()
    _status(client, reviewer[1], second.membership_id, "retained", "失业")
    _status(client, reviewer[1], third.membership_id, "removed", "违纪")

    def ids(**query):
        page = client.get(REVIEW, query_string=query, headers=reviewer[1])
        assert page.status_code == 200, page.get_json()
        return [item["id"] for item in page.get_json()["items"]]

    assert ids() == [third.membership_id, second.membership_id, first.membership_id]
    assert ids(status="retained") == [second.membership_id]
    assert ids(union_id=str(nanjing.city.id)) == [second.membership_id]
    assert ids(union_id=str(nanjing.express.id)) == [third.membership_id, first.membership_id]
    assert ids(q=first.member_no) == [first.membership_id]
    assert ids(q=id_number(second.serial)) == [second.membership_id]
    assert ids(q=f"1381234{third.serial:04d}") == [third.membership_id]
    page = client.get(REVIEW, query_string={"limit": 2}, headers=reviewer[1]).get_json()
    rest = client.get(REVIEW, query_string={"limit": 2, "cursor": page["next_cursor"]}, headers=reviewer[1]).get_json()
    assert [i["id"] for i in page["items"] + rest["items"]] == ids()
    assert rest["next_cursor"] is None
    item = page["items"][0]
    assert item["name_masked"] == "张*" and "********" in item["id_number_masked"]
    assert client.get(REVIEW, query_string={"status": "gone"}, headers=reviewer[1]).status_code == 422


def test_membership_notices_reach_the_member_through_the_outbox(client, runner, session, make_member, fake_aliyun):
    member = make_member()
    client.post(f"{ME}/withdraw", json={"reason": "个人原因"}, headers=member.headers)
    result = runner.invoke(args=["outbox", "run", "--once"])
    assert json.loads(result.stdout.strip().splitlines()[-1])["sent"] == 2  # the approval, then the withdrawal
    last = fake_aliyun.sent[-1]
    assert last.template_code == fake_aliyun.notice_template_codes["membership_status"]
    assert last.params == {"union": "南京市快递行业工会联合会", "status": "已退会"}
    assert last.phone == f"1381234{member.serial:04d}"
