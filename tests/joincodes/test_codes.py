"""Officers issue, list, revoke and rotate join codes within their scope."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from app.joincodes.models import JoinCode
from tests.joincodes.conftest import join_code_url

TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,32}$")


def _issue(client, headers, station_id, **body):
    return client.post(f"/api/v1/stations/{station_id}/join-codes", json=body, headers=headers)


def test_issue_returns_token_url_and_records_who_and_when(client, session, directory, admin):
    officer, headers = admin
    before = dt.datetime.now(dt.UTC)
    response = _issue(client, headers, directory.depot.id)
    assert response.status_code == 201, response.json
    body = response.json
    assert TOKEN.match(body["token"])
    assert body["url"] == join_code_url(body["token"])
    assert body["expires_at"] is None and body["status"] == "active"
    assert body["station_id"] == str(directory.depot.id) and isinstance(body["id"], str)
    assert body["created_by_id"] == str(officer.id)
    assert dt.datetime.fromisoformat(body["created_at"]) >= before - dt.timedelta(seconds=1)
    assert body["scans"] == {
        "total": 0,
        "unique_devices": 0,
        "first_at": None,
        "last_at": None,
        "by_channel": {"miniprogram": 0, "web": 0},
    }
    stored = session.get(JoinCode, int(body["id"]))
    assert stored.token == body["token"] and stored.created_by_id == officer.id


def test_tokens_are_distinct_and_fit_a_wxacode_scene(client, directory, admin_headers):
    tokens = {_issue(client, admin_headers, directory.depot.id).json["token"] for _ in range(30)}
    assert len(tokens) == 30
    # 22 base64url characters carry 132 bits; at most 32 characters fit WeChat's scene.
    assert all(TOKEN.match(token) for token in tokens)


def test_issue_with_expiry_keeps_the_instant(client, directory, admin_headers):
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)
    in_beijing = expires.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()
    response = _issue(client, admin_headers, directory.depot.id, expires_at=in_beijing)
    assert response.status_code == 201
    assert dt.datetime.fromisoformat(response.json["expires_at"]) == expires


@pytest.mark.parametrize(
    "expires_at",
    [
        "2020-01-01T00:00:00+08:00",  # in the past
        "2031-01-01T00:00:00",  # no offset
        "tomorrow",
        12345,
        ["2031-01-01T00:00:00+08:00"],
        "2999-01-01T00:00:00+00:00",  # beyond ten years
        "9999-12-31T23:59:59-14:00",  # would overflow when turned into UTC
    ],
)
def test_issue_refuses_bad_expiry(client, session, directory, admin_headers, expires_at):
    response = _issue(client, admin_headers, directory.depot.id, expires_at=expires_at)
    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert "expires_at" in response.json["errors"]
    assert session.scalar(sa.select(sa.func.count()).select_from(JoinCode)) == 0


def test_issue_refuses_unknown_fields(client, directory, admin_headers):
    response = _issue(client, admin_headers, directory.depot.id, token="chosen-by-me")
    assert response.status_code == 422
    assert "token" in response.json["errors"]


@pytest.mark.parametrize("station_id", ["999999", "abc", "-1", "0", "1.5", "99999999999999999999999", "%E4%B8%AD"])
def test_unknown_station_is_404(client, directory, admin_headers, station_id):
    response = _issue(client, admin_headers, station_id)
    assert response.status_code == 404
    assert response.json["code"] == "station_not_found"


def test_station_outside_scope_is_404_and_untouched(client, session, directory, admin_headers):
    response = _issue(client, admin_headers, directory.suzhou_depot.id)
    assert response.status_code == 404 and response.json["code"] == "station_not_found"
    listing = client.get(f"/api/v1/stations/{directory.suzhou_depot.id}/join-codes", headers=admin_headers)
    assert listing.status_code == 404
    assert session.scalar(sa.select(sa.func.count()).select_from(JoinCode)) == 0


def test_province_admin_manages_stations_below(client, directory, make_officer):
    _, headers = make_officer(directory.province, "admin")
    assert _issue(client, headers, directory.suzhou_depot.id).status_code == 201
    assert _issue(client, headers, directory.depot.id).status_code == 201


@pytest.mark.parametrize(("role", "status"), [("reviewer", 403), ("viewer", 403)])
def test_only_admins_manage_codes(client, directory, make_officer, live_code, role, status):
    _, headers = make_officer(directory.nanjing, role)
    assert _issue(client, headers, directory.depot.id).status_code == status
    assert client.post(f"/api/v1/join-codes/{live_code.id}/revoke", headers=headers).status_code == status
    assert client.get(f"/api/v1/join-codes/{live_code.id}/qr.png", headers=headers).status_code == status


def test_signed_out_is_401(client, directory, live_code):
    response = _issue(client, {}, directory.depot.id)
    assert response.status_code == 401 and response.json["code"] == "unauthorized"
    assert client.get(f"/api/v1/join-codes/{live_code.id}").status_code == 401


def test_revoke_kills_the_code_and_is_idempotent(client, session, directory, admin, live_code):
    officer, headers = admin
    first = client.post(f"/api/v1/join-codes/{live_code.id}/revoke", headers=headers)
    assert first.status_code == 200
    assert first.json["status"] == "revoked" and first.json["revoked_by_id"] == str(officer.id)
    again = client.post(f"/api/v1/join-codes/{live_code.id}/revoke", headers=headers)
    assert again.status_code == 200 and again.json["revoked_at"] == first.json["revoked_at"]
    resolved = client.get(f"/api/v1/join/{live_code.token}")
    assert resolved.status_code == 410 and resolved.json["code"] == "join_code_revoked"


def test_rotate_issues_a_new_code_and_revokes_the_old_in_one_step(client, session, directory, admin_headers, live_code):
    response = client.post(f"/api/v1/join-codes/{live_code.id}/rotate", json={}, headers=admin_headers)
    assert response.status_code == 201, response.json
    new = response.json
    assert new["token"] != live_code.token and new["station_id"] == str(directory.depot.id)
    assert new["status"] == "active"
    session.expire_all()
    old = session.get(JoinCode, live_code.id)
    assert old.revoked_at is not None and old.replaced_by_id == int(new["id"])
    assert client.get(f"/api/v1/join/{live_code.token}").json["code"] == "join_code_revoked"
    assert client.get(f"/api/v1/join/{new['token']}").status_code == 200

    twice = client.post(f"/api/v1/join-codes/{live_code.id}/rotate", json={}, headers=admin_headers)
    assert twice.status_code == 409 and twice.json["code"] == "join_code_revoked"
    assert session.scalar(sa.select(sa.func.count()).select_from(JoinCode)) == 2


def test_rotate_with_bad_expiry_changes_nothing(client, session, admin_headers, live_code):
    response = client.post(
        f"/api/v1/join-codes/{live_code.id}/rotate", json={"expires_at": "2001-01-01T00:00:00Z"}, headers=admin_headers
    )
    assert response.status_code == 422
    session.expire_all()
    assert session.get(JoinCode, live_code.id).revoked_at is None


@pytest.mark.parametrize("code_id", ["0", "x", "123456789", "18446744073709551616"])
@pytest.mark.parametrize("suffix", ["", "/revoke", "/rotate", "/qr.png", "/qr.svg", "/poster"])
def test_unknown_code_is_404(client, directory, admin_headers, code_id, suffix):
    method = client.post if suffix in ("/revoke", "/rotate") else client.get
    response = method(f"/api/v1/join-codes/{code_id}{suffix}", headers=admin_headers, json={} if suffix else None)
    assert response.status_code == 404
    assert response.json["code"] == "join_code_not_found"


def test_code_outside_scope_is_404(client, session, directory, admin_headers):
    from app.joincodes import service

    foreign = service.create_join_code(session, directory.suzhou_depot, created_by_id=None)
    session.commit()
    for suffix in ("", "/qr.png", "/poster"):
        assert client.get(f"/api/v1/join-codes/{foreign.id}{suffix}", headers=admin_headers).status_code == 404
    assert client.post(f"/api/v1/join-codes/{foreign.id}/revoke", headers=admin_headers).status_code == 404
    session.expire_all()
    assert session.get(JoinCode, foreign.id).revoked_at is None


def test_list_pages_newest_first_with_scan_totals_in_constant_queries(client, directory, admin_headers, count_queries):
    ids = [_issue(client, admin_headers, directory.depot.id).json["id"] for _ in range(5)]
    tokens = [client.get(f"/api/v1/join-codes/{i}", headers=admin_headers).json["token"] for i in ids]
    for n, token in enumerate(tokens):
        for _ in range(n):
            client.get(f"/api/v1/join/{token}")

    url = f"/api/v1/stations/{directory.depot.id}/join-codes"
    with count_queries() as queries:
        first = client.get(url, query_string={"limit": 3}, headers=admin_headers)
    assert first.status_code == 200
    assert [item["id"] for item in first.json["items"]] == ids[::-1][:3]
    assert [item["scans"]["total"] for item in first.json["items"]] == [4, 3, 2]
    second = client.get(url, query_string={"limit": 3, "cursor": first.json["next_cursor"]}, headers=admin_headers)
    assert [item["id"] for item in second.json["items"]] == ids[::-1][3:]
    assert second.json["next_cursor"] is None

    with count_queries() as more_queries:
        client.get(url, query_string={"limit": 5}, headers=admin_headers)
    assert len(more_queries) == len(queries)  # no query per listed code


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 201}, {"limit": "x"}, {"cursor": "garbage!"}])
def test_list_refuses_bad_paging(client, directory, admin_headers, query):
    response = client.get(
        f"/api/v1/stations/{directory.depot.id}/join-codes", query_string=query, headers=admin_headers
    )
    assert response.status_code == 422


def test_issue_revoke_and_rotate_are_audited_in_the_stations_union(client, directory, admin, make_officer):
    officer, headers = admin
    code_id = _issue(client, headers, directory.depot.id).json["id"]
    new_id = client.post(f"/api/v1/join-codes/{code_id}/rotate", json={}, headers=headers).json["id"]
    client.post(f"/api/v1/join-codes/{new_id}/revoke", headers=headers)
    client.post(f"/api/v1/join-codes/{new_id}/revoke", headers=headers)  # a no-op: not audited again

    events = client.get("/api/v1/audit", headers=headers).json["items"]
    trail = sorted((e["action"], e["object_id"]) for e in events if e["action"].startswith("join_code."))
    assert {e["actor"]["id"] for e in events} == {str(officer.id)}
    assert trail == sorted([("join_code.issue", code_id), ("join_code.rotate", code_id), ("join_code.revoke", new_id)])
    _, suzhou_headers = make_officer(directory.suzhou, "admin")
    assert client.get("/api/v1/audit", headers=suzhou_headers).json["items"] == []


def test_ensure_live_codes_fills_only_the_gaps(session, directory, live_code):
    from app.joincodes import service

    service.revoke_join_code(
        session, service.create_join_code(session, directory.rider_point, created_by_id=None), revoked_by_id=None
    )
    issued = service.ensure_live_codes(session)
    session.commit()
    assert sorted(code.station_id for code in issued) == sorted(
        [directory.second_depot.id, directory.rider_point.id, directory.suzhou_depot.id]
    )
    assert service.ensure_live_codes(session) == []
