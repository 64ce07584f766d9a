"""The founding ledger's figures add up across the union tree, for officers at every level, and a liaison's too."""

from __future__ import annotations

import pytest

from tests.founding.ledger import add_target

STATS = "/api/v1/stats/founding"
UNBUILT = "/api/v1/stats/founding/unbuilt"
COUNTS = ("targets", "with_union", "overdue", "in_progress_total")


def _counts(figures):
    return {name: figures[name] for name in COUNTS} | {"in_progress": figures["in_progress"]}


def _sum(rows):
    total = dict.fromkeys(COUNTS, 0)
    stages: dict[str, int] = {}
    for row in rows:
        for name in COUNTS:
            total[name] += row["figures"][name]
        for stage, count in row["figures"]["in_progress"].items():
            stages[stage] = stages.get(stage, 0) + count
    return total | {"in_progress": stages}


def test_the_rows_add_up_to_the_total_at_every_level_and_for_every_officer(client, tree, ledger, make_officer):
    t = tree
    _, province = make_officer(t.province, "viewer")
    _, nanjing = make_officer(t.nanjing, "reviewer")
    _, xuanwu = make_officer(t.xuanwu, "viewer")

    top = client.get(STATS, query_string={"by": "union"}, headers=province).get_json()
    labels = [row["label"] for row in top["items"]]
    assert labels == ["江苏省总工会（本级）", "南京市总工会", "苏州市总工会", "省快递总部工会"]
    assert _sum(top["items"]) == _counts(top["total"])
    assert top["total"]["targets"] == 10  # the one that left its list is not counted
    assert top["total"]["with_union"] == 4  # three enterprise unions and one joint union
    assert top["total"]["founding_rate"] == 0.4
    assert top["total"]["in_progress"] == {
        "identified": 1, "contacted": 1, "preparing": 1, "recruiting": 1,
        "congress_held": 0, "election_approved": 0, "registered": 0, "deferred": 1,
    }  # fmt: skip
    assert top["total"]["overdue"] == 3  # the deferred one is late too

    # Nanjing's row seen from the province is Nanjing's total seen by Nanjing, and splits again.
    nanjing_row = next(row for row in top["items"] if row["key"] == str(t.nanjing.id))
    mine = client.get(STATS, query_string={"by": "union"}, headers=nanjing).get_json()
    assert _counts(mine["total"]) == _counts(nanjing_row["figures"])
    assert _sum(mine["items"]) == _counts(mine["total"])
    own, xuanwu_row, gulou_row = mine["items"]
    assert own["own"] is True and (own["figures"]["targets"], own["figures"]["with_union"]) == (2, 0)
    assert own["figures"]["in_progress_total"] == 1 and own["figures"]["overdue"] == 1
    assert xuanwu_row["figures"]["targets"] == 3 and xuanwu_row["figures"]["with_union"] == 2
    assert xuanwu_row["figures"]["founding_rate"] == pytest.approx(0.6667)
    assert xuanwu_row["figures"]["in_progress"]["recruiting"] == 1  # the case counts for its responsible union
    assert gulou_row["figures"]["in_progress"]["deferred"] == 1 and gulou_row["figures"]["founding_rate"] == 0.0

    # Drilling down with union_id gives the child's own view.
    drilled = client.get(STATS, query_string={"by": "union", "union_id": t.xuanwu.id}, headers=nanjing).get_json()
    seen_by_xuanwu = client.get(STATS, query_string={"by": "union"}, headers=xuanwu).get_json()
    assert _counts(drilled["total"]) == _counts(seen_by_xuanwu["total"]) == _counts(xuanwu_row["figures"])


@pytest.mark.parametrize("by", ["region", "sector", "source"])
def test_every_grouping_adds_up_to_the_same_total(client, tree, ledger, make_officer, by):
    _, headers = make_officer(tree.province, "admin")
    union = client.get(STATS, query_string={"by": "union"}, headers=headers).get_json()
    grouped = client.get(STATS, query_string={"by": by}, headers=headers).get_json()
    assert grouped["by"] == by
    assert _sum(grouped["items"]) == _counts(grouped["total"]) == _counts(union["total"])


def test_sectors_and_sources_are_listed_whole_with_their_names(client, tree, ledger, make_officer):
    _, headers = make_officer(tree.province, "admin")
    sectors = client.get(STATS, query_string={"by": "sector"}, headers=headers).get_json()["items"]
    assert len(sectors) == 16 and sectors[0] == {
        "key": "internet", "label": "互联网企业",
        "figures": {"targets": 0, "with_union": 0, "founding_rate": None, "overdue": 0, "in_progress_total": 0,
                    "in_progress": dict.fromkeys(sectors[0]["figures"]["in_progress"], 0)},
    }  # fmt: skip
    express = next(row for row in sectors if row["key"] == "express_delivery")
    assert (express["label"], express["figures"]["targets"], express["figures"]["with_union"]) == ("快递企业", 5, 3)
    regions = client.get(STATS, query_string={"by": "region"}, headers=headers).get_json()["items"]
    assert {row["key"]: row["label"] for row in regions}["320102"] == "南京市玄武区"


def test_an_officer_below_sees_nothing_of_a_sibling(client, tree, ledger, make_officer):
    _, headers = make_officer(tree.suzhou, "viewer")
    response = client.get(STATS, query_string={"by": "union", "union_id": tree.nanjing.id}, headers=headers)
    assert response.status_code == 404
    mine = client.get(STATS, query_string={"by": "sector"}, headers=headers).get_json()["total"]
    assert (mine["targets"], mine["with_union"]) == (2, 1)


def test_bad_grouping_is_a_field_error(client, tree, make_officer):
    _, headers = make_officer(tree.province, "admin")
    response = client.get(STATS, query_string={"by": "occupation"}, headers=headers)
    assert response.status_code == 422 and "by" in response.get_json()["errors"]


def test_unbuilt_units_come_largest_first_flagged_when_big_and_old(client, tree, ledger, make_officer):
    _, headers = make_officer(tree.province, "admin")
    first = client.get(UNBUILT, query_string={"limit": 3}, headers=headers).get_json()
    names = [unit["name"] for unit in first["items"]]
    assert names == ["宁城配", "玄武快递", "鼓楼货运"]
    flags = {unit["name"]: unit["flagged"] for unit in first["items"]}
    assert flags == {"宁城配": True, "玄武快递": False, "鼓楼货运": True}  # 玄武快递 is two years old
    assert first["items"][0]["case"]["stage"] == "preparing" and first["items"][0]["years"] >= 16
    rest = client.get(UNBUILT, query_string={"limit": 3, "cursor": first["next_cursor"]}, headers=headers).get_json()
    # Then the rest; equal headcounts newest first; none founded, joint or gone.
    assert [unit["name"] for unit in rest["items"]] == ["苏学校", "省货运", "宁律所"]
    assert rest["next_cursor"] is None


def test_unknown_headcounts_come_last(client, session, tree, ledger, make_officer):
    add_target(session, tree.nanjing, name="人数不详", headcount=None)
    session.commit()
    _, headers = make_officer(tree.province, "admin")
    units = client.get(UNBUILT, headers=headers).get_json()["items"]
    assert units[-1]["name"] == "人数不详" and units[-1]["headcount"] is None and units[-1]["flagged"] is False


def test_a_bad_unbuilt_cursor_is_a_field_error(client, tree, make_officer):
    _, headers = make_officer(tree.province, "admin")
    response = client.get(UNBUILT, query_string={"cursor": "nonsense"}, headers=headers)
    assert response.status_code == 422 and "cursor" in response.get_json()["errors"]
