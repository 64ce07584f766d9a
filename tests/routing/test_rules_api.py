"""Override rules through the admin API, and their effect on routing."""

from __future__ import annotations

import pytest

from app.directory import service as directory_service

API = "/api/v1/routing/rules"


@pytest.fixture
def admin(make_officer, tree):
    """An admin of 南京市总工会."""
    return make_officer(tree.nanjing, "admin")[1]


@pytest.fixture
def building(session, tree):
    union = directory_service.add_union(
        session, name="新街口楼宇联合工会", kind="regional", region_code="320102", parent=tree.xuanwu
    )
    session.commit()
    return union


def explain(client, headers, station_id, occupation="courier"):
    response = client.get(
        "/api/v1/routing/explain", query_string={"station_id": station_id, "occupation": occupation}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_station_rule_takes_effect_at_once_and_is_gone_when_deleted(client, admin, tree, make_station, building):
    station = make_station(tree.xuanwu)
    assert explain(client, admin, station.id)["union"]["name"] == "新街口楼宇联合工会"

    created = client.post(
        f"{API}",
        json={"station_id": str(station.id), "union_id": str(tree.gulou.id), "priority": 5, "note": "临时安排"},
        headers=admin,
    )
    assert created.status_code == 201, created.get_json()
    rule = created.get_json()
    assert rule["union"] == {"id": str(tree.gulou.id), "name": "鼓楼区总工会", "kind": "federation"}
    assert (rule["station_id"], rule["employer_id"], rule["region_code"]) == (str(station.id), None, None)
    assert rule["priority"] == 5 and rule["note"] == "临时安排"

    routed = explain(client, admin, station.id)
    assert (routed["rule"], routed["union"]["id"]) == ("override", str(tree.gulou.id))
    assert routed["trace"][0]["override_rule_id"] == rule["id"]
    assert "临时安排" in routed["trace"][0]["reason"]

    assert client.get(f"{API}/{rule['id']}", headers=admin).get_json() == rule
    deleted = client.delete(f"{API}/{rule['id']}", headers=admin)
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert client.get(f"{API}/{rule['id']}", headers=admin).status_code == 404
    assert explain(client, admin, station.id)["rule"] == "regional"


def test_region_and_employer_rules(client, admin, tree, make_employer, make_station, building):
    hq = make_employer(tree.nanjing, region_code="320106")
    branch = make_employer(tree.xuanwu, parent=hq)
    station = make_station(tree.xuanwu, employer=branch)
    by_region = client.post(
        API,
        json={"region_code": "320100", "occupation": "courier", "union_id": str(tree.xuanwu.id), "priority": 1},
        headers=admin,
    )
    assert by_region.status_code == 201, by_region.get_json()
    assert explain(client, admin, station.id)["union"]["id"] == str(tree.xuanwu.id)
    assert explain(client, admin, station.id, "security_guard")["rule"] == "regional"

    by_employer = client.post(
        API, json={"employer_id": str(hq.id), "union_id": str(tree.gulou.id), "priority": 2}, headers=admin
    )
    assert by_employer.status_code == 201
    routed = explain(client, admin, station.id)
    assert routed["union"]["id"] == str(tree.gulou.id)
    assert [step["outcome"] for step in routed["trace"]] == ["chosen", "passed_over"]
    assert "优先级低于已采用的覆盖规则" in routed["trace"][1]["reason"]

    listed = client.get(API, headers=admin).get_json()
    assert [item["id"] for item in listed["items"]] == [by_employer.get_json()["id"], by_region.get_json()["id"]]
    filtered = client.get(API, query_string={"employer_id": str(hq.id)}, headers=admin).get_json()
    assert [item["id"] for item in filtered["items"]] == [by_employer.get_json()["id"]]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "_schema", "须且只能指定"),
        ({"station_id": "STATION", "region_code": "320102", "occupation": "courier"}, "_schema", "须且只能指定"),
        ({"region_code": "320102"}, "occupation", "须指定职业"),
        ({"region_code": "320508", "occupation": "courier"}, "region_code", "须在您所在工会的区域（南京市）之内"),
        ({"region_code": "320103", "occupation": "courier"}, "region_code", "不是有效的行政区划代码"),
        ({"station_id": "STATION", "occupation": "pilot"}, "occupation", "不是允许的取值"),
        ({"station_id": "STATION", "priority": -1}, "priority", "须在 0 到 10000 之间"),
        ({"station_id": "STATION", "priority": 10**12}, "priority", "须在 0 到 10000 之间"),
        ({"station_id": "STATION", "priority": "high"}, "priority", "须为整数"),
        ({"station_id": "STATION", "note": "备" * 201}, "note", "长度不能超过 200"),
    ],
)
def test_invalid_rules_are_422(client, admin, tree, make_station, session, body, field, message):
    station = make_station(tree.xuanwu)
    body = {key: (str(station.id) if value == "STATION" else value) for key, value in body.items()}
    response = client.post(API, json={"union_id": str(tree.xuanwu.id), **body}, headers=admin)
    assert response.status_code == 422, response.get_json()
    assert any(message in text for text in response.get_json()["errors"][field]), response.get_json()


def test_rules_need_a_union(client, admin, tree, make_station):
    station = make_station(tree.xuanwu)
    response = client.post(API, json={"station_id": str(station.id)}, headers=admin)
    assert response.status_code == 422 and "union_id" in response.get_json()["errors"]
