"""Blind spots on the demo directory, and the join funnel of codes, stations and unions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import utcnow
from app.demo import DEMO_STATIONS, load_demo
from app.directory.models import Station, Union
from app.joincodes import service as joincodes_service
from tests.auth.support import ConsoleInbox

FALLBACK_STATIONS = {s.name for s in DEMO_STATIONS if s.expected_rule == "fallback"}


@dataclass
class Demo:
    session: Session
    province: Union

    def get(self, model: Any, code: str) -> Any:
        return self.session.scalars(sa.select(model).where(model.external_code == code)).one()


@pytest.fixture
def demo(app, session) -> Demo:
    with app.app_context():
        load_demo(session)
    session.commit()
    province = session.scalars(sa.select(Union).where(Union.parent_id.is_(None))).one()
    return Demo(session, province)


def _get(client, headers, path, **query):
    response = client.get(path, query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_the_demo_blind_spots_are_the_stations_only_the_fallback_reaches(client, make_officer, demo):
    _, headers = make_officer(demo.province, "viewer")
    body = _get(client, headers, "/api/v1/stats/blind-spots")
    assert {item["station"]["name"] for item in body["stations"]} == FALLBACK_STATIONS
    wuxi = next(item for item in body["stations"] if item["station"]["name"] == "迅驰速运无锡梁溪点部")
    assert wuxi["fallback_union"]["name"] == "江苏省总工会"
    assert wuxi["occupations"] == ["courier"]
    assert wuxi["station"]["region_name"] == "无锡市梁溪区"
    assert {group["key"] for group in body["regions"]} >= {"320213", "320214", "320115"}
    riders = next(group for group in body["occupations"] if group["key"] == "food_delivery_rider")
    assert riders["label"] == "网约送餐员" and riders["stations"] == 3  # 秦淮, 相城, 无锡新吴


def test_blind_spots_rank_by_workers_and_stay_in_scope(client, make_officer, demo, file_application, app):
    wuxi_rider = demo.get(Station, "demo-s23")
    with app.app_context():
        code = joincodes_service.create_join_code(demo.session, wuxi_rider, created_by_id=None)
        for device in ("a", "b", "c", "a"):
            joincodes_service.record_scan(
                demo.session, code, channel="miniprogram", device_id=device, device_key="k", now=utcnow()
            )
    demo.session.commit()
    _, headers = make_officer(demo.province, "admin")
    first = _get(client, headers, "/api/v1/stats/blind-spots")["stations"][0]
    assert first["station"]["name"] == "骑士达配送无锡新吴站"
    assert (first["scans"], first["unique_devices"], first["workers"]) == (4, 3, 3)

    _, nanjing = make_officer(demo.get(Union, "demo-nj"), "viewer")
    body = _get(client, nanjing, "/api/v1/stats/blind-spots")
    assert {item["station"]["name"] for item in body["stations"]} == {"骑士达配送秦淮站", "金盾保安江宁项目部"}


def test_an_occupation_applied_for_can_be_a_blind_spot_where_the_default_is_not(
    client, make_officer, demo, file_application
):
    # 顺邦快递秦淮夫子庙网点 routes couriers to the express federation; a security guard applying there has no union.
    depot = demo.get(Station, "demo-s04")
    qinhuai = demo.get(Union, "demo-nj-qh")
    file_application(qinhuai, depot, occupation="security_guard", route_rule="fallback")
    _, headers = make_officer(demo.province, "viewer")
    body = _get(client, headers, "/api/v1/stats/blind-spots")
    item = next(i for i in body["stations"] if i["station"]["name"] == "顺邦快递秦淮夫子庙网点")
    assert item["occupations"] == ["security_guard"] and item["applicants"] == 1


def test_employers_with_members_but_no_enterprise_union(client, make_officer, demo, file_application):
    riders = demo.get(Station, "demo-s10")  # 骑士达配送: no union of its own
    xunchi = demo.get(Station, "demo-s01")  # 迅驰速运南京分公司: has an enterprise union
    file_application(demo.get(Union, "demo-nj-xjk"), riders, status="approved", decided_after_days=1)
    file_application(demo.get(Union, "demo-nj-xjk"), riders, status="approved", decided_after_days=1)
    file_application(demo.get(Union, "demo-xc-nj"), xunchi, status="approved", decided_after_days=1)
    _, headers = make_officer(demo.province, "viewer")
    body = _get(client, headers, "/api/v1/stats/blind-spots")
    assert [(e["employer"]["name"], e["members"]) for e in body["employers_without_union"]] == [
        ("骑士达配送服务有限公司", 2)
    ]


@pytest.fixture
def funnel_data(app, session, coverage_tree, file_application):
    """Two codes at the Xuanwu depot, one at the Qinhuai rider point, with scans and applications."""
    with app.app_context():
        old, new = (
            joincodes_service.create_join_code(session, coverage_tree.depot, created_by_id=None) for _ in range(2)
        )
        rider = joincodes_service.create_join_code(session, coverage_tree.rider_point, created_by_id=None)
        for code, devices in ((old, "abcde"), (new, "ffg"), (rider, "hh")):
            for device in devices:
                joincodes_service.record_scan(
                    session, code, channel="miniprogram", device_id=device, device_key="k", now=utcnow()
                )
        joincodes_service.record_scan(session, old, channel="web", device_id=None, device_key="k", now=utcnow())
    session.commit()
    file_application(
        coverage_tree.xuanwu, coverage_tree.depot, status="approved", decided_after_days=1, join_code_id=old.id
    )
    file_application(coverage_tree.xuanwu, coverage_tree.depot, status="pending", join_code_id=old.id)
    file_application(
        coverage_tree.xuanwu, coverage_tree.depot, status="rejected", decided_after_days=1, join_code_id=new.id
    )
    return old, new, rider


def test_funnel_of_a_code_a_station_and_a_union(client, make_officer, coverage_tree, funnel_data):
    old, new, _rider = funnel_data
    _, headers = make_officer(coverage_tree.nanjing, "viewer")
    code = _get(client, headers, "/api/v1/stats/funnel", join_code_id=str(old.id))
    assert code["subject"] == "join_code" and code["items"] == []
    assert code["figures"] == {
        "scans": 6, "unique_devices": 5, "phones_proved": 2, "applications": 2, "approvals": 1, "conversion": 0.1667,
    }  # fmt: skip

    station = _get(client, headers, "/api/v1/stats/funnel", station_id=str(coverage_tree.depot.id))
    assert station["figures"]["scans"] == 9 and station["figures"]["applications"] == 3
    assert [item["key"] for item in station["items"]] == [str(old.id), str(new.id)]  # most scanned first

    union = _get(client, headers, "/api/v1/stats/funnel")
    assert union["subject"] == "union" and union["id"] == str(coverage_tree.nanjing.id)
    rows = {item["label"]: item["figures"] for item in union["items"]}
    assert rows["示例速运玄武点部"]["approvals"] == 1
    assert rows["秦淮骑手驿站"] == {
        "scans": 2, "unique_devices": 1, "phones_proved": 0, "applications": 0, "approvals": 0, "conversion": 0.0,
    }  # fmt: skip
    assert union["figures"]["scans"] == 11


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"join_code_id": "nope"}, 404),
        ({"station_id": "12345678901234567890"}, 404),
        ({"union_id": "0"}, 404),
        ({"join_code_id": "1", "station_id": "1"}, 422),
        ({"limit": "0"}, 422),
        ({"limit": "ten"}, 422),
    ],
)
def test_bad_funnel_queries(client, make_officer, coverage_tree, query, status):
    _, headers = make_officer(coverage_tree.province, "viewer")
    assert client.get("/api/v1/stats/funnel", query_string=query, headers=headers).status_code == status


def test_a_funnel_outside_the_scope_does_not_exist(client, make_officer, coverage_tree, funnel_data):
    _, rider, _ = funnel_data
    _, suzhou = make_officer(coverage_tree.suzhou, "admin")
    for query in (
        {"join_code_id": str(rider.id)},
        {"station_id": str(coverage_tree.depot.id)},
        {"union_id": str(coverage_tree.nanjing.id)},
    ):
        assert client.get("/api/v1/stats/funnel", query_string=query, headers=suzhou).status_code == 404


def _sign_in(client, inbox, phone: str, device: str | None) -> dict[str, Any]:
    headers = {"X-Device-Id": device} if device else {}
    challenge = client.post("/api/v1/auth/otp", json={"phone": phone})
    assert challenge.status_code == 202, challenge.json
    answer = {"challenge_id": challenge.json["challenge_id"], "code": inbox.code_for(phone)}
    tokens = client.post("/api/v1/auth/otp/verify", json=answer, headers=headers)
    assert tokens.status_code == 200, tokens.json
    body: dict[str, Any] = tokens.json
    return body


def test_phones_proved_after_a_scan_count_for_the_code_the_device_scanned_last(
    app, client, session, make_officer, coverage_tree, capsys
):
    """Scans carry no person; the sign-in that follows on the same device (X-Device-Id) ties one to the code."""
    inbox = ConsoleInbox(capsys)
    with app.app_context():
        depot_code = joincodes_service.create_join_code(session, coverage_tree.depot, created_by_id=None)
        rider_code = joincodes_service.create_join_code(session, coverage_tree.rider_point, created_by_id=None)
        # A device that scanned the depot's code yesterday, more than a day before it signs in.
        joincodes_service.record_scan(
            session, depot_code, channel="miniprogram", device_id="old-phone", now=utcnow() - dt.timedelta(hours=25),
            device_key=app.extensions["ruhui.settings"].secret_key,
        )  # fmt: skip
    session.commit()

    def scan(code, device):
        assert client.get(f"/api/v1/join/{code.token}", headers={"X-Device-Id": device}).status_code == 200

    def apply(tokens, id_number):
        form = {
            "join_token": depot_code.token, "full_name": "张三", "id_number": id_number,
            "occupation": "courier", "employment_form": "platform", "consent_version": "2026-01",
        }  # fmt: skip
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert client.post("/api/v1/applications", json=form, headers=headers).status_code == 201

    scan(depot_code, "phone-a")
    apply(_sign_in(client, inbox, "13800138001", "phone-a"), "11010519491231002X")  # proved, then applied: once
    scan(depot_code, "phone-b")
    scan(rider_code, "phone-b")
    _sign_in(client, inbox, "13800138002", "phone-b")  # last touch: the rider point's code
    scan(depot_code, "phone-c")
    apply(_sign_in(client, inbox, "13800138003", None), "110105199001011232")  # no device id: counted by applying
    _sign_in(client, inbox, "13800138004", "never-scanned")
    _sign_in(client, inbox, "13800138005", "old-phone")  # its scan is more than a day old
    _sign_in(client, inbox, "13800138006", "phone-d")  # signed in before scanning, and never applied
    scan(depot_code, "phone-d")

    _, headers = make_officer(coverage_tree.nanjing, "viewer")
    depot = _get(client, headers, "/api/v1/stats/funnel", join_code_id=str(depot_code.id))["figures"]
    assert (depot["scans"], depot["phones_proved"], depot["applications"]) == (5, 2, 2)
    rider = _get(client, headers, "/api/v1/stats/funnel", join_code_id=str(rider_code.id))["figures"]
    assert (rider["scans"], rider["phones_proved"], rider["applications"]) == (1, 1, 0)
    union = _get(client, headers, "/api/v1/stats/funnel")["figures"]
    assert union["phones_proved"] == 3
    since = (utcnow() + dt.timedelta(minutes=1)).isoformat()
    later = _get(client, headers, "/api/v1/stats/funnel", join_code_id=str(depot_code.id), since=since)
    assert later["figures"]["phones_proved"] == 0  # sign-ins count in the period they happened
