"""Exports honour ``union_id`` as the statistics do: a union in scope narrows to its subtree, any other is a 404."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent


@pytest.fixture
def spread(coverage_tree, file_application):
    """One member in each of 玄武区, 新街口街道 (below 玄武区), 秦淮区 and 姑苏区."""
    for union, station, name in (
        (coverage_tree.xuanwu, coverage_tree.depot, "玄武甲"),
        (coverage_tree.xinjiekou, coverage_tree.depot, "街道乙"),
        (coverage_tree.qinhuai, coverage_tree.rider_point, "秦淮丙"),
        (coverage_tree.gusu, coverage_tree.suzhou_point, "姑苏丁"),
    ):
        file_application(union, station, status="approved", decided_after_days=1, name=name)


def _unions(client, headers, kind, **query) -> tuple[int, set[str]]:
    with client.get(f"/api/v1/exports/{kind}.csv", query_string=query, headers=headers) as response:
        if response.status_code != 200:
            return response.status_code, set()
        header, *rows = csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline=""))
    column = header.index("所属工会" if kind == "members" else "受理工会")
    return 200, {row[column] for row in rows}


@pytest.mark.parametrize("kind", ["members", "applications"])
def test_union_id_narrows_the_export_to_that_unions_subtree(client, make_officer, coverage_tree, spread, kind):
    _, headers = make_officer(coverage_tree.nanjing, "viewer")
    assert _unions(client, headers, kind) == (200, {"玄武区总工会", "新街口街道总工会", "秦淮区总工会"})
    assert _unions(client, headers, kind, union_id=str(coverage_tree.xuanwu.id)) == (
        200,
        {"玄武区总工会", "新街口街道总工会"},
    )
    assert _unions(client, headers, kind, union_id=str(coverage_tree.qinhuai.id)) == (200, {"秦淮区总工会"})
    assert (
        _unions(client, headers, kind, union_id=str(coverage_tree.nanjing.id))[1] == _unions(client, headers, kind)[1]
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("union_id", ["gusu", "province", "999999999", "not-an-id", "-1"])
def test_a_union_outside_the_scope_is_not_found(client, make_officer, coverage_tree, spread, session, union_id, fmt):
    _, headers = make_officer(coverage_tree.nanjing, "admin")
    union = getattr(coverage_tree, union_id, None)
    query = {"union_id": str(union.id) if union else union_id, "unmasked": "1"}
    with client.get(f"/api/v1/exports/members.{fmt}", query_string=query, headers=headers) as response:
        assert response.status_code == 404
        assert response.get_json()["code"] == "not_found"
    # Nothing was exported, so nothing unmasked was audited.
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_an_unmasked_export_of_a_subtree_audits_which_union(client, make_officer, coverage_tree, spread, session):
    officer, headers = make_officer(coverage_tree.nanjing, "admin")
    query = {"union_id": str(coverage_tree.xuanwu.id), "unmasked": "1"}
    assert _unions(client, headers, "members", **query) == (200, {"玄武区总工会", "新街口街道总工会"})
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export.unmasked")).one()
    assert (event.actor_id, event.union_path) == (officer.id, coverage_tree.nanjing.path)
    assert event.details["union_id"] == str(coverage_tree.xuanwu.id)
