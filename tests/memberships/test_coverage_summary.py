"""The coverage summary (app.stats.models) is exact: after every kind of change, coverage read from it equals
coverage read from the applications, and the summary equals one rebuilt from the rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.actors import Actor
from app.db import utcnow
from app.enrollment.models import Application, Identity
from app.retention import service as retention_service
from app.stats import service as stats_service
from app.stats.models import CoverageSummary
from tests.conftest import form, id_number

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0024_coverage_summary.py"


def _migration() -> Any:
    spec = importlib.util.spec_from_file_location("coverage_summary_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _figures(result: stats_service.Coverage) -> Any:
    return [dataclasses.asdict(row) for row in result.items], dataclasses.asdict(result.total), result.next_cursor


def _assert_exact(session, monkeypatch, *unions):
    """Every grouping, for all time and for a period, from the summary and straight from the applications."""
    session.expire_all()
    now = utcnow()
    assert stats_service._summarised(unions[0].path, "union"), "the first union is read from the summary"
    for union in unions:
        scope = Actor.system(union.id, union.path)
        for by in stats_service.GROUPINGS:
            for since, until in ((None, None), (now - dt.timedelta(days=30), None), (now - dt.timedelta(hours=1), now)):
                read = {}
                for summarised in (True, False):
                    if not summarised:
                        monkeypatch.setattr(stats_service, "_summarised", lambda *_: False)
                    read[summarised] = _figures(
                        stats_service.coverage(session, scope, by=by, now=now, since=since, until=until)
                    )
                    session.rollback()
                    monkeypatch.undo()
                assert read[True] == read[False], (union.name, by, since)
    # And the table itself: what the triggers kept equals what the migration's backfill builds from the rows.
    counted = ("kind", "head", "value", "hours", "pending", "approved", "rejected", "members")
    kept = session.execute(
        sa.select(*(CoverageSummary.__table__.c[c] for c in counted)).where(
            sa.or_(CoverageSummary.pending != 0, CoverageSummary.approved != 0,
                   CoverageSummary.rejected != 0, CoverageSummary.members != 0)
        )
    ).all()  # fmt: skip
    rebuilt = session.execute(sa.text(_migration().backfill_select(session.get_bind().dialect.name))).all()
    assert sorted(map(tuple, kept)) == sorted(map(tuple, rebuilt))
    session.rollback()


def _submit(client, make_worker, nanjing, serial, **changes):
    _, headers = make_worker(f"1391234{serial:04d}")
    body = form(nanjing, id_number=id_number(serial), **changes)
    created = client.post("/api/v1/applications", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"], headers


def _decide(client, reviewer, application_id, action, **extra):
    response = client.post(
        f"/api/v1/review/applications/{application_id}/decision", json={"action": action, **extra}, headers=reviewer
    )
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def exact(session, monkeypatch, nanjing):
    # The province (every grouping from the summary), the city (all but by=union) and a district (none: the check
    # that the direct reading the others are compared with is itself what the figures were before).
    return lambda: _assert_exact(session, monkeypatch, nanjing.province, nanjing.city, nanjing.xuanwu)


def test_the_summary_follows_submits_decisions_status_changes_dissolution_and_erasure(
    app, client, session, nanjing, make_worker, make_member, reviewer, change_status, make_officer, exact
):
    exact()  # empty
    members = [make_member() for _ in range(4)]
    make_member(join_token=nanjing.rider_code.token, occupation="food_delivery_rider")
    pending = [_submit(client, make_worker, nanjing, serial)[0] for serial in range(1, 5)]
    _submit(client, make_worker, nanjing, 5, join_token=nanjing.suzhou_code.token)
    exact()  # submits and approvals
    # Three of each in the summary (a row per kind): the five members and the five pending, one in Suzhou.
    sums = session.execute(sa.select(sa.func.sum(CoverageSummary.members), sa.func.sum(CoverageSummary.pending))).one()
    assert tuple(sums) == (15, 15)
    session.rollback()

    _decide(client, reviewer[1], pending[0], "reject", reason="材料不全")
    _decide(client, reviewer[1], pending[1], "return", reason="请补充")
    exact()  # a rejection, a return

    change_status(members[0], "retained", "失业")
    change_status(members[1], "removed", "违反章程")
    left = client.post("/api/v1/me/membership/withdraw", json={"reason": "个人"}, headers=members[2].headers)
    assert left.status_code == 200
    exact()  # membership status changes

    _, province_admin = make_officer(nanjing.province, "admin")
    dissolved = client.post(
        f"/api/v1/unions/{nanjing.express.id}/dissolve", json={"reason": "企业注销"}, headers=province_admin
    )
    assert dissolved.status_code == 200, dissolved.get_json()
    exact()  # pending applications routed again, members retained above

    with app.app_context():
        rejected = session.get(Application, int(pending[0]))
        assert rejected is not None
        identity = session.get(Identity, rejected.identity_id)
        assert identity is not None
        retention_service.erase_identities(session, [identity], utcnow())
        session.commit()
    exact()  # an erasure keeps the rows the figures read

    with app.app_context():
        session.execute(sa.delete(Application).where(Application.id == int(pending[2])))
        session.commit()
    exact()  # a row deleted outright
