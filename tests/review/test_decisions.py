"""Decisions, bulk decisions and transfers: what the officer and the applicant see, and what the database holds."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.enrollment.models import Application, Membership
from app.notify.models import OutboxMessage

QUEUE = "/api/v1/review/applications"


def _count(session, model, *where):
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _decide(client, headers, application_id, action="approve", if_match=None, **body):
    extra = {"If-Match": if_match} if if_match is not None else {}
    return client.post(
        f"{QUEUE}/{application_id}/decision", json={"action": action, **body}, headers={**headers, **extra}
    )


@pytest.mark.parametrize("if_match", ["1", '"1"', 'W/"1"', None])
def test_approve_makes_a_member_and_owes_an_sms(client, session, nanjing, apply, make_officer, if_match):
    created = apply()
    officer, reviewer = make_officer(nanjing.city, "reviewer")
    response = _decide(client, reviewer, created["id"], if_match=if_match)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "approved"
    assert body["member_no"].startswith("320100")
    assert body["version"] > 1
    assert response.headers["ETag"] == f'"{body["version"]}"'

    membership = session.scalars(sa.select(Membership)).one()
    assert (membership.member_no, membership.union_id) == (body["member_no"], nanjing.express.id)
    application = session.get(Application, int(created["id"]))
    assert application.decided_by == officer.id
    message = session.scalars(sa.select(OutboxMessage)).one()
    assert (message.channel, message.template, message.status) == ("sms", "application_approved", "pending")
    assert message.params == {"union": "南京市快递行业工会联合会", "member_no": body["member_no"]}
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "application.approve")).one()
    assert (event.actor_id, event.object_id) == (officer.id, created["id"])


def test_stale_version_and_invalid_state_are_409(client, session, nanjing, apply, make_officer):
    created = apply()
    _, reviewer = make_officer(nanjing.city, "reviewer")
    stale = _decide(client, reviewer, created["id"], if_match='"7"')
    assert stale.status_code == 409
    assert stale.get_json()["code"] == "stale_version"
    assert stale.get_json()["current_version"] == 1
    assert _count(session, Membership) == 0

    approved = _decide(client, reviewer, created["id"], if_match="1")
    assert approved.status_code == 200
    version = approved.get_json()["version"]
    again = _decide(client, reviewer, created["id"], action="reject", reason="重复", if_match=str(version))
    assert again.status_code == 409
    assert again.get_json()["code"] == "invalid_state"
    # The officer who saw version 1 is told the application moved on.
    late = _decide(client, reviewer, created["id"], if_match="1")
    assert late.get_json()["code"] == "stale_version"
    assert _count(session, OutboxMessage) == 1


@pytest.mark.parametrize("action", ["reject", "return"])
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_reject_and_return_need_a_reason(client, session, nanjing, apply, make_officer, action, reason):
    created = apply()
    _, reviewer = make_officer(nanjing.city, "reviewer")
    response = _decide(client, reviewer, created["id"], action=action, reason=reason)
    assert response.status_code == 422
    assert "reason" in response.get_json()["errors"]
    assert _count(session, Application, Application.status == "pending") == 1


@pytest.mark.parametrize(
    ("body", "if_match"),
    [
        ({"action": "delete"}, None),
        ({}, None),
        ({"action": 1}, None),
        ({"action": "approve", "reason": "x" * 501}, None),
        ({"action": "approve"}, "abc"),
        ({"action": "approve"}, "9" * 40),
    ],
)
def test_malformed_decisions_are_422(client, nanjing, apply, make_officer, body, if_match):
    created = apply()
    _, reviewer = make_officer(nanjing.city, "reviewer")
    headers = {**reviewer, **({"If-Match": if_match} if if_match else {})}
    response = client.post(f"{QUEUE}/{created['id']}/decision", json=body, headers=headers)
    assert response.status_code == 422


def test_returned_application_can_be_corrected_and_resubmitted(client, session, nanjing, apply, make_officer):
    from tests.conftest import form, id_number

    created = apply(phone="13700000001")
    _, reviewer = make_officer(nanjing.city, "reviewer")
    returned = _decide(client, reviewer, created["id"], action="return", reason="请补充工作证明")
    assert returned.get_json()["status"] == "returned"
    assert returned.get_json()["decision_reason"] == "请补充工作证明"
    from app.auth.tokens import issue_access_token

    with client.application.test_request_context():
        token, _ = issue_access_token("worker", session.get(Application, int(created["id"])).person_id)
    again = client.put(
        f"/api/v1/applications/{created['id']}",
        json=form(nanjing, id_number=id_number(1)),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.status_code == 200
    assert again.get_json()["status"] == "pending"
    templates = session.scalars(sa.select(OutboxMessage.template)).all()
    assert templates == ["application_returned"]


def test_viewers_cannot_decide(client, nanjing, apply, make_officer):
    created = apply()
    _, viewer = make_officer(nanjing.city, "viewer")
    assert _decide(client, viewer, created["id"]).status_code == 403


@pytest.mark.postgres
def test_racing_approvals_give_one_membership(app, session, nanjing, apply, make_officer):
    applications = [apply()["id"] for _ in range(3)]
    officers = [make_officer(nanjing.city, "reviewer")[1] for _ in range(4)]
    results: list[tuple[str, int, str | None]] = []
    lock = threading.Lock()

    for application_id in applications:
        barrier = threading.Barrier(len(officers))

        def approve(headers, application_id=application_id, barrier=barrier):
            client = app.test_client()
            barrier.wait()
            response = client.post(
                f"{QUEUE}/{application_id}/decision", json={"action": "approve"}, headers={**headers, "If-Match": "1"}
            )
            with lock:
                results.append((application_id, response.status_code, response.get_json().get("code")))

        threads = [threading.Thread(target=approve, args=(h,)) for h in officers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    for application_id in applications:
        outcomes = sorted((status, code) for a, status, code in results if a == application_id)
        assert outcomes == [(200, None)] + [(409, "stale_version")] * (len(officers) - 1)
    assert _count(session, Membership) == 3
    assert _count(session, OutboxMessage) == 3
    assert _count(session, AuditEvent, AuditEvent.action == "application.approve") == 3
    numbers = session.scalars(sa.select(Membership.member_no)).all()
    assert len(set(numbers)) == 3


# ---------------------------------------------------------------- bulk


def test_bulk_dry_run_changes_nothing_and_flags_duplicates(client, session, nanjing, apply, make_officer):
    ids = [apply()["id"] for _ in range(3)]
    # The same phone applies again under another person's ID number: worth a look before approving.
    shared_phone = apply(phone="13700009999")
    _, reviewer = make_officer(nanjing.city, "reviewer")
    first = session.get(Application, int(shared_phone["id"]))
    session.execute(sa.update(Application).where(Application.id == int(ids[0])).values(person_id=first.person_id))
    session.commit()

    all_ids = [*ids, shared_phone["id"]]
    body = {"ids": all_ids, "action": "approve", "dry_run": True}
    response = client.post("/api/v1/review/bulk-decision", json=body, headers=reviewer)
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert response.get_json()["dry_run"] is True
    assert [(r["id"], r["ok"], r["status"]) for r in results] == [(i, True, "approved") for i in all_ids]
    assert results[0]["duplicates"] == [{"match": "phone", "status": "pending", "application_id": shared_phone["id"]}]
    assert results[1]["duplicates"] == []
    assert _count(session, Membership) == 0
    assert _count(session, OutboxMessage) == 0
    assert _count(session, AuditEvent, AuditEvent.action == "application.approve") == 0
    assert _count(session, Application, Application.status == "pending") == 4


def test_bulk_decides_each_on_its_own(client, session, nanjing, apply, make_officer):
    ids = [apply()["id"] for _ in range(10)]
    suzhou = apply(code=nanjing.suzhou_code)["id"]
    _, reviewer = make_officer(nanjing.city, "reviewer")
    assert _decide(client, reviewer, ids[0], action="reject", reason="信息不实").status_code == 200

    body = {"ids": [*ids, suzhou, "nope", ids[1]], "action": "approve"}
    response = client.post("/api/v1/review/bulk-decision", json=body, headers=reviewer)
    assert response.status_code == 200
    results = {r["id"]: r for r in response.get_json()["results"]}
    assert len(response.get_json()["results"]) == 12  # a repeated id is decided once
    assert results[ids[0]] == {"id": ids[0], "ok": False, "code": "invalid_state", "duplicates": []}
    assert results[suzhou]["code"] == results["nope"]["code"] == "application_not_found"
    assert all(results[i]["ok"] and results[i]["status"] == "approved" for i in ids[1:])
    assert _count(session, Membership) == 9
    assert _count(session, OutboxMessage, OutboxMessage.template == "application_approved") == 9
    assert _count(session, AuditEvent, AuditEvent.action == "application.approve") == 9


@pytest.mark.parametrize(
    "body",
    [
        {"ids": [], "action": "approve"},
        {"ids": [str(n) for n in range(201)], "action": "approve"},
        {"ids": ["1"], "action": "reject"},
        {"ids": "1", "action": "approve"},
        {"ids": [1], "action": "approve"},
        {"ids": ["1"], "action": "approve", "dry_run": "perhaps"},
    ],
)
def test_bad_bulk_requests_are_422(client, nanjing, make_officer, body):
    _, reviewer = make_officer(nanjing.city, "reviewer")
    assert client.post("/api/v1/review/bulk-decision", json=body, headers=reviewer).status_code == 422


# ---------------------------------------------------------------- transfers


def test_transfer_moves_the_application_between_queues(client, session, nanjing, apply, make_officer):
    created = apply()
    _, city = make_officer(nanjing.city, "reviewer")
    _, suzhou = make_officer(nanjing.suzhou, "reviewer")
    response = client.post(
        f"{QUEUE}/{created['id']}/transfer",
        json={"union_id": str(nanjing.suzhou.id), "reason": "申请人实际在苏州工作"},
        headers={**city, "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["union"]["id"] == str(nanjing.suzhou.id)
    assert body["route"]["rule"] == "transfer"
    hops = body["route"]["hops"]
    assert [(h["by"], h["union"]["id"]) for h in hops] == [
        ("routing", str(nanjing.express.id)),
        ("transfer", str(nanjing.suzhou.id)),
    ]
    assert hops[1]["reasons"] == ["申请人实际在苏州工作"]

    assert client.get(f"{QUEUE}/{created['id']}", headers=city).status_code == 404
    assert [i["id"] for i in client.get(QUEUE, headers=suzhou).get_json()["items"]] == [created["id"]]
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == created["id"])).all()
    assert sorted(actions) == ["application.transfer", "application.transfer_in"]
    assert session.scalars(sa.select(OutboxMessage.template)).all() == ["application_transferred"]
    # Suzhou can now decide it.
    assert _decide(client, suzhou, created["id"], if_match="2").status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"union_id": "999999", "reason": "x"}, 404),
        ({"union_id": "abc", "reason": "x"}, 404),
        ({"union_id": "SAME", "reason": "x"}, 422),
        ({"union_id": "SUZHOU"}, 422),
        ({"union_id": "SUZHOU", "reason": "  "}, 422),
        ({"reason": "x"}, 422),
    ],
)
def test_bad_transfers(client, session, nanjing, apply, make_officer, body, status):
    created = apply()
    _, city = make_officer(nanjing.city, "reviewer")
    names = {"SAME": str(nanjing.express.id), "SUZHOU": str(nanjing.suzhou.id)}
    if "union_id" in body:
        body = {**body, "union_id": names.get(body["union_id"], body["union_id"])}
    response = client.post(f"{QUEUE}/{created['id']}/transfer", json=body, headers=city)
    assert response.status_code == status
    assert _count(session, Application, Application.union_id == nanjing.express.id) == 1


def test_decided_applications_cannot_be_transferred(client, nanjing, apply, make_officer):
    created = apply()
    _, city = make_officer(nanjing.city, "reviewer")
    _decide(client, city, created["id"])
    response = client.post(
        f"{QUEUE}/{created['id']}/transfer", json={"union_id": str(nanjing.suzhou.id), "reason": "x"}, headers=city
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "invalid_state"
