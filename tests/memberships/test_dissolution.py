"""Closing a union: open applications routed again with a hop, active members retained above, all at once."""

from __future__ import annotations

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.directory.models import Union
from app.enrollment.models import Application, Membership, MembershipHistory
from app.notify.models import OutboxMessage
from tests.conftest import form, id_number


def _dissolve(client, headers, union, **body):
    return client.post(f"/api/v1/unions/{union.id}/dissolve", json={"reason": "企业注销", **body}, headers=headers)


def _pending(client, make_worker, nanjing, serial):
    _, headers = make_worker(f"1391234{serial:04d}")
    created = client.post("/api/v1/applications", json=form(nanjing, id_number=id_number(serial)), headers=headers)
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def _snapshot(session):
    session.expire_all()
    return (
        sorted(session.execute(sa.select(Membership.id, Membership.status, Membership.union_id)).all()),
        sorted(session.execute(sa.select(Application.id, Application.union_id, Application.version)).all()),
        session.scalar(sa.select(sa.func.count()).select_from(MembershipHistory)),
        session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)),
    )


def test_a_dissolution_reroutes_pending_applications_and_retains_members(
    client, session, nanjing, make_member, make_worker, make_officer
):
    members = [make_member(), make_member()]
    withdrawn = make_member()
    client.post("/api/v1/me/membership/withdraw", json={"reason": "个人"}, headers=withdrawn.headers)
    pending = [_pending(client, make_worker, nanjing, n) for n in (201, 202)]
    admin, headers = make_officer(nanjing.city, "admin")
    before = _snapshot(session)

    dry = _dissolve(client, headers, nanjing.express, dry_run=True)
    assert dry.status_code == 200, dry.get_json()
    assert dry.get_json() == {
        "dry_run": True,
        "union": {"id": str(nanjing.express.id), "name": "南京市快递行业工会联合会", "kind": "industry"},
        "members_to": {"id": str(nanjing.city.id), "name": "南京市总工会", "kind": "federation"},
        "applications": 2,
        "members": 2,
        "retained_moved": 0,
    }
    assert _snapshot(session) == before
    assert session.get(Union, nanjing.express.id).accepting is True

    done = _dissolve(client, headers, nanjing.express)
    assert done.status_code == 200, done.get_json()
    assert {k: done.get_json()[k] for k in ("dry_run", "applications", "members")} == {
        "dry_run": False,
        "applications": 2,
        "members": 2,
    }
    session.expire_all()
    assert session.get(Union, nanjing.express.id).accepting is False
    for application_id in pending:
        application = session.get(Application, int(application_id))
        # The engine passes the closed industry union over: the district federation's fallback takes it.
        assert (application.union_id, application.status) == (nanjing.xuanwu.id, "pending")
        hop = application.route_trace[-1]
        assert (hop["by"], hop["union"]["id"], hop["from_union_id"]) == (
            "dissolution",
            str(nanjing.xuanwu.id),
            str(nanjing.express.id),
        )
        assert hop["reasons"][0] == "原受理工会南京市快递行业工会联合会已撤销：企业注销"
        officer_view = client.get(f"/api/v1/review/applications/{application_id}", headers=headers).get_json()
        assert officer_view["route"]["hops"][-1]["by"] == "dissolution"
    for member in members:
        row = session.get(Membership, int(member.membership_id))
        assert (row.status, row.union_id) == ("retained", nanjing.city.id)
        last = session.scalars(
            sa.select(MembershipHistory)
            .where(MembershipHistory.membership_id == row.id)
            .order_by(MembershipHistory.id.desc())
        ).first()
        assert (last.from_status, last.to_status, last.union_id, last.by_officer_id, last.reason) == (
            "active",
            "retained",
            nanjing.city.id,
            admin.id,
            "工会撤销：企业注销",
        )
        mine = client.get("/api/v1/me/membership", headers=member.headers).get_json()
        assert mine["status"] == "retained" and mine["card_token"]
    assert session.get(Membership, int(withdrawn.membership_id)).status == "withdrawn"
    templates = session.scalars(sa.select(OutboxMessage.template).order_by(OutboxMessage.id)).all()
    assert templates[-4:].count("membership_status") == 2 and templates[-4:].count("application_transferred") == 2
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "union.dissolve")).one()
    assert (event.actor_id, event.object_id, event.details["members"], event.details["applications"]) == (
        admin.id,
        str(nanjing.express.id),
        2,
        2,
    )

    # A closed union takes nobody new: the next courier goes to the district federation.
    assert client.get(f"/api/v1/review/applications/{_pending(client, make_worker, nanjing, 203)}", headers=headers
                      ).get_json()["union"]["id"] == str(nanjing.xuanwu.id)  # fmt: skip
    # Dissolving again changes nothing more.
    assert _dissolve(client, headers, nanjing.express, dry_run=True).get_json()["members"] == 0


def test_members_go_to_members_to_and_retained_ones_move_with_them(
    client, session, nanjing, make_member, make_officer, reviewer
):
    active, retained = make_member(), make_member()
    # Retained with the default holder, the city federation; then the city itself closes.
    client.post(
        f"/api/v1/review/memberships/{retained.membership_id}/status",
        json={"status": "retained", "reason": "失业"},
        headers=reviewer[1],
    )
    _, province_admin = make_officer(nanjing.province, "admin")
    done = _dissolve(client, province_admin, nanjing.city, members_to=str(nanjing.province.id))
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["members"], done.get_json()["retained_moved"]) == (0, 1)
    session.expire_all()
    moved = session.get(Membership, int(retained.membership_id))
    assert (moved.status, moved.union_id) == ("retained", nanjing.province.id)
    assert session.get(Membership, int(active.membership_id)).status == "active"  # of the express union: untouched


def test_only_admins_above_the_union_may_dissolve_it(client, session, nanjing, make_officer):
    _, own_admin = make_officer(nanjing.express, "admin")
    _, reviewer = make_officer(nanjing.city, "reviewer")
    _, suzhou_admin = make_officer(nanjing.suzhou, "admin")
    _, city_admin = make_officer(nanjing.city, "admin")
    assert _dissolve(client, own_admin, nanjing.express).status_code == 403
    assert _dissolve(client, reviewer, nanjing.express).status_code == 403
    assert _dissolve(client, suzhou_admin, nanjing.express).status_code == 404
    assert _dissolve(client, city_admin, nanjing.express, reason=" ").status_code == 422
    inside = _dissolve(client, city_admin, nanjing.city, members_to=str(nanjing.express.id))
    assert inside.status_code == 403  # the city admin's own union
    below = _dissolve(client, city_admin, nanjing.xuanwu, members_to=str(nanjing.xuanwu.id))
    assert below.status_code == 422 and "members_to" in below.get_json()["errors"]
    assert _dissolve(client, city_admin, nanjing.xuanwu, members_to="nope").status_code == 404
    outside = _dissolve(client, city_admin, nanjing.xuanwu, members_to=str(nanjing.suzhou.id))
    assert outside.status_code == 404 and outside.get_json()["code"] == "union_not_found"
    session.expire_all()
    assert session.get(Union, nanjing.express.id).accepting is True
    assert session.get(Union, nanjing.xuanwu.id).accepting is True
