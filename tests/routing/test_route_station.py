"""Routing against the database: the snapshot holds only what matters, in a fixed few queries."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.directory import service as directory_service
from app.directory.models import Union
from app.routing import service


def test_the_snapshot_holds_the_candidates_and_nothing_else(session, tree, make_employer, make_station):
    hq = make_employer(tree.nanjing, region_code="320106")
    branch = make_employer(tree.xuanwu, parent=hq)
    enterprise = directory_service.add_union(
        session, name="总部工会", kind="enterprise", region_code="320100", parent=tree.nanjing, employer_id=hq.id
    )
    unrelated = make_employer(tree.gulou)
    directory_service.add_union(
        session,
        name="无关企业工会",
        kind="enterprise",
        region_code="320106",
        parent=tree.gulou,
        employer_id=unrelated.id,
    )
    directory_service.add_union(session, name="鼓楼楼宇工会", kind="regional", region_code="320106", parent=tree.gulou)
    session.commit()
    station = make_station(tree.xuanwu, employer=branch)

    snapshot = service.build_snapshot(session, service.station_facts(station), "courier")
    assert {u.name for u in snapshot.unions.values()} == {
        "江苏省总工会",
        "南京市总工会",
        "玄武区总工会",
        enterprise.name,
    }
    assert set(snapshot.employers) == {branch.id, hq.id}


def test_routing_costs_the_same_few_queries_however_big_the_directory(session, tree, make_station, count_queries):
    station = make_station(tree.xuanwu)

    def route_once():
        session.expire_all()
        fresh = session.get(type(station), station.id)
        with count_queries() as queries:
            service.route_station(session, fresh, "courier")
        return len(queries)

    small = route_once()
    parent = tree.gulou
    for index in range(300):
        session.add(
            Union(name=f"鼓楼某工会{index}", kind="regional", region_code="320106", parent_id=parent.id, path="")
        )
    session.flush()
    for union in session.scalars(sa.select(Union).where(Union.path == "")):
        union.path = f"{parent.path}{union.id}/"
    session.commit()
    assert route_once() == small <= 3


def test_no_accepting_federation_is_a_409_with_the_trace(client, make_officer, session, tree, make_station):
    station = make_station(tree.xuanwu)
    for union in (tree.province, tree.nanjing, tree.xuanwu):
        session.get(Union, union.id).accepting = False
    session.commit()
    _, headers = make_officer(tree.province, "admin")
    response = client.get(
        "/api/v1/routing/explain",
        query_string={"station_id": str(station.id), "occupation": "courier"},
        headers=headers,
    )
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "no_union_available"
    assert [step["outcome"] for step in body["trace"] if step["rule"] == "fallback"] == ["passed_over"] * 3


@pytest.mark.parametrize("union_id", [0, 10**9])
def test_union_summary_of_a_missing_union_is_not_found(session, union_id):
    from app.errors import NotFound

    with pytest.raises(NotFound):
        service.union_summary(session, union_id)
