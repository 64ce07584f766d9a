"""Unions through the admin API: create, read, update (including moving a subtree), list."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.directory.models import Union

API = "/api/v1/unions"


@pytest.fixture
def admin(make_officer, tree):
    """An admin of 南京市总工会."""
    return make_officer(tree.nanjing, "admin")[1]


def create(client, headers, **fields):
    return client.post(API, json=fields, headers=headers)


def test_create_a_union_and_read_it_back(client, admin, tree, session):
    response = create(
        client,
        admin,
        name="南京市快递行业工会联合会",
        kind="industry",
        parent_id=str(tree.nanjing.id),
        region_code="320100",
        occupations=["courier", "courier"],
        external_code="nj-express",
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id"].isdigit() and body["parent_id"] == str(tree.nanjing.id)
    assert body["occupations"] == ["courier"]
    assert body["accepting"] is True and body["employer_id"] is None
    assert body["region_name"] == "南京市"
    assert body["created_at"].endswith("+00:00")
    stored = session.get(Union, int(body["id"]))
    assert stored.path == f"{tree.nanjing.path}{stored.id}/"
    again = client.get(f"{API}/{body['id']}", headers=admin)
    assert again.status_code == 200 and again.get_json() == body


def test_an_enterprise_union_names_its_employer(client, admin, tree, make_employer):
    employer = make_employer(tree.xuanwu)
    response = create(
        client,
        admin,
        name="某快递玄武分公司工会",
        kind="enterprise",
        parent_id=tree.xuanwu.id,  # a JSON number is accepted too
        region_code="320102",
        employer_id=str(employer.id),
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["employer_id"] == str(employer.id)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"kind": "club"}, "kind", "不是允许的取值"),
        ({"region_code": "320103"}, "region_code", "不是有效的行政区划代码"),
        ({"region_code": "320500"}, "region_code", "上级工会的区域（南京市）之内"),
        ({"kind": "industry", "occupations": []}, "occupations", "至少覆盖一种职业"),
        ({"occupations": ["astronaut"]}, "occupations", "不是允许的取值"),
        ({"occupations": "courier"}, "occupations", "须为列表"),
        ({"kind": "enterprise"}, "employer_id", "须指定所属用人单位"),
        ({"name": ""}, "name", "长度须在 1 到 100 之间"),
        ({"name": "   "}, "name", "长度须在 1 到 100 之间"),
        ({"name": "工会" * 60}, "name", "长度须在 1 到 100 之间"),
        ({"name": "工会\x00"}, "name", "控制字符"),
        ({"name": 42}, "name", "须为文本"),
        ({"accepting": "maybe"}, "accepting", "须为 true 或 false"),
        ({"parent_id": True}, "parent_id", "编号须为字符串"),
        ({"parent_id": None}, "parent_id", "不能为空"),
        ({"surprise": 1}, "surprise", "不允许的字段"),
    ],
)
def test_invalid_unions_are_refused_with_the_field_and_reason(client, admin, tree, session, fields, field, message):
    base = {"name": "某工会", "kind": "regional", "parent_id": str(tree.nanjing.id), "region_code": "320102"}
    before = session.scalar(sa.select(sa.func.count()).select_from(Union))
    response = create(client, admin, **{**base, **fields})
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == "validation_error"
    messages = [text for key, texts in body["errors"].items() if key.split(".")[0] == field for text in texts]
    assert any(message in text for text in messages), body
    assert session.scalar(sa.select(sa.func.count()).select_from(Union)) == before


def test_a_non_enterprise_union_cannot_name_an_employer(client, admin, tree, make_employer):
    employer = make_employer(tree.xuanwu)
    response = create(
        client,
        admin,
        name="X",
        kind="regional",
        parent_id=str(tree.nanjing.id),
        region_code="320102",
        employer_id=str(employer.id),
    )
    assert response.status_code == 422
    assert response.get_json()["errors"]["employer_id"] == ["只有企业工会可以指定用人单位"]


def test_external_codes_are_unique(client, admin, tree):
    fields = {"name": "A", "kind": "regional", "parent_id": str(tree.nanjing.id), "region_code": "320102"}
    assert create(client, admin, **fields, external_code="dup").status_code == 201
    response = create(client, admin, **fields, external_code="dup")
    assert response.status_code == 409 and response.get_json()["code"] == "external_code_taken"


@pytest.mark.parametrize("raw_id", ["abc", "0", "-1", "1e3", "99999999999999999999999", "%E4%B8%AD"])
def test_ids_that_cannot_exist_are_404(client, admin, raw_id):
    response = client.get(f"{API}/{raw_id}", headers=admin)
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"
    patched = client.patch(f"{API}/{raw_id}", json={"name": "x"}, headers=admin)
    assert patched.status_code == 404


def test_a_reference_that_cannot_exist_is_404(client, admin):
    response = create(client, admin, name="X", kind="regional", parent_id="not-an-id", region_code="320102")
    assert response.status_code == 404
    assert response.get_json()["message"] == "上级工会不存在"


def test_patch_changes_only_what_is_sent(client, admin, tree, session):
    response = client.patch(
        f"{API}/{tree.xuanwu.id}", json={"accepting": False, "name": "玄武区总工会（新）"}, headers=admin
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["accepting"] is False and body["name"] == "玄武区总工会（新）" and body["region_code"] == "320102"
    session.expire_all()
    assert session.get(Union, tree.xuanwu.id).accepting is False


def test_moving_a_union_moves_its_whole_subtree(client, admin, make_officer, tree, session):
    park = create(
        client, admin, name="园区联合工会", kind="regional", parent_id=str(tree.xuanwu.id), region_code="320102"
    )
    park_id = park.get_json()["id"]
    shop = create(client, admin, name="园区某店工会", kind="regional", parent_id=park_id, region_code="320102")
    shop_id = int(shop.get_json()["id"])
    _, gulou_admin = make_officer(tree.gulou, "admin")
    _, xuanwu_admin = make_officer(tree.xuanwu, "admin")
    assert client.get(f"{API}/{shop_id}", headers=gulou_admin).status_code == 404

    # 园区 lies in 玄武区, so it cannot go under 鼓楼区 unless its region changes with it.
    refused = client.patch(f"{API}/{park_id}", json={"parent_id": str(tree.gulou.id)}, headers=admin)
    assert refused.status_code == 422 and "region_code" in refused.get_json()["errors"]
    moved = client.patch(f"{API}/{park_id}", json={"parent_id": str(tree.nanjing.id)}, headers=admin)
    assert moved.status_code == 200, moved.get_json()

    session.expire_all()
    assert session.get(Union, int(park_id)).path == f"{tree.nanjing.path}{park_id}/"
    assert session.get(Union, shop_id).path == f"{tree.nanjing.path}{park_id}/{shop_id}/"
    assert client.get(f"{API}/{shop_id}", headers=xuanwu_admin).status_code == 404
    assert client.get(f"{API}/{shop_id}", headers=admin).status_code == 200


@pytest.mark.parametrize("target", ["self", "child"])
def test_a_union_cannot_move_under_itself(client, admin, tree, session, target):
    new_parent = tree.nanjing.id if target == "self" else tree.xuanwu.id
    before = session.get(Union, tree.nanjing.id).path
    response = client.patch(f"{API}/{tree.nanjing.id}", json={"parent_id": str(new_parent)}, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["errors"]["parent_id"] == ["不能把工会移到它自己或其下级工会之下"]
    session.expire_all()
    assert session.get(Union, tree.nanjing.id).path == before


def test_parent_cannot_be_removed(client, admin, tree):
    response = client.patch(f"{API}/{tree.xuanwu.id}", json={"parent_id": None}, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["errors"]["parent_id"] == ["须指定上级工会"]


def test_a_region_change_must_keep_the_children_inside(client, admin, tree):
    response = client.patch(f"{API}/{tree.nanjing.id}", json={"region_code": "320102"}, headers=admin)
    assert response.status_code == 422
    assert "「鼓楼区总工会」" in response.get_json()["errors"]["region_code"][0]


def test_kind_change_is_checked_against_the_whole_union(client, admin, tree):
    response = client.patch(f"{API}/{tree.xuanwu.id}", json={"kind": "industry"}, headers=admin)
    assert response.status_code == 422
    assert "occupations" in response.get_json()["errors"]
    ok = client.patch(f"{API}/{tree.xuanwu.id}", json={"kind": "industry", "occupations": ["courier"]}, headers=admin)
    assert ok.status_code == 200


def test_list_filters_and_pages_through_the_scope(client, admin, tree):
    for index in range(5):
        create(
            client,
            admin,
            name=f"快递工会{index}",
            kind="industry",
            parent_id=str(tree.xuanwu.id),
            region_code="320102",
            occupations=["courier"],
            accepting=index != 0,
        )
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(API, query_string=query, headers=admin).get_json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["南京市总工会", "玄武区总工会", "鼓楼区总工会", *(f"快递工会{i}" for i in range(5))]

    def names(**query):
        response = client.get(API, query_string=query, headers=admin)
        assert response.status_code == 200, response.get_json()
        return [item["name"] for item in response.get_json()["items"]]

    assert names(kind="industry", accepting="false") == ["快递工会0"]
    assert names(occupation="courier", q="工会4") == ["快递工会4"]
    assert names(occupation="caregiver") == []
    assert names(region_code="320106") == ["鼓楼区总工会"]
    assert names(parent_id=str(tree.nanjing.id)) == ["玄武区总工会", "鼓楼区总工会"]
    assert names(q="100%_") == []


@pytest.mark.parametrize(
    "query",
    [{"limit": 0}, {"limit": 201}, {"limit": "many"}, {"cursor": "garbage"}, {"kind": "club"}, {"q": "a\x00b"}],
)
def test_bad_list_queries_are_422(client, admin, query):
    response = client.get(API, query_string=query, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


def test_listing_runs_the_same_few_queries_for_5_or_50_unions(client, admin, tree, session, count_queries):
    def add(count):
        for index in range(count):
            session.add(
                Union(name=f"U{index}", kind="regional", region_code="320102", path="", parent_id=tree.xuanwu.id)
            )
        session.flush()
        for union in session.scalars(sa.select(Union).where(Union.path == "")):
            union.path = f"{tree.xuanwu.path}{union.id}/"
        session.commit()

    add(5)
    with count_queries() as few:
        assert client.get(API, query_string={"limit": 200}, headers=admin).status_code == 200
    add(45)
    with count_queries() as many:
        assert len(client.get(API, query_string={"limit": 200}, headers=admin).get_json()["items"]) == 53
    assert len(many) == len(few) <= 4


@pytest.mark.parametrize("path", ["/api/v1/unions", "/api/v1/employers", "/api/v1/stations", "/api/v1/routing/rules"])
def test_collections_answer_at_the_contracts_path_without_a_redirect(client, admin, path):
    response = client.get(path, headers=admin)
    assert response.status_code == 200
    assert set(response.get_json()) == {"items", "next_cursor"}
