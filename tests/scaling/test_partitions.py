"""join_scans and audit_events: monthly partitions on PostgreSQL, plain tables on SQLite; the cron commands.

What an operator notices: a scan lands in its month's partition; ``partitions ensure``
creates months ahead and moves rows the default partition caught into their month;
``partitions drop-scans-before`` drops whole months of scans but refuses any month
inside the documented retention; audit events stay append-only.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from app import partitions
from app.audit.models import AuditEvent
from app.db import utcnow
from app.joincodes.models import JoinScan
from app.partitions import SCAN_RETENTION_MONTHS, Month


def _partition_of(session, model, row_id: int) -> str:
    statement = f"SELECT tableoid::regclass::text FROM {model.__tablename__} WHERE id = :id"  # noqa: S608  # a model's table name
    return str(session.scalar(sa.text(statement), {"id": row_id}))


def _scan(session, code, at: dt.datetime | None = None) -> JoinScan:
    scan = JoinScan(join_code_id=code.id, channel="web", **({"scanned_at": at} if at else {}))
    session.add(scan)
    session.commit()
    return scan


@pytest.mark.parametrize("model", [JoinScan, AuditEvent])
def test_the_tables_are_partitioned_by_month_on_postgres_and_plain_on_sqlite(session, is_postgres, model):
    table = model.__table__
    key = partitions.PARTITIONED[table.name]
    primary_key = sa.inspect(session.get_bind()).get_pk_constraint(table.name)["constrained_columns"]
    if not is_postgres:
        assert primary_key == ["id"]  # SQLite: a plain table keyed by its rowid
        assert partitions.is_partitioned(session.connection(), table.name) is False
        return
    assert table.dialect_options["postgresql"]["partition_by"] == f"RANGE ({key})"  # what the model declares
    strategy, column = session.execute(
        sa.text(
            "SELECT p.partstrat, a.attname FROM pg_partitioned_table p"
            " JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
            " WHERE p.partrelid = to_regclass(:table)"
        ),
        {"table": table.name},
    ).one()
    assert (strategy, column) == ("r", key)
    assert sorted(primary_key) == sorted(c.name for c in table.primary_key.columns) == sorted(["id", key])
    this_month = Month.of(utcnow())
    months = partitions.month_partitions(session.connection(), table.name)
    assert [this_month.plus(n) for n in range(partitions.MONTHS_AHEAD + 1)] == [m for m in months if m >= this_month]


@pytest.mark.postgres
def test_a_scan_lands_in_its_months_partition_and_audit_events_stay_append_only(session, client, nanjing):
    assert client.get(f"/api/v1/join/{nanjing.code.token}").status_code == 200
    scan_id = session.scalar(sa.select(JoinScan.id).where(JoinScan.join_code_id == nanjing.code.id))
    assert _partition_of(session, JoinScan, scan_id) == Month.of(utcnow()).partition("join_scans")

    event = AuditEvent(actor_kind="system", action="test.partitioned", object_type="test", object_id="1",
                       union_path="/1/", details={})  # fmt: skip
    session.add(event)
    session.commit()
    assert _partition_of(session, AuditEvent, event.id) == Month.of(utcnow()).partition("audit_events")
    session.rollback()
    with pytest.raises(sa.exc.DBAPIError, match=r"append-only"):
        session.execute(sa.text("UPDATE audit_events SET action = 'rewritten' WHERE id = :id"), {"id": event.id})
    session.rollback()


@pytest.mark.postgres
def test_ensure_creates_months_ahead_and_moves_what_the_default_caught(session, runner, nanjing):
    now = utcnow()
    long_ago = Month.of(now).plus(-30)
    old = _scan(session, nanjing.code, long_ago.start + dt.timedelta(days=3))
    assert _partition_of(session, JoinScan, old.id) == "join_scans_default"  # no partition for that month yet
    session.rollback()  # the command's DDL waits for no one's locks (lock_timeout): hold none

    result = runner.invoke(args=["partitions", "ensure", "--months-ahead", "5"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)["created"]
    assert long_ago.partition("join_scans") in created
    assert Month.of(now).plus(5).partition("join_scans") in created
    assert Month.of(now).plus(5).partition("audit_events") in created
    session.expire_all()
    assert _partition_of(session, JoinScan, old.id) == long_ago.partition("join_scans")
    # The months between are there too, and a second run has nothing left to do.
    months = partitions.month_partitions(session.connection(), "join_scans")
    assert months == sorted(set(months)) and all(months[i + 1] == months[i].plus(1) for i in range(len(months) - 1))
    session.rollback()
    again = runner.invoke(args=["partitions", "ensure", "--months-ahead", "5"])
    assert again.exit_code == 0 and json.loads(again.output) == {"created": []}


@pytest.mark.postgres
def test_drop_scans_before_drops_whole_old_months_and_refuses_the_retention(session, runner, nanjing):
    now = utcnow()
    long_ago = Month.of(now).plus(-30)
    old = _scan(session, nanjing.code, long_ago.start + dt.timedelta(hours=1)).id
    assert runner.invoke(args=["partitions", "ensure"]).exit_code == 0
    caught = _scan(session, nanjing.code, long_ago.plus(-1).start).id  # no partition for it: the default holds it
    recent = _scan(session, nanjing.code).id
    session.rollback()

    inside = Month.of(now).plus(-SCAN_RETENTION_MONTHS + 1)
    refused = runner.invoke(args=["partitions", "drop-scans-before", str(inside)])
    assert refused.exit_code != 0 and f"{SCAN_RETENTION_MONTHS} whole months" in refused.output
    assert runner.invoke(args=["partitions", "drop-scans-before", "2026-13"]).exit_code != 0

    result = runner.invoke(args=["partitions", "drop-scans-before", str(long_ago.plus(1))])
    assert result.exit_code == 0, result.output
    assert long_ago.partition("join_scans") in json.loads(result.output)["dropped"]
    session.expire_all()
    left = set(session.scalars(sa.select(JoinScan.id).where(JoinScan.join_code_id == nanjing.code.id)))
    assert left == {recent} and old not in left and caught not in left
    assert long_ago.partition("join_scans") not in {
        m.partition("join_scans") for m in partitions.month_partitions(session.connection(), "join_scans")
    }
    session.rollback()


def test_the_commands_do_nothing_on_sqlite(runner, is_postgres):
    if is_postgres:
        pytest.skip("SQLite only")
    result = runner.invoke(args=["partitions", "ensure"])
    assert result.exit_code == 0 and json.loads(result.output) == {"created": []}
    dropped = runner.invoke(args=["partitions", "drop-scans-before", "2020-01"])
    assert dropped.exit_code != 0 and "not partitioned" in dropped.output


def test_months_parse_and_count_in_beijing_time():
    assert Month.parse("2026-12") == Month(2026, 12)
    assert Month(2026, 12).plus(1) == Month(2027, 1) and Month(2027, 1).plus(-13) == Month(2025, 12)
    assert Month.of(dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)) == Month(2026, 12)  # 00:00 in Beijing
    for bad in ("2026-13", "2026-1", "December"):
        with pytest.raises(partitions.PartitionError):
            Month.parse(bad)
