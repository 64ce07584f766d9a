"""The issue's "done when", end to end through the API, the worker and the audit log."""

from __future__ import annotations

import json
from collections import Counter

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth import service as auth_service
from app.enrollment.models import Membership

QUEUE = "/api/v1/review/applications"


def test_officer_signs_in_reviews_and_every_step_is_notified_and_audited(
    client, runner, session, nanjing, apply, make_officer, fake_aliyun
):
    couriers = [apply(phone=f"1360000{n:04d}") for n in range(12)]
    elsewhere = apply(code=nanjing.suzhou_code)
    auth_service.create_officer(
        session,
        username="nj-reviewer",
        password="long-enough-pass",
        name="审核员",
        union_id=nanjing.city.id,
        role="reviewer",
    )
    session.commit()
    login = client.post("/api/v1/officers/login", json={"username": "nj-reviewer", "password": "long-enough-pass"})
    assert login.status_code == 200
    officer = {"Authorization": f"Bearer {login.get_json()['access_token']}"}

    # Only the subtree's queue.
    queue = client.get(QUEUE, query_string={"status": "pending", "sort": "oldest"}, headers=officer).get_json()
    assert [i["id"] for i in queue["items"]] == [c["id"] for c in couriers]
    assert elsewhere["id"] not in {i["id"] for i in queue["items"]}

    # One approval with If-Match, from the detail view's ETag.
    first = couriers[0]["id"]
    detail = client.get(f"{QUEUE}/{first}", headers=officer)
    approved = client.post(
        f"{QUEUE}/{first}/decision", json={"action": "approve"}, headers={**officer, "If-Match": detail.headers["ETag"]}
    )
    assert approved.status_code == 200

    # Ten more in bulk, after a dry run.
    ten = [c["id"] for c in couriers[1:11]]
    dry = client.post(
        "/api/v1/review/bulk-decision", json={"ids": ten, "action": "approve", "dry_run": True}, headers=officer
    ).get_json()
    assert all(r["ok"] for r in dry["results"])
    assert session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 1
    done = client.post("/api/v1/review/bulk-decision", json={"ids": ten, "action": "approve"}, headers=officer)
    assert [r["ok"] for r in done.get_json()["results"]] == [True] * 10

    # The last one was misrouted.
    moved = client.post(
        f"{QUEUE}/{couriers[11]['id']}/transfer",
        json={"union_id": str(nanjing.suzhou.id), "reason": "在苏州站点工作"},
        headers=officer,
    )
    assert moved.status_code == 200

    # The applicants' SMS leave through the outbox.
    result = runner.invoke(args=["outbox", "run", "--once"])
    assert json.loads(result.stdout.strip().splitlines()[-1])["sent"] == 12
    templates = {code: name for name, code in fake_aliyun.notice_template_codes.items()}
    assert Counter(templates[s.template_code] for s in fake_aliyun.sent) == {
        "application_approved": 11,
        "application_transferred": 1,
    }
    assert {s.phone for s in fake_aliyun.sent} == {f"1360000{n:04d}" for n in range(12)}
    assert session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 11

    # Every step is in the audit log, which the province's admin reads.
    _, admin = make_officer(nanjing.province, "admin")
    audit = client.get("/api/v1/audit", query_string={"limit": 200}, headers=admin).get_json()["items"]
    actions = Counter(e["action"] for e in audit)
    assert actions["officer.login"] == 1
    assert actions["application.view_unmasked"] == 1
    assert actions["application.approve"] == 11
    assert actions["application.transfer"] == actions["application.transfer_in"] == 1
    everything = json.dumps(audit, ensure_ascii=False)
    assert "long-enough-pass" not in everything and "13600000000" not in everything
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == len(audit)
