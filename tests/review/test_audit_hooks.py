"""Sign-ins and directory changes leave audit events (ids and field names, no personal data)."""

from __future__ import annotations

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth import service as auth_service


def _events(session, prefix):
    session.expire_all()
    return session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)
    ).all()


def test_sign_ins_and_failed_tries_are_audited(client, session, province):
    officer = auth_service.create_officer(
        session, username="auditee", password="correct-horse-battery", name="干部", union_id=province.id, role="admin"
    )
    session.commit()
    wrong = client.post("/api/v1/officers/login", json={"username": "auditee", "password": "wrong-password-1"})
    unknown = client.post("/api/v1/officers/login", json={"username": "nobody", "password": "wrong-password-1"})
    right = client.post("/api/v1/officers/login", json={"username": "auditee", "password": "correct-horse-battery"})
    assert (wrong.status_code, unknown.status_code, right.status_code) == (401, 401, 200)
    events = _events(session, "officer.login")
    assert [(e.action, e.actor_id) for e in events] == [
        ("officer.login_failed", officer.id),
        ("officer.login_failed", None),
        ("officer.login", officer.id),
    ]
    text = str([e.details for e in events])
    assert "correct-horse-battery" not in text and "wrong-password-1" not in text and "nobody" not in text


def test_directory_changes_are_audited(client, session, province, make_officer):
    officer, admin = make_officer(province, "admin")
    union = client.post(
        "/api/v1/unions",
        json={"name": "南京市总工会", "kind": "federation", "parent_id": str(province.id), "region_code": "320100"},
        headers=admin,
    ).get_json()
    client.patch(f"/api/v1/unions/{union['id']}", json={"accepting": False}, headers=admin)
    station = client.post(
        "/api/v1/stations",
        json={"name": "测试驿站", "region_code": "320102", "address": "某路 1 号", "occupation": "courier"},
        headers=admin,
    )
    assert station.status_code == 201, station.get_json()
    rule = client.post(
        "/api/v1/routing/rules",
        json={"station_id": station.get_json()["id"], "union_id": union["id"], "priority": 1},
        headers=admin,
    )
    assert rule.status_code == 201, rule.get_json()
    assert client.delete(f"/api/v1/routing/rules/{rule.get_json()['id']}", headers=admin).status_code == 204
    events = [(e.action, e.actor_id) for e in _events(session, "") if not e.action.startswith("officer.")]
    assert events == [
        ("union.create", officer.id),
        ("union.update", officer.id),
        ("station.create", officer.id),
        ("routing_rule.create", officer.id),
        ("routing_rule.delete", officer.id),
    ]
    update = _events(session, "union.update")[0]
    assert update.details == {"fields": ["accepting"]}
