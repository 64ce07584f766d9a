"""GET /join/{token}: the mini-program's first screen in one round trip, and the scan it counts."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from app.directory.models import EMPLOYMENT_FORMS, OCCUPATIONS
from app.joincodes import service
from app.joincodes.models import JoinCode
from tests.joincodes.conftest import join_code_url, scan_rows


def test_resolve_returns_everything_the_first_screen_needs(client, directory, live_code):
    response = client.get(f"/api/v1/join/{live_code.token}")
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert set(body) == {
        "join_code",
        "station",
        "employer",
        "union_preview",
        "occupations",
        "employment_forms",
        "consent",
    }
    assert body["join_code"] == {
        "id": str(live_code.id),
        "token": live_code.token,
        "url": join_code_url(live_code.token),
        "expires_at": None,
    }
    assert body["station"] == {
        "id": str(directory.depot.id),
        "name": "示例速运玄武点部",
        "region_code": "320102",
        "region_name": "江苏省南京市玄武区",
        "address": "玄武区珠江路1号",
        "occupation": "courier",
        "occupation_label": "快递员",
    }
    assert body["employer"] == {"id": str(directory.employer.id), "name": "示例速运南京分公司"}
    # No enterprise, industry or regional union here, and 玄武区 has no federation of its own: the city's.
    assert body["union_preview"] == {
        "id": str(directory.nanjing.id),
        "name": "南京市总工会",
        "kind": "federation",
        "rule": "fallback",
    }
    assert body["occupations"] == [{"code": c, "label": label} for c, label in OCCUPATIONS.items()]
    assert body["employment_forms"] == [{"code": c, "label": label} for c, label in EMPLOYMENT_FORMS.items()]
    assert {"code": "platform", "label": "平台/新就业形态"} in body["employment_forms"]
    consent = body["consent"]
    assert (consent["version"], consent["title"]) == ("2026-01", "入会须知与个人信息处理说明")
    # What is collected, why, who receives it, how long it is kept and how to withdraw.
    for words in ("收集哪些信息", "为什么收集", "受理工会", "保存多久", "如何撤回"):
        assert words in consent["text"]


def test_station_without_employer_has_null_employer(client, session, directory):
    code = service.create_join_code(session, directory.rider_point, created_by_id=None)
    session.commit()
    body = client.get(f"/api/v1/join/{code.token}").json
    assert body["employer"] is None
    assert body["station"]["occupation_label"] == "网约送餐员"


def test_each_resolve_is_a_scan_with_devices_counted_by_hash(client, session, admin_headers, live_code):
    for device in ["phone-A", "phone-A", "phone-B", None, "   ", "x" * 500]:
        headers = {"X-Device-Id": device} if device is not None else {}
        assert client.get(f"/api/v1/join/{live_code.token}", headers=headers).status_code == 200

    rows = scan_rows(session, live_code.id)
    assert [channel for channel, _, _ in rows] == ["miniprogram"] * 5  # phone-A's second scan is a repeat
    hashes = [device_hash for _, device_hash, _ in rows]
    assert hashes[0] != hashes[1]
    assert hashes[2:] == [None, None, None]  # absent, blank or absurd ids count no device
    assert "phone-A" not in hashes[0] and len(hashes[0]) == 32

    scans = client.get(f"/api/v1/join-codes/{live_code.id}", headers=admin_headers).json["scans"]
    assert scans["total"] == 5 and scans["unique_devices"] == 2
    assert scans["by_channel"] == {"miniprogram": 5, "web": 0}
    first, last = dt.datetime.fromisoformat(scans["first_at"]), dt.datetime.fromisoformat(scans["last_at"])
    assert first == rows[0][2] and last == rows[-1][2] and first <= last
    assert first.utcoffset() == dt.timedelta(0)


def test_revoked_code_answers_410_and_counts_nothing(client, session, live_code):
    service.revoke_join_code(session, live_code, revoked_by_id=None)
    session.commit()
    response = client.get(f"/api/v1/join/{live_code.token}")
    assert response.status_code == 410
    assert response.json["code"] == "join_code_revoked"
    assert response.json["message"] and response.json["request_id"]
    assert scan_rows(session, live_code.id) == []


def test_expired_code_answers_410(client, session, directory):
    # Arranged directly: the API refuses to issue a code that is already expired.
    code = JoinCode(
        station_id=directory.depot.id,
        token=service.new_token(),
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
    )
    session.add(code)
    session.commit()
    response = client.get(f"/api/v1/join/{code.token}")
    assert response.status_code == 410
    assert response.json["code"] == "join_code_expired"
    assert scan_rows(session, code.id) == []


def test_code_expiring_later_still_resolves(client, session, directory):
    code = service.create_join_code(
        session, directory.depot, created_by_id=None, expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    )
    session.commit()
    response = client.get(f"/api/v1/join/{code.token}")
    assert response.status_code == 200
    assert dt.datetime.fromisoformat(response.json["join_code"]["expires_at"]) == code.expires_at


@pytest.mark.parametrize(
    "token", ["AAAAAAAAAAAAAAAAAAAAAA", "short", "x" * 33, "has.dot", "中文", "%00", "a b", "' OR 1=1 --"]
)
def test_unknown_or_malformed_token_is_404(client, live_code, token):
    response = client.get(f"/api/v1/join/{token}")
    assert response.status_code == 404
    assert response.json["code"] == "join_code_not_found"


def test_resolve_needs_no_sign_in_and_takes_only_get(client, live_code):
    response = client.post(f"/api/v1/join/{live_code.token}")
    assert response.status_code == 405 and response.json["code"] == "method_not_allowed"


def test_head_is_not_counted(client, session, live_code):
    assert client.head(f"/api/v1/join/{live_code.token}").status_code == 200
    assert scan_rows(session, live_code.id) == []


def test_concurrent_scans_of_one_code_are_all_counted(app, session, live_code):
    """A depot scanning at once: every request succeeds and no scan is lost."""
    workers, per_worker = 8, 5
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(workers)

    def scan(n: int) -> None:
        client = app.test_client()
        start.wait()
        for i in range(per_worker):
            response = client.get(f"/api/v1/join/{live_code.token}", headers={"X-Device-Id": f"device-{n}-{i}"})
            with lock:
                statuses.append(response.status_code)

    threads = [threading.Thread(target=scan, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * (workers * per_worker)
    stats = service.scan_stats(session, [live_code.id])[live_code.id]
    assert stats.scans == workers * per_worker
    assert stats.unique_devices == workers * per_worker


def test_preview_follows_the_routing_engine_for_the_stations_occupation(client, session, directory):
    from app.directory import service as directory_service

    riders = directory_service.add_union(
        session,
        name="南京市网约送餐行业工会",
        kind="industry",
        region_code="320100",
        parent=directory.nanjing,
        occupations=["food_delivery_rider"],
    )
    rider_code = service.create_join_code(session, directory.rider_point, created_by_id=None)
    courier_code = service.create_join_code(session, directory.depot, created_by_id=None)
    session.commit()
    rider = client.get(f"/api/v1/join/{rider_code.token}").json["union_preview"]
    assert rider == {"id": str(riders.id), "name": riders.name, "kind": "industry", "rule": "industry"}
    # The courier depot in the same district is not covered by the riders' union.
    assert client.get(f"/api/v1/join/{courier_code.token}").json["union_preview"]["id"] == str(directory.nanjing.id)


def test_a_place_where_no_union_accepts_still_resolves_without_a_preview(client, session, directory, live_code):
    directory.nanjing.accepting = False
    directory.province.accepting = False
    session.commit()
    response = client.get(f"/api/v1/join/{live_code.token}")
    assert response.status_code == 200
    assert response.json["union_preview"] is None
    page = client.get(f"/j/{live_code.token}")
    assert page.status_code == 200 and "当地工会" in page.get_data(as_text=True)
