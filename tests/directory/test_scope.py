"""Scope: an admin sees and changes only its union's subtree; everything else is a 404, as if it did not exist.

One table covers every directory and routing endpoint: what lies outside the scope
answers exactly like an id that does not exist, and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from app.auth.tokens import issue_access_token
from app.directory.models import Employer, Station, Union
from app.routing import service as routing_service
from app.routing.models import RoutingRule
from tests.conftest import valid_uscc


@dataclass
class World:
    """A 南京 admin's view: its own records, and 苏州's (outside), plus the province above it."""

    mine: dict[str, int]
    theirs: dict[str, int]
    province: int


@pytest.fixture
def world(session, tree, make_employer, make_station) -> World:
    own_employer = make_employer(tree.xuanwu)
    own_station = make_station(tree.xuanwu, employer=own_employer)
    their_employer = make_employer(tree.suzhou, region_code="320508")
    their_station = make_station(tree.suzhou, region_code="320508", employer=their_employer)
    their_rule = routing_service.create_rule(
        session, tree.root_scope, union_id=tree.suzhou.id, station_id=their_station.id
    )
    own_rule = routing_service.create_rule(session, tree.root_scope, union_id=tree.xuanwu.id, station_id=own_station.id)
    session.commit()
    return World(
        mine={
            "union": tree.xuanwu.id,
            "employer": own_employer.id,
            "station": own_station.id,
            "rule": own_rule.id,
        },
        theirs={
            "union": tree.suzhou.id,
            "employer": their_employer.id,
            "station": their_station.id,
            "rule": their_rule.id,
        },
        province=tree.province.id,
    )


@pytest.fixture
def nanjing_admin(make_officer, tree):
    return make_officer(tree.nanjing, "admin")[1]


NOWHERE = 987_654_321


def _requests(ids: dict[str, int], mine: dict[str, int], tree_ids: dict[str, int]) -> list[tuple[str, str, Any, Any]]:
    """(method, url, json body, query) for every endpoint, aimed at ``ids`` (the target) from ``mine``."""
    xuanwu, nanjing = tree_ids["xuanwu"], tree_ids["nanjing"]
    union, employer, station = str(ids["union"]), str(ids["employer"]), str(ids["station"])
    new_union = {"name": "X", "region_code": "320102"}
    new_employer = {"name": "X", "region_code": "320102"}
    new_station = {"name": "X", "region_code": "320102", "occupation": "courier"}
    return [
        ("GET", f"/api/v1/unions/{union}", None, None),
        ("PATCH", f"/api/v1/unions/{union}", {"name": "改名"}, None),
        ("GET", f"/api/v1/employers/{employer}", None, None),
        ("PATCH", f"/api/v1/employers/{employer}", {"name": "改名"}, None),
        ("GET", f"/api/v1/stations/{station}", None, None),
        ("PATCH", f"/api/v1/stations/{station}", {"name": "改名"}, None),
        ("GET", "/api/v1/routing/explain", None, {"station_id": station, "occupation": "courier"}),
        ("GET", f"/api/v1/routing/rules/{ids['rule']}", None, None),
        ("DELETE", f"/api/v1/routing/rules/{ids['rule']}", None, None),
        # Bodies that point at the target from inside the scope.
        ("POST", "/api/v1/unions", {**new_union, "kind": "regional", "parent_id": union}, None),
        (
            "POST",
            "/api/v1/unions",
            {**new_union, "kind": "enterprise", "parent_id": str(xuanwu), "employer_id": employer},
            None,
        ),
        ("PATCH", f"/api/v1/unions/{xuanwu}", {"parent_id": union}, None),
        ("PATCH", f"/api/v1/unions/{xuanwu}", {"kind": "enterprise", "employer_id": employer}, None),
        ("POST", "/api/v1/employers", {**new_employer, "uscc": valid_uscc(9001), "parent_id": employer}, None),
        ("POST", "/api/v1/employers", {**new_employer, "uscc": valid_uscc(9002), "union_id": union}, None),
        ("PATCH", f"/api/v1/employers/{mine['employer']}", {"parent_id": employer}, None),
        ("PATCH", f"/api/v1/employers/{mine['employer']}", {"union_id": union}, None),
        ("POST", "/api/v1/stations", {**new_station, "employer_id": employer}, None),
        ("POST", "/api/v1/stations", {**new_station, "union_id": union}, None),
        ("PATCH", f"/api/v1/stations/{mine['station']}", {"employer_id": employer}, None),
        ("PATCH", f"/api/v1/stations/{mine['station']}", {"union_id": union}, None),
        ("POST", "/api/v1/routing/rules", {"union_id": union, "station_id": str(mine["station"])}, None),
        ("POST", "/api/v1/routing/rules", {"union_id": str(nanjing), "station_id": station}, None),
        ("POST", "/api/v1/routing/rules", {"union_id": str(nanjing), "employer_id": employer}, None),
    ]


ENDPOINT_COUNT = 24


def _snapshot(session) -> list[Any]:
    session.expire_all()
    rows: list[Any] = []
    for model in (Union, Employer, Station, RoutingRule):
        rows += [tuple(row) for row in session.execute(sa.select(model.__table__).order_by(model.id))]
    return rows


@pytest.mark.parametrize("index", range(ENDPOINT_COUNT))
@pytest.mark.parametrize("target", ["other_city", "parent", "nowhere"])
def test_everything_outside_the_scope_is_404_and_changes_nothing(
    client, session, tree, world, nanjing_admin, index, target
):
    if target == "other_city":
        ids = world.theirs
    elif target == "parent":
        ids = {**world.theirs, "union": world.province}
    else:
        ids = dict.fromkeys(world.theirs, NOWHERE)
    tree_ids = {"xuanwu": tree.xuanwu.id, "nanjing": tree.nanjing.id}
    requests = _requests(ids, world.mine, tree_ids)
    assert len(requests) == ENDPOINT_COUNT
    method, url, body, query = requests[index]
    before = _snapshot(session)
    response = client.open(url, method=method, json=body, query_string=query, headers=nanjing_admin)
    assert response.status_code == 404, (method, url, body, response.get_json())
    assert response.get_json()["code"] == "not_found"
    assert _snapshot(session) == before


@pytest.mark.parametrize("index", range(ENDPOINT_COUNT))
def test_the_same_requests_inside_the_scope_are_not_404(client, tree, world, nanjing_admin, index):
    """Guards the table above: aimed at the admin's own records, the same requests get through."""
    tree_ids = {"xuanwu": tree.xuanwu.id, "nanjing": tree.nanjing.id}
    own = {**world.mine, "union": tree.gulou.id}
    method, url, body, query = _requests(own, world.mine, tree_ids)[index]
    response = client.open(url, method=method, json=body, query_string=query, headers=nanjing_admin)
    assert response.status_code != 404, (method, url, body, response.get_json())


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("/api/v1/unions", "union"),
        ("/api/v1/employers", "employer"),
        ("/api/v1/stations", "station"),
        ("/api/v1/routing/rules", "rule"),
    ],
)
def test_lists_hold_only_the_scope(client, world, nanjing_admin, url, key):
    response = client.get(url, headers=nanjing_admin)
    assert response.status_code == 200
    ids = {item["id"] for item in response.get_json()["items"]}
    assert str(world.mine[key]) in ids
    assert str(world.theirs[key]) not in ids
    if key == "union":
        assert str(world.province) not in ids


ALL_ENDPOINTS = [
    ("GET", "/api/v1/unions"),
    ("POST", "/api/v1/unions"),
    ("GET", "/api/v1/unions/1"),
    ("PATCH", "/api/v1/unions/1"),
    ("GET", "/api/v1/employers"),
    ("POST", "/api/v1/employers"),
    ("GET", "/api/v1/employers/1"),
    ("PATCH", "/api/v1/employers/1"),
    ("GET", "/api/v1/stations"),
    ("POST", "/api/v1/stations"),
    ("GET", "/api/v1/stations/1"),
    ("PATCH", "/api/v1/stations/1"),
    ("POST", "/api/v1/imports/unions"),
    ("POST", "/api/v1/imports/employers"),
    ("POST", "/api/v1/imports/stations"),
    ("GET", "/api/v1/routing/explain"),
    ("GET", "/api/v1/routing/rules"),
    ("POST", "/api/v1/routing/rules"),
    ("GET", "/api/v1/routing/rules/1"),
    ("DELETE", "/api/v1/routing/rules/1"),
]


@pytest.mark.parametrize(("method", "url"), ALL_ENDPOINTS)
@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_officers_who_are_not_admins_are_403_before_anything_is_read(client, make_officer, tree, method, url, role):
    _, headers = make_officer(tree.nanjing, role)
    response = client.open(url, method=method, data="{not json", content_type="application/json", headers=headers)
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


@pytest.mark.parametrize(("method", "url"), ALL_ENDPOINTS)
def test_workers_are_403(app, client, method, url):
    with app.test_request_context():
        token, _ = issue_access_token("worker", 1)
    response = client.open(url, method=method, json={}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


@pytest.mark.parametrize(("method", "url"), ALL_ENDPOINTS)
def test_no_token_is_401(client, method, url):
    response = client.open(url, method=method, json={})
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"
