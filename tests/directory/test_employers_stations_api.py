"""Employers (with their USCC and HQ chain) and stations through the admin API."""

from __future__ import annotations

import pytest

from app.directory.models import Employer, Station
from tests.conftest import valid_uscc


@pytest.fixture
def admin(make_officer, tree):
    """An admin of 南京市总工会."""
    return make_officer(tree.nanjing, "admin")[1]


def post_employer(client, headers, **fields):
    body = {"name": "南京某快递有限公司", "uscc": valid_uscc(1), "region_code": "320102", **fields}
    return client.post("/api/v1/employers", json=body, headers=headers)


def test_register_an_employer_with_a_real_uscc(client, admin, tree, session):
    response = post_employer(client, admin, uscc="9132 0102 ma1x cn2d 8k")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["uscc"] == "91320102MA1XCN2D8K"
    assert body["union_id"] == str(tree.nanjing.id)  # managed by the admin's own union unless told
    assert body["region_name"] == "南京市玄武区" and body["parent_id"] is None
    assert session.get(Employer, int(body["id"])).uscc == "91320102MA1XCN2D8K"
    assert client.get(f"/api/v1/employers/{body['id']}", headers=admin).get_json() == body


@pytest.mark.parametrize(
    ("uscc", "message"),
    [
        ("914403001922038217", "校验位不正确"),
        ("9132010", "须为 18 位"),
        ("91320102MA1XCN2D8O", "不允许的字符"),
        (18, "须为文本"),
    ],
)
def test_a_bad_uscc_is_422_with_the_reason(client, admin, uscc, message):
    response = post_employer(client, admin, uscc=uscc)
    assert response.status_code == 422
    assert any(message in text for text in response.get_json()["errors"]["uscc"])


def test_a_uscc_is_registered_once(client, admin):
    assert post_employer(client, admin).status_code == 201
    again = post_employer(client, admin, name="另一家")
    assert again.status_code == 409
    assert again.get_json()["code"] == "uscc_taken"


def test_an_employer_lies_in_its_managing_unions_region(client, admin, tree):
    response = post_employer(client, admin, region_code="320508")
    assert response.status_code == 422
    assert response.get_json()["errors"]["region_code"] == ["须在管理工会的区域（南京市）之内"]
    moved = post_employer(client, admin, region_code="320106", union_id=str(tree.xuanwu.id))
    assert moved.status_code == 422


def test_hq_and_branches_cannot_form_a_loop(client, admin):
    hq = post_employer(client, admin, name="总部", uscc=valid_uscc(1)).get_json()
    branch = post_employer(client, admin, name="分公司", uscc=valid_uscc(2), parent_id=hq["id"]).get_json()
    depot = post_employer(client, admin, name="点部", uscc=valid_uscc(3), parent_id=branch["id"]).get_json()
    assert depot["parent_id"] == branch["id"]
    for new_parent in (depot["id"], hq["id"]):
        response = client.patch(f"/api/v1/employers/{hq['id']}", json={"parent_id": new_parent}, headers=admin)
        assert response.status_code == 422
        assert response.get_json()["errors"]["parent_id"] == ["不能把单位设为它自己或其下属单位的下级"]
    unlinked = client.patch(f"/api/v1/employers/{depot['id']}", json={"parent_id": None}, headers=admin)
    assert unlinked.status_code == 200 and unlinked.get_json()["parent_id"] is None


def test_patch_employer_uscc_and_name(client, admin):
    employer = post_employer(client, admin).get_json()
    other = post_employer(client, admin, uscc=valid_uscc(2)).get_json()
    taken = client.patch(f"/api/v1/employers/{employer['id']}", json={"uscc": other["uscc"]}, headers=admin)
    assert taken.status_code == 409
    response = client.patch(
        f"/api/v1/employers/{employer['id']}", json={"name": "新名称", "uscc": valid_uscc(3)}, headers=admin
    )
    assert response.status_code == 200
    assert response.get_json()["name"] == "新名称" and response.get_json()["uscc"] == valid_uscc(3)


def test_employer_list_filters(client, admin, tree):
    hq = post_employer(client, admin, name="迅驰总部", uscc=valid_uscc(1)).get_json()
    post_employer(
        client, admin, name="迅驰鼓楼", uscc=valid_uscc(2, "320106"), region_code="320106", parent_id=hq["id"]
    )

    def names(**query):
        response = client.get("/api/v1/employers", query_string=query, headers=admin)
        assert response.status_code == 200, response.get_json()
        return [item["name"] for item in response.get_json()["items"]]

    assert names() == ["迅驰总部", "迅驰鼓楼"]
    assert names(region_code="320106") == ["迅驰鼓楼"]
    assert names(parent_id=hq["id"]) == ["迅驰鼓楼"]
    assert names(uscc=valid_uscc(1).lower()) == ["迅驰总部"]
    assert names(q="鼓楼") == ["迅驰鼓楼"]


def post_station(client, headers, **fields):
    body = {"name": "某快递玄武点部", "region_code": "320102", "occupation": "courier", **fields}
    return client.post("/api/v1/stations", json=body, headers=headers)


def test_register_a_station_and_change_it(client, admin, tree, make_employer, session):
    employer = make_employer(tree.xuanwu)
    response = post_station(client, admin, employer_id=str(employer.id), address="玄武区中山路 1 号")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["employer_id"] == str(employer.id) and body["union_id"] == str(tree.nanjing.id)
    assert body["region_name"] == "南京市玄武区" and body["address"] == "玄武区中山路 1 号"

    patched = client.patch(
        f"/api/v1/stations/{body['id']}",
        json={"occupation": "food_delivery_rider", "employer_id": None, "union_id": str(tree.xuanwu.id)},
        headers=admin,
    )
    assert patched.status_code == 200, patched.get_json()
    session.expire_all()
    stored = session.get(Station, int(body["id"]))
    assert (stored.occupation, stored.employer_id, stored.union_id) == ("food_delivery_rider", None, tree.xuanwu.id)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"occupation": "astronaut"}, "occupation"),
        ({"occupation": None}, "occupation"),
        ({"region_code": "32010"}, "region_code"),
        ({"region_code": "320508"}, "region_code"),
        ({"address": "路" * 301}, "address"),
        ({"name": None}, "name"),
        ({"employer_id": ["1"]}, "employer_id"),
    ],
)
def test_invalid_stations_are_422(client, admin, fields, field):
    response = post_station(client, admin, **fields)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_station_list_filters(client, admin, tree, make_employer):
    employer = make_employer(tree.xuanwu)
    post_station(client, admin, name="快递点", employer_id=str(employer.id))
    post_station(client, admin, name="外卖站", occupation="food_delivery_rider", region_code="320106", address="湖南路")

    def names(**query):
        response = client.get("/api/v1/stations", query_string=query, headers=admin)
        assert response.status_code == 200, response.get_json()
        return [item["name"] for item in response.get_json()["items"]]

    assert names() == ["快递点", "外卖站"]
    assert names(occupation="food_delivery_rider") == ["外卖站"]
    assert names(employer_id=str(employer.id)) == ["快递点"]
    assert names(region_code="320102") == ["快递点"]
    assert names(region_code="320100") == ["快递点", "外卖站"]
    assert names(q="湖南") == ["外卖站"]
