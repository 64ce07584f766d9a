"""The worker's side: own applications, withdraw, resubmit, membership, cards; and where the ID number is not."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db import utcnow
from app.enrollment import members
from app.enrollment import service as enrollment_service
from app.enrollment.models import Application, Membership
from tests.conftest import VALID_ID, form


def _submit(client, nanjing, headers, **changes):
    response = client.post("/api/v1/applications", json=form(nanjing, **changes), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _approve(app, session, application_id):
    with app.app_context():
        application = session.get(Application, int(application_id))
        application.status = "approved"
        membership = enrollment_service.grant_membership(session, application, utcnow())
        session.commit()
        return membership


def test_workers_see_only_their_own_applications(client, nanjing, make_worker):
    mine = make_worker("13900000021")[1]
    theirs = make_worker("13900000022")[1]
    created = _submit(client, nanjing, mine)
    listed = client.get("/api/v1/me/applications", headers=mine).get_json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert listed["next_cursor"] is None
    assert client.get("/api/v1/me/applications", headers=theirs).get_json()["items"] == []
    assert client.get(f"/api/v1/applications/{created['id']}", headers=mine).status_code == 200
    other = client.get(f"/api/v1/applications/{created['id']}", headers=theirs)
    assert other.status_code == 404
    assert other.get_json()["code"] == "application_not_found"


@pytest.mark.parametrize("bad_id", ["0", "abc", "9" * 30, "-1", "1.5"])
def test_unknown_application_ids_are_404(client, worker, bad_id):
    response = client.get(f"/api/v1/applications/{bad_id}", headers=worker[1])
    assert response.status_code == 404


def test_officers_see_applications_in_their_subtree_only(client, nanjing, worker, make_officer):
    created = _submit(client, nanjing, worker[1])
    _, city_officer = make_officer(nanjing.city, "reviewer")
    _, suzhou_officer = make_officer(nanjing.suzhou, "reviewer")
    assert client.get(f"/api/v1/applications/{created['id']}", headers=city_officer).status_code == 200
    assert client.get(f"/api/v1/applications/{created['id']}", headers=suzhou_officer).status_code == 404


def test_withdraw_then_not_again(client, session, nanjing, worker):
    created = _submit(client, nanjing, worker[1])
    first = client.post(f"/api/v1/applications/{created['id']}/withdraw", headers=worker[1])
    assert first.status_code == 200
    assert first.get_json()["status"] == "withdrawn"
    assert first.get_json()["version"] == 2
    again = client.post(f"/api/v1/applications/{created['id']}/withdraw", headers=worker[1])
    assert again.status_code == 409
    assert again.get_json()["code"] == "invalid_state"
    # Withdrawn is closed: the worker may apply afresh.
    assert _submit(client, nanjing, worker[1])["status"] == "pending"


def test_resubmit_only_a_returned_application(client, session, nanjing, worker):
    created = _submit(client, nanjing, worker[1])
    early = client.put(f"/api/v1/applications/{created['id']}", json=form(nanjing), headers=worker[1])
    assert early.status_code == 409
    assert early.get_json()["code"] == "invalid_state"

    application = session.get(Application, int(created["id"]))
    application.status = "returned"
    application.decision_reason = "请补充工作证明"
    session.commit()
    shown = client.get(f"/api/v1/applications/{created['id']}", headers=worker[1]).get_json()
    assert shown["status"] == "returned" and shown["decision_reason"] == "请补充工作证明"

    fixed = client.put(
        f"/api/v1/applications/{created['id']}", json=form(nanjing, employment_form="contract"), headers=worker[1]
    )
    assert fixed.status_code == 200
    body = fixed.get_json()
    assert body["status"] == "pending" and body["employment_form"] == "contract"
    assert len(body["route"]["hops"]) == 2

    session.expire_all()
    swapped = session.get(Application, int(created["id"]))
    swapped.status = "returned"
    session.commit()
    other_person = client.put(
        f"/api/v1/applications/{created['id']}", json=form(nanjing, id_number="11010519800101001X"), headers=worker[1]
    )
    assert other_person.status_code == 422


def test_membership_card_round_trip(app, client, session, nanjing, worker):
    missing = client.get("/api/v1/me/membership", headers=worker[1])
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "not_a_member"

    created = _submit(client, nanjing, worker[1])
    membership = _approve(app, session, created["id"])
    mine = client.get("/api/v1/me/membership", headers=worker[1]).get_json()
    assert mine["member_no"] == membership.member_no
    assert mine["union"]["name"] == "南京市快递行业工会联合会"

    card = client.get(f"/api/v1/cards/{mine['card_token']}")
    assert card.status_code == 200
    assert card.get_json() == {
        "member_no": membership.member_no,
        "name_masked": "张*",
        "union": {"id": str(nanjing.express.id), "name": "南京市快递行业工会联合会", "kind": "industry"},
        "status": "active",
    }


def test_a_card_stops_working_when_stale_forged_or_ended(app, client, session, nanjing, worker):
    created = _submit(client, nanjing, worker[1])
    membership = _approve(app, session, created["id"])
    secret_key = app.extensions["ruhui.settings"].secret_key
    stale = members.issue_card_token(
        membership.id, utcnow() - members.CARD_TTL - dt.timedelta(seconds=1), secret_key=secret_key
    )
    fresh = members.issue_card_token(membership.id, secret_key=secret_key)
    assert client.get(f"/api/v1/cards/{stale}").status_code == 404
    forged = fresh[:-3] + ("AAA" if not fresh.endswith("AAA") else "BBB")
    assert client.get(f"/api/v1/cards/{forged}").status_code == 404
    assert client.get("/api/v1/cards/not-a-token").status_code == 404
    assert client.get(f"/api/v1/cards/{fresh}").status_code == 200
    session.expire_all()
    row = session.get(Membership, membership.id)
    row.status = "withdrawn"
    session.commit()
    ended = client.get(f"/api/v1/cards/{fresh}")
    assert ended.status_code == 404
    assert ended.get_json()["code"] == "card_not_found"


def test_the_id_number_is_nowhere_in_clear(client, session, nanjing, worker, capsys, database_url):
    capsys.readouterr()
    _submit(client, nanjing, worker[1])
    client.post("/api/v1/applications", json=form(nanjing, full_name="张3"), headers=worker[1])
    logs = capsys.readouterr().err
    assert VALID_ID not in logs and "张三" not in logs

    # Every stored value, read back as text, holds neither the ID number nor the name.
    from app.db import Base

    for table in Base.metadata.sorted_tables:
        for row in session.execute(sa.select(table)).all():
            text = json.dumps([str(value) for value in row], ensure_ascii=False)
            assert VALID_ID not in text, table.name
            assert VALID_ID.lower() not in text, table.name
            assert "张三" not in text, table.name
    if database_url.startswith("sqlite:///"):
        session.close()
        raw = Path(database_url.removeprefix("sqlite:///")).read_bytes()
        wal = Path(database_url.removeprefix("sqlite:///") + "-wal")
        raw += wal.read_bytes() if wal.exists() else b""
        assert VALID_ID.encode() not in raw
        assert "张三".encode() not in raw
