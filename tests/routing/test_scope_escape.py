"""An admin cannot widen its own scope: not by reshaping its own union, not by override rules (issue 13, item 1)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.routing.models import RoutingRule

UNIONS = "/api/v1/unions"
RULES = "/api/v1/routing/rules"


def explain(client, headers, station_id, occupation):
    response = client.get(
        "/api/v1/routing/explain", query_string={"station_id": station_id, "occupation": occupation}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def district_admin(make_officer, tree):
    return make_officer(tree.xuanwu, "admin")[1]


@pytest.fixture
def city_admin(make_officer, tree):
    return make_officer(tree.nanjing, "admin")[1]


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "industry", "occupations": ["security_guard"], "region_code": "320100"},
        {"region_code": "320100"},
        {"occupations": ["security_guard"]},
        {"accepting": False},
        {"parent_id": "province"},
        {"kind": "enterprise", "employer_id": "employer"},
    ],
)
def test_an_admin_cannot_reshape_its_own_union(
    client, session, tree, make_station, make_employer, district_admin, city_admin, change
):
    """Route 1 of the attack: the district widened its own union and caught a neighbour's security guards."""
    guards = make_station(tree.gulou, name="鼓楼保安站", occupation="security_guard")
    employer = make_employer(tree.xuanwu)
    ids = {"province": str(tree.province.id), "employer": str(employer.id)}
    body = {name: ids.get(value, value) if isinstance(value, str) else value for name, value in change.items()}

    response = client.patch(f"{UNIONS}/{tree.xuanwu.id}", json=body, headers=district_admin)

    assert response.status_code == 403, response.get_json()
    assert response.get_json()["code"] == "forbidden"
    session.expire_all()
    assert (tree.xuanwu.kind, tree.xuanwu.region_code, tree.xuanwu.occupations) == ("federation", "320102", [])
    assert tree.xuanwu.accepting is True and tree.xuanwu.parent_id == tree.nanjing.id
    routed = explain(client, city_admin, guards.id, "security_guard")
    assert routed["union"]["id"] == str(tree.gulou.id)


def test_name_and_contacts_of_the_own_union_stay_editable(client, tree, district_admin):
    response = client.patch(f"{UNIONS}/{tree.xuanwu.id}", json={"name": "玄武区总工会（新）"}, headers=district_admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["name"] == "玄武区总工会（新）"
    # Resending a field unchanged is not a change: a form that posts every field still saves.
    same = client.patch(
        f"{UNIONS}/{tree.xuanwu.id}", json={"kind": "federation", "name": "玄武"}, headers=district_admin
    )
    assert same.status_code == 200, same.get_json()


def test_unions_strictly_below_and_the_admin_above_may_reshape(client, tree, district_admin, city_admin):
    child = client.post(
        UNIONS,
        json={
            "name": "玄武区快递行业工会",
            "kind": "industry",
            "parent_id": str(tree.xuanwu.id),
            "region_code": "320102",
            "occupations": ["courier"],
        },
        headers=district_admin,
    )
    assert child.status_code == 201, child.get_json()
    below = client.patch(
        f"{UNIONS}/{child.get_json()['id']}",
        json={"occupations": ["courier", "security_guard"]},
        headers=district_admin,
    )
    assert below.status_code == 200, below.get_json()
    above = client.patch(f"{UNIONS}/{tree.xuanwu.id}", json={"accepting": False}, headers=city_admin)
    assert above.status_code == 200, above.get_json()
    assert above.get_json()["accepting"] is False


def test_a_rule_made_while_widened_no_longer_captures_other_subtrees(
    client, session, tree, make_station, district_admin, city_admin
):
    """Route 2: region rules made while the union was widened kept capturing after the union was reverted."""
    neighbours = make_station(tree.gulou, name="鼓楼快递站", occupation="courier")
    own = make_station(tree.xuanwu, name="玄武快递站", occupation="courier")
    # The city widens the district for a while (an admin above may), and the district makes a citywide rule.
    assert (
        client.patch(f"{UNIONS}/{tree.xuanwu.id}", json={"region_code": "320100"}, headers=city_admin).status_code
        == 200
    )
    rule = client.post(
        RULES,
        json={"region_code": "320100", "occupation": "courier", "union_id": str(tree.xuanwu.id)},
        headers=district_admin,
    )
    assert rule.status_code == 201, rule.get_json()
    assert (
        client.patch(f"{UNIONS}/{tree.xuanwu.id}", json={"region_code": "320102"}, headers=city_admin).status_code
        == 200
    )

    routed = explain(client, city_admin, neighbours.id, "courier")
    assert routed["union"]["id"] == str(tree.gulou.id), routed["trace"]
    step = next(s for s in routed["trace"] if s.get("override_rule_id") == rule.get_json()["id"])
    assert step["outcome"] == "passed_over"
    assert "不在" in step["reason"] and "玄武区总工会" in step["reason"]
    # Inside its own subtree the rule still works.
    assert explain(client, city_admin, own.id, "courier")["rule"] == "override"
    stored = session.scalars(sa.select(RoutingRule)).one()
    assert stored.owner_union_id == tree.xuanwu.id


def test_a_rule_is_checked_against_the_subtree_when_it_is_made(
    client, tree, make_station, make_employer, district_admin
):
    neighbours = make_station(tree.gulou, name="鼓楼快递站")
    foreign = make_employer(tree.gulou, name="鼓楼快递有限公司")
    for body in (
        {"station_id": str(neighbours.id), "union_id": str(tree.xuanwu.id)},
        {"employer_id": str(foreign.id), "union_id": str(tree.xuanwu.id)},
        {"region_code": "320102", "occupation": "courier", "union_id": str(tree.gulou.id)},
    ):
        response = client.post(RULES, json=body, headers=district_admin)
        assert response.status_code == 404, (body, response.get_json())
    wide = client.post(
        RULES,
        json={"region_code": "320100", "occupation": "courier", "union_id": str(tree.xuanwu.id)},
        headers=district_admin,
    )
    assert wide.status_code == 422
    assert "region_code" in wide.get_json()["errors"]
