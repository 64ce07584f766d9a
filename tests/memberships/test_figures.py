"""Coverage statistics and the members export after retained, withdrawn and removed members: they add up."""

from __future__ import annotations

import csv
import io

import pytest

FIGURES = ("active_members", "retained_members", "withdrawn_members", "removed_members")


@pytest.fixture
def mixed(client, nanjing, make_member, change_status):
    """Five members: in the express union one each active, retained (held by the city), withdrawn and removed;
    one active rider of the Xuanwu federation."""
    _active, retained, withdrawn, removed = (make_member() for _ in range(4))
    make_member(join_token=nanjing.rider_code.token, occupation="food_delivery_rider")

    change_status(retained, "retained", "失业")
    change_status(removed, "removed", "违反章程")
    left = client.post("/api/v1/me/membership/withdraw", json={"reason": "个人"}, headers=withdrawn.headers)
    assert left.status_code == 200


def _coverage(client, headers, **query):
    response = client.get("/api/v1/stats/coverage", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _sums(rows):
    return {name: sum(row["figures"][name] for row in rows) for name in FIGURES}


@pytest.mark.parametrize("by", ["union", "occupation", "employment_form", "region", "station"])
def test_every_grouping_adds_up_to_the_total(client, nanjing, make_officer, mixed, by):
    _, headers = make_officer(nanjing.province, "viewer")
    body = _coverage(client, headers, by=by)
    total = {name: body["total"][name] for name in FIGURES}
    assert total == {"active_members": 2, "retained_members": 1, "withdrawn_members": 1, "removed_members": 1}
    assert _sums(body["items"]) == total


def test_retained_members_count_with_the_union_that_holds_them(client, nanjing, make_officer, mixed):
    _, headers = make_officer(nanjing.city, "viewer")
    rows = {row["key"]: row["figures"] for row in _coverage(client, headers, by="union")["items"]}
    city, express, xuanwu = (rows[str(u.id)] for u in (nanjing.city, nanjing.express, nanjing.xuanwu))
    assert {name: city[name] for name in FIGURES} == dict.fromkeys(FIGURES, 0) | {"retained_members": 1}
    assert {name: express[name] for name in FIGURES} == {
        "active_members": 1,
        "retained_members": 0,
        "withdrawn_members": 1,
        "removed_members": 1,
    }
    assert xuanwu["active_members"] == 1
    # The tree adds up level by level: the province's row of the city is the city's whole subtree.
    _, province = make_officer(nanjing.province, "viewer")
    city_subtree = {row["key"]: row["figures"] for row in _coverage(client, province, by="union")["items"]}[
        str(nanjing.city.id)
    ]
    assert {name: city_subtree[name] for name in FIGURES} == _sums([{"figures": f} for f in rows.values()])


def test_the_members_export_lists_active_and_retained_members_with_their_status(client, nanjing, make_officer, mixed):
    _, headers = make_officer(nanjing.province, "reviewer")
    with client.get("/api/v1/exports/members.csv", headers=headers) as response:
        assert response.status_code == 200
        header, *rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    assert header[-2:] == ["会籍状态", "状态变更时间"]
    by_status = sorted((row[4], row[-2]) for row in rows)
    assert by_status == [("南京市快递行业工会联合会", "正常"), ("南京市总工会", "保留会籍"), ("玄武区总工会", "正常")]
    coverage = _coverage(client, headers, by="union")["total"]
    assert len(rows) == coverage["active_members"] + coverage["retained_members"]
