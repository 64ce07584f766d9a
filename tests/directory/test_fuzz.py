"""Whatever a client sends to the directory and routing endpoints, the answer is a 4xx envelope, never a 500."""

from __future__ import annotations

import base64
import json

import pytest

LISTS = ["/api/v1/unions", "/api/v1/employers", "/api/v1/stations", "/api/v1/routing/rules"]


@pytest.fixture
def admin(make_officer, tree):
    return make_officer(tree.nanjing, "admin")[1]


def cursor(values):
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "values", [[10**30], [-(10**30)], [2**63], [1.5], ["x"], [None], [True], [10**30, 10**30], [], {"a": 1}]
)
def test_forged_cursors_are_422(client, admin, path, values):
    response = client.get(path, query_string={"cursor": cursor(values)}, headers=admin)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == {"cursor": ["分页游标无效"]}


@pytest.mark.parametrize(
    "body",
    [
        {"name": "名" * 100_000},
        {"parent_id": "9" * 500},
        {"parent_id": 10**40},
        {"parent_id": -3},
        {"occupations": ["courier"] * 1000},
        {"name": {"a": 1}},
        {"region_code": ["320102"]},
        [],
        "a string",
    ],
)
def test_odd_union_bodies_are_4xx(client, admin, tree, body):
    created = client.post("/api/v1/unions", json=body, headers=admin)
    assert created.status_code in (400, 404, 422), created.get_json()
    patched = client.patch(f"/api/v1/unions/{tree.xuanwu.id}", json=body, headers=admin)
    assert patched.status_code in (400, 404, 422), patched.get_json()
    assert "code" in created.get_json() and "code" in patched.get_json()


@pytest.mark.parametrize(
    "query",
    [
        {"parent_id": "9" * 40},
        {"employer_id": "-5"},
        {"region_code": "x" * 1000},
        {"q": "%_" * 50},
        {"limit": 10**30},
        {"accepting": "perhaps"},
        {"occupation": "'; drop table unions; --"},
    ],
)
def test_odd_queries_are_200_or_422(client, admin, query):
    for path in LISTS:
        response = client.get(path, query_string=query, headers=admin)
        assert response.status_code in (200, 422), (path, response.get_json())
    explained = client.get(
        "/api/v1/routing/explain",
        query_string={**query, "station_id": "9" * 40, "occupation": "courier"},
        headers=admin,
    )
    assert explained.status_code in (404, 422)
