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
from app.stats.models import SUMMARY_COUNTS, CoverageSummary, CoverageSummaryDelta
from app.stats.summary import KEY, summary_rows
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
    # And the table itself: what the triggers kept (with the deltas not yet folded) equals what the migration's
    # backfill builds from the rows.
    assert sorted(_kept(session)) == sorted(_rebuilt(session))
    session.rollback()


def _kept(session) -> list[tuple[Any, ...]]:
    """The summary's rows with the deltas added in, the keys that count something."""
    rows = summary_rows()
    keys = [rows.c[c] for c in KEY]
    sums = [sa.func.sum(rows.c[c]) for c in SUMMARY_COUNTS]
    kept = session.execute(sa.select(*keys, *sums).group_by(*keys).having(sa.or_(*(s != 0 for s in sums)))).all()
    return [tuple(row) for row in kept]


def _rebuilt(session) -> list[tuple[Any, ...]]:
    rebuilt = session.execute(sa.text(_migration().backfill_select(session.get_bind().dialect.name))).all()
    return [tuple(row) for row in rebuilt]


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
    app, client, runner, session, nanjing, make_worker, make_member, reviewer, change_status, make_officer, exact
):
    exact()  # empty
    members = [make_member() for _ in range(4)]
    make_member(join_token=nanjing.rider_code.token, occupation="food_delivery_rider")
    pending = [_submit(client, make_worker, nanjing, serial)[0] for serial in range(1, 5)]
    _submit(client, make_worker, nanjing, 5, join_token=nanjing.suzhou_code.token)
    exact()  # submits and approvals
    # Three of each in the summary (a row per kind): the five members and the five pending, one in Suzhou.
    rows = summary_rows()
    sums = session.execute(sa.select(sa.func.sum(rows.c.members), sa.func.sum(rows.c.pending))).one()
    assert tuple(sums) == (15, 15)
    session.rollback()

    _decide(client, reviewer[1], pending[0], "reject", reason="材料不全")
    _decide(client, reviewer[1], pending[1], "return", reason="请补充")
    exact()  # a rejection, a return

    folded = runner.invoke(args=["outbox", "run", "--once"])  # the worker folds the deltas between its rounds
    assert folded.exit_code == 0, folded.output
    assert session.scalar(sa.select(sa.func.count()).select_from(CoverageSummaryDelta)) == 0
    session.rollback()
    exact()  # the same figures from the summary alone

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


def _deltas(session) -> int:
    count = session.scalar(sa.select(sa.func.count()).select_from(CoverageSummaryDelta))
    session.rollback()
    return int(count or 0)


def test_on_postgresql_submits_append_deltas_and_the_fold_adds_them_to_the_summary_once(
    app, client, runner, session, nanjing, make_worker, exact
):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite's triggers add to the summary directly (one writer at a time)")
    _submit(client, make_worker, nanjing, 1)
    _submit(client, make_worker, nanjing, 2)
    # Each submit appended its own rows, one per kind, and left the summary's rows alone.
    assert _deltas(session) == 6
    assert session.scalar(sa.select(sa.func.count()).select_from(CoverageSummary)) == 0
    session.rollback()
    exact()
    for _ in range(2):  # a second fold finds nothing to add: each delta is added once
        folded = runner.invoke(args=["outbox", "run", "--once"])
        assert folded.exit_code == 0, folded.output
        assert _deltas(session) == 0
        exact()
    pending = session.scalar(sa.select(sa.func.sum(CoverageSummary.pending)).where(CoverageSummary.kind == "region"))
    assert pending == 2


def test_on_postgresql_two_submits_of_one_union_do_not_wait_for_each_other(app, client, session, nanjing, make_worker):
    """A depot's submits share the summary's keys; neither holds a lock the other needs until it commits."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    first, _ = _submit(client, make_worker, nanjing, 1)
    second, _ = _submit(client, make_worker, nanjing, 2)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["outbox", "run", "--once"]).exit_code == 0  # the keys are rows of the summary now
    engine = app.extensions["ruhui.engine"]
    decided = {"status": "rejected", "decided_at": utcnow(), "decision_hours": 1}
    with engine.connect() as one, engine.connect() as other:
        # The first decision's transaction stays open, as a submit's does until its commit.
        one.execute(sa.update(Application).where(Application.id == int(first)).values(**decided))
        other.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
        # The same key's counts change in the other transaction: it would time out waiting if either locked them.
        other.execute(sa.update(Application).where(Application.id == int(second)).values(**decided))
        other.commit()
        one.commit()
    assert _deltas(session) == 12  # per statement and kind: the pending one less, the rejected one more
    assert sorted(_kept(session)) == sorted(_rebuilt(session))
