"""Coverage figures: sums that agree at every level of the union tree and for officers at every level."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from typing import Any

import pytest

from tests.conftest import NOW

FIGURES = (
    "active_members", "retained_members", "withdrawn_members", "removed_members",
    "pending", "overdue", "approved", "rejected",
)  # fmt: skip


@pytest.fixture
def seeded(coverage_tree, file_application):
    """Applications on every level, in every state; returns the expected own counts per union."""
    t = coverage_tree
    plan: list[tuple[Any, Any, str, dict[str, Any]]] = [
        # (union, station, status, extra)
        (t.province, t.suzhou_point, "pending", {"due_in_days": -1, "route_rule": "fallback"}),
        (t.province, t.suzhou_point, "approved", {"decided_after_days": 4, "occupation": "domestic_worker"}),
        (t.nanjing, t.depot, "approved", {"decided_after_days": 1}),
        (t.nanjing, t.depot, "rejected", {"decided_after_days": 3}),
        (t.xuanwu, t.depot, "pending", {}),
        (t.xuanwu, t.depot, "pending", {"due_in_days": -2}),
        (t.xuanwu, t.depot, "approved", {"decided_after_days": 2, "employment_form": "contract"}),
        (t.xinjiekou, t.depot, "approved", {"decided_after_days": 10}),
        (t.xinjiekou, t.depot, "approved", {"decided_after_days": 6, "membership": "transferred_out"}),
        (t.xinjiekou, t.depot, "withdrawn", {}),
        (t.qinhuai, t.rider_point, "approved", {"decided_after_days": 5, "occupation": "food_delivery_rider"}),
        (t.qinhuai, t.rider_point, "returned", {"occupation": "food_delivery_rider"}),
        (t.express, t.depot, "approved", {"decided_after_days": 1}),
        (t.express, t.depot, "pending", {"due_in_days": -3}),
        (t.suzhou, t.suzhou_point, "rejected", {"decided_after_days": 7, "occupation": "domestic_worker"}),
        (t.gusu, t.suzhou_point, "approved", {"decided_after_days": 2, "occupation": "domestic_worker"}),
        # Decided long ago: outside a period that starts 30 days back.
        (t.gusu, t.suzhou_point, "approved", {"submitted_days_ago": 100, "decided_after_days": 1}),
    ]
    for union, station, status, extra in plan:
        file_application(union, station, status=status, **extra)
    return plan


def _expected(plan, unions, *, since=None):
    """Counts straight from the plan: what the rows of ``unions`` add up to."""
    ids = {u.id for u in unions}
    figures = dict.fromkeys(FIGURES, 0)
    durations = []
    for union, _, status, extra in plan:
        if union.id not in ids:
            continue
        if status == "pending":
            figures["pending"] += 1
            figures["overdue"] += extra.get("due_in_days", 5) < 0
        if status in ("approved", "rejected"):
            decided = NOW - dt.timedelta(days=extra.get("submitted_days_ago", 10) - extra["decided_after_days"])
            if since is None or decided >= since:
                figures[status] += 1
                durations.append(extra["decided_after_days"])
        if status == "approved" and extra.get("membership", "active") == "active":
            figures["active_members"] += 1
    return figures, durations


def _subtree(tree, union):
    return [u for u in [*tree.all(), tree.suzhou, tree.gusu] if u.path.startswith(union.path)]


def _coverage(client, headers, **query):
    response = client.get("/api/v1/stats/coverage", query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_every_union_total_is_its_own_plus_its_children(client, make_officer, coverage_tree, seeded):
    _, headers = make_officer(coverage_tree.province, "admin")
    for union in [*coverage_tree.all(), coverage_tree.suzhou, coverage_tree.gusu]:
        body = _coverage(client, headers, by="union", union_id=str(union.id))
        own, *children = body["items"]
        assert own["own"] is True and own["key"] == str(union.id)
        assert {c["key"] for c in children} == {
            str(u.id) for u in _subtree(coverage_tree, union) if u.parent_id == union.id
        }
        expected_total, _ = _expected(seeded, _subtree(coverage_tree, union))
        expected_own, _ = _expected(seeded, [union])
        for name in FIGURES:
            assert body["total"][name] == expected_total[name], (union.name, name)
            assert own["figures"][name] == expected_own[name], (union.name, name)
            assert body["total"][name] == sum(item["figures"][name] for item in body["items"])
        for child in children:
            drilled = _coverage(client, headers, by="union", union_id=child["key"])
            assert drilled["total"] == child["figures"]


def test_officers_at_three_levels_see_figures_that_agree(client, make_officer, coverage_tree, seeded):
    _, province_admin = make_officer(coverage_tree.province, "admin")
    _, city_viewer = make_officer(coverage_tree.nanjing, "viewer")
    _, district_reviewer = make_officer(coverage_tree.xuanwu, "reviewer")

    province = _coverage(client, province_admin, by="union")
    city = _coverage(client, city_viewer, by="union")
    district = _coverage(client, district_reviewer, by="union")

    assert {i["key"]: i["figures"] for i in province["items"]}[str(coverage_tree.nanjing.id)] == city["total"]
    assert {i["key"]: i["figures"] for i in city["items"]}[str(coverage_tree.xuanwu.id)] == district["total"]
    assert district["union"]["id"] == str(coverage_tree.xuanwu.id)
    assert district["total"]["pending"] == 2 and district["total"]["overdue"] == 1
    assert district["total"]["active_members"] == 2  # the transferred-out membership no longer counts
    # The median of the district's decisions (2, 10 and 6 days) is 6 days.
    assert district["total"]["median_days_to_decision"] == pytest.approx(6.0, abs=0.01)
    # Nothing above one's own union can be asked for.
    response = client.get(
        "/api/v1/stats/coverage", query_string={"by": "union", "union_id": str(coverage_tree.nanjing.id)},
        headers=district_reviewer,
    )  # fmt: skip
    assert response.status_code == 404


@pytest.mark.parametrize("by", ["occupation", "region", "station", "employment_form"])
def test_every_grouping_adds_up_to_the_same_total(client, make_officer, coverage_tree, seeded, by):
    _, headers = make_officer(coverage_tree.province, "admin")
    by_union = _coverage(client, headers, by="union")
    grouped = _coverage(client, headers, by=by)
    assert grouped["total"] == by_union["total"]
    for name in FIGURES:
        assert sum(item["figures"][name] for item in grouped["items"]) == grouped["total"][name]
    _, city = make_officer(coverage_tree.nanjing, "viewer")
    assert _coverage(client, city, by=by)["total"] == _coverage(client, city, by="union")["total"]


def test_groups_are_labelled_in_chinese(client, make_officer, coverage_tree, seeded):
    _, headers = make_officer(coverage_tree.province, "viewer")
    occupations = {i["key"]: i for i in _coverage(client, headers, by="occupation")["items"]}
    assert occupations["courier"]["label"] == "快递员"
    assert occupations["security_guard"]["figures"]["pending"] == 0  # every one of the eight groups is listed
    assert occupations["food_delivery_rider"]["figures"]["approved"] == 1
    regions = {i["key"]: i["label"] for i in _coverage(client, headers, by="region")["items"]}
    assert regions["320104"] == "南京市秦淮区"
    stations = {i["key"]: i["label"] for i in _coverage(client, headers, by="station")["items"]}
    assert stations[str(coverage_tree.rider_point.id)] == "秦淮骑手驿站"


def test_the_period_limits_decisions_and_medians(client, make_officer, coverage_tree, seeded):
    _, headers = make_officer(coverage_tree.province, "admin")
    since = NOW - dt.timedelta(days=30)
    body = _coverage(
        client, headers, by="union", since=since.isoformat(), until=(NOW + dt.timedelta(days=1)).isoformat()
    )
    expected, durations = _expected(seeded, _subtree(coverage_tree, coverage_tree.province), since=since)
    assert body["total"]["approved"] == expected["approved"]
    all_time = _coverage(client, headers, by="union")
    assert all_time["total"]["approved"] == body["total"]["approved"] + 1
    durations.sort()
    middle = len(durations) // 2
    median = durations[middle] if len(durations) % 2 else (durations[middle - 1] + durations[middle]) / 2
    assert body["total"]["median_days_to_decision"] == pytest.approx(median, abs=0.01)


def test_no_decisions_means_no_median(client, make_officer, coverage_tree):
    _, headers = make_officer(coverage_tree.province, "viewer")
    body = _coverage(client, headers, by="union")
    assert body["total"] == {
        "active_members": 0, "pending": 0, "overdue": 0, "approved": 0, "rejected": 0,
        "retained_members": 0, "withdrawn_members": 0, "removed_members": 0, "median_days_to_decision": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({}, 422),
        ({"by": "colour"}, 422),
        ({"by": "union", "union_id": "abc"}, 404),
        ({"by": "union", "union_id": "99999999999999999999999"}, 404),
        ({"by": "union", "union_id": "999999999"}, 404),
        ({"by": "union", "since": "2026-01-01"}, 422),
        ({"by": "union", "since": "2026-01-01T00:00:00"}, 422),
        ({"by": "union", "since": "2026-02-01T00:00:00+08:00", "until": "2026-01-01T00:00:00+08:00"}, 422),
        ({"by": "union", "since": "x" * 5000}, 422),
    ],
)
def test_bad_queries_are_client_errors(client, make_officer, coverage_tree, query, status):
    _, headers = make_officer(coverage_tree.province, "viewer")
    response = client.get("/api/v1/stats/coverage", query_string=query, headers=headers)
    assert response.status_code == status
    assert response.json["code"] in ("validation_error", "not_found")


@pytest.mark.parametrize(
    "path", ["/api/v1/stats/coverage?by=union", "/api/v1/stats/funnel", "/api/v1/stats/blind-spots"]
)
def test_statistics_are_for_officers_only(client, coverage_tree, path):
    assert client.get(path).status_code == 401


# Whole hours to decision per occupation, and the median in days each group must show.
MEDIAN_CASES = {
    "courier": ([48], 2.0),
    "truck_driver": ([48, 240], 6.0),  # even: the mean of the two middle values
    "caregiver": ([240, 48, 144], 6.0),
    "domestic_worker": ([12, 12, 12, 36], 0.5),
    "mall_info_worker": ([0, 0, 36, 36], 0.75),
    "security_guard": ([], None),
}


def test_medians_of_every_group_and_of_the_total(client, make_officer, coverage_tree, file_application):
    for occupation, (hours, _) in MEDIAN_CASES.items():
        for status, h in zip(itertools.cycle(["approved", "rejected"]), hours, strict=False):
            # Half an hour more than the whole hours: the median counts whole hours.
            file_application(
                coverage_tree.nanjing,
                coverage_tree.depot,
                status=status,
                occupation=occupation,
                decided_after_days=(h + 0.5) / 24,
            )
    file_application(
        coverage_tree.nanjing, coverage_tree.depot, occupation="security_guard"
    )  # pending: no decision, no median
    _, headers = make_officer(coverage_tree.province, "viewer")

    body = _coverage(client, headers, by="occupation")

    medians = {item["key"]: item["figures"]["median_days_to_decision"] for item in body["items"]}
    assert {key: medians[key] for key in MEDIAN_CASES} == {key: median for key, (_, median) in MEDIAN_CASES.items()}
    every = [h for hours, _ in MEDIAN_CASES.values() for h in hours]
    assert body["total"]["median_days_to_decision"] == round(statistics.median(every) / 24, 2)
    assert body["total"]["approved"] + body["total"]["rejected"] == len(every)


def test_stations_come_a_page_at_a_time_and_add_up_to_the_total(
    client, make_officer, session, coverage_tree, file_application
):
    from app.directory.models import Station

    stations = [coverage_tree.depot, coverage_tree.rider_point, coverage_tree.suzhou_point]
    for n in range(4):
        extra = Station(
            name=f"新街口快递点{n}", union_id=coverage_tree.xinjiekou.id, region_code="320102", occupation="courier"
        )
        session.add(extra)
        session.flush()
        stations.append(extra)
    session.commit()
    for i, station in enumerate(stations):
        file_application(coverage_tree.xinjiekou, station, status="approved", decided_after_days=i + 1)
        file_application(coverage_tree.xinjiekou, station)
    quiet = Station(
        name="无人申请的点部", union_id=coverage_tree.xinjiekou.id, region_code="320102", occupation="courier"
    )
    session.add(quiet)
    session.commit()
    _, headers = make_officer(coverage_tree.province, "viewer")

    pages, cursor = [], None
    while True:
        body = _coverage(client, headers, by="station", limit=3, **({"cursor": cursor} if cursor else {}))
        pages.append(body)
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert [len(page["items"]) for page in pages] == [3, 3, 1]
    keys = [item["key"] for page in pages for item in page["items"]]
    assert keys == sorted((str(s.id) for s in stations), key=int)  # each station once, in id order; none empty
    assert all(page["total"] == pages[0]["total"] for page in pages)
    for name in FIGURES:
        assert sum(item["figures"][name] for page in pages for item in page["items"]) == pages[0]["total"][name]
    assert pages[0]["total"]["pending"] == 7 and pages[0]["total"]["approved"] == 7
    first = pages[0]["items"][0]
    assert first["label"] == coverage_tree.depot.name and first["figures"]["median_days_to_decision"] == 1.0
    # Other groupings come whole.
    occupations = _coverage(client, headers, by="occupation", limit=1)
    assert len(occupations["items"]) >= 8 and occupations["next_cursor"] is None


def test_a_forged_station_cursor_is_a_client_error(client, make_officer, coverage_tree):
    _, headers = make_officer(coverage_tree.province, "viewer")
    response = client.get(
        "/api/v1/stats/coverage", query_string={"by": "station", "cursor": "bm90LWEtY3Vyc29y"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json["code"] == "validation_error" and "cursor" in response.json["errors"]


def test_moving_a_union_takes_its_applications_along(client, make_officer, coverage_tree, file_application):
    """新街口街道 moves from 玄武区 straight under 南京市: its applications leave 玄武区's queue and figures."""
    file_application(coverage_tree.xinjiekou, coverage_tree.depot)
    file_application(coverage_tree.xinjiekou, coverage_tree.depot, status="approved", decided_after_days=2)
    _, city_admin = make_officer(coverage_tree.nanjing, "admin")
    _, district = make_officer(coverage_tree.xuanwu, "reviewer")
    assert _coverage(client, district, by="union")["total"]["pending"] == 1

    moved = client.patch(
        f"/api/v1/unions/{coverage_tree.xinjiekou.id}",
        json={"parent_id": str(coverage_tree.nanjing.id)},
        headers=city_admin,
    )
    assert moved.status_code == 200, moved.json

    assert _coverage(client, district, by="union")["total"] == {
        **dict.fromkeys(FIGURES, 0),
        "median_days_to_decision": None,
    }
    queue = client.get("/api/v1/review/applications", headers=district)
    assert queue.status_code == 200 and queue.json["items"] == []
    city = {item["key"]: item["figures"] for item in _coverage(client, city_admin, by="union")["items"]}
    assert (
        city[str(coverage_tree.xinjiekou.id)]["pending"] == 1
        and city[str(coverage_tree.xinjiekou.id)]["active_members"] == 1
    )
    assert str(coverage_tree.xuanwu.id) in city and city[str(coverage_tree.xuanwu.id)]["pending"] == 0
