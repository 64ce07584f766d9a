"""The province's coverage query over a million applications: it must answer within a second on PostgreSQL.

Seeds a scratch database (created on the DATABASE_URL server and dropped afterwards;
SQLite in a temporary file when DATABASE_URL is not PostgreSQL, with fewer rows) with
a Jiangsu-shaped tree (the province, 13 cities, 95 counties, 1,000 streets and 2,000
industry/regional unions under them), 10,000 stations, and then — in the database,
with ``INSERT … SELECT generate_series`` — 1,000,000 persons, identities and
applications (10% pending, a third of those overdue; 70% approved, 10% rejected, the
rest returned or withdrawn, spread over a year) and a membership for every approval.
Then it times ``stats.service.coverage`` for the province, the city of Nanjing and a
county, by each ``by=``, for all time and for the last 30 days (``by=station`` is a page of
50 stations with the subtree's total, as the API serves it: the first page, and the page
after the first 200 stations):

    DATABASE_URL=postgresql://… .venv/bin/python -m bench.coverage [--applications 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import migrate
from app.actors import Actor
from app.config import normalise_database_url
from app.db import create_db_engine, utcnow
from app.directory.models import Station, Union
from app.directory.regions import all_regions
from app.directory.vocabulary import EMPLOYMENT_FORMS, OCCUPATIONS
from app.stats import service as stats_service
from app.stats.service import GROUPINGS, coverage
from bench.union_subtree import scratch_database


def coverage_summary_backfill(dialect: str) -> str:
    """The backfill statement of the migration that made the coverage summary (the seeds skip its triggers)."""
    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0024_coverage_summary.py"
    spec = importlib.util.spec_from_file_location("coverage_summary_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    statement: str = module.backfill_sql(dialect)
    return statement


STREETS = 1_000
OTHER_UNIONS = 2_000
STATIONS = 10_000


def seed_directory(engine: sa.Engine, rng: random.Random) -> dict[str, Any]:
    now = utcnow()
    regions = [r for r in all_regions().values() if r.code.startswith("32")]
    unions: list[dict[str, Any]] = []

    def add(kind: str, region_code: str, parent: dict[str, Any] | None) -> dict[str, Any]:
        union_id = len(unions) + 1
        row = {
            "id": union_id, "name": f"{kind}-{union_id}", "kind": kind,
            "parent_id": parent["id"] if parent else None,
            "path": f"{parent['path'] if parent else '/'}{union_id}/", "region_code": region_code,
            "occupations": [], "employer_id": None, "accepting": True, "external_code": None,
            "created_at": now, "updated_at": now,
        }  # fmt: skip
        unions.append(row)
        return row

    province = add("federation", "320000", None)
    cities = {r.code: add("federation", r.code, province) for r in regions if r.level == "city"}
    counties = [add("federation", r.code, cities[r.parent_code or ""]) for r in regions if r.level == "county"]
    streets = [add("federation", c["region_code"], c) for c in rng.choices(counties, k=STREETS)]
    for _ in range(OTHER_UNIONS):
        street = rng.choice(streets)
        add(rng.choice(("regional", "industry")), street["region_code"], street)
    homes = counties + streets + unions[-OTHER_UNIONS:]
    stations = []
    for station_id in range(1, STATIONS + 1):
        home = rng.choice(homes)
        stations.append({
            "id": station_id, "name": f"station-{station_id}", "employer_id": None,
            "region_code": home["region_code"], "address": "", "occupation": rng.choice(list(OCCUPATIONS)),
            "union_id": home["id"], "external_code": None, "created_at": now, "updated_at": now,
        })  # fmt: skip
    with engine.begin() as connection:
        connection.execute(sa.insert(Union.__table__), unions)
        connection.execute(sa.insert(Station.__table__), stations)
    return {"province": province, "city": cities["320100"], "county": counties[0]}


POSTGRES_SEED = (
    """INSERT INTO persons (id, phone_index, phone_sealed, phone_masked, created_at, updated_at)
       SELECT g, 'p' || g, 'sealed', '139****0000', now(), now() FROM generate_series(1, :n) g""",
    """INSERT INTO identities (id, id_number_index, id_number_sealed, name_sealed, name_masked, id_number_masked,
                               birth_date, sex, person_id, created_at, updated_at)
       SELECT g, 'i' || g, 'sealed', 'sealed', '张*', '110105********002X', DATE '1990-01-01', 'male', g, now(), now()
       FROM generate_series(1, :n) g""",
    # Each application comes from a station (a deterministic scatter of g) and is routed to its union.
    """INSERT INTO applications (id, person_id, identity_id, join_code_id, station_id, employer_id, union_id,
                                 union_path, region_code, occupation, employment_form, is_transfer, consent_version,
                                 status, route_rule, route_trace, submitted_at, due_at, decided_at, decision_hours,
                                 membership_active, version, created_at, updated_at)
       SELECT g, g, g, NULL, s.id, NULL, u.id, u.path, s.region_code,
              (CAST(:occupations AS text[]))[1 + g % 9], (CAST(:forms AS text[]))[1 + (g / 9) % 5], false, '2026-01',
              st.status, CASE WHEN g % 11 = 0 THEN 'fallback' ELSE 'industry' END, '[]',
              t.submitted, t.submitted + interval '7 days',
              CASE WHEN st.status IN ('approved', 'rejected', 'returned')
                   THEN t.submitted + (g % 20) * interval '1 day' + (g % 17) * interval '1 hour' END,
              CASE WHEN st.status IN ('approved', 'rejected', 'returned') THEN (g % 20) * 24 + g % 17 END,
              st.status = 'approved', 1, t.submitted, t.submitted
       FROM generate_series(1, CAST(:n AS bigint)) g
       JOIN stations s ON s.id = 1 + (g * 7919) % :stations
       JOIN unions u ON u.id = s.union_id
       CROSS JOIN LATERAL (SELECT CASE WHEN g % 20 < 2 THEN 'pending' WHEN g % 20 = 2 THEN 'returned'
                                       WHEN g % 20 = 3 THEN 'withdrawn' WHEN g % 20 < 6 THEN 'rejected'
                                       ELSE 'approved' END AS status) st
       CROSS JOIN LATERAL (SELECT now() - (g % 365) * interval '1 day' - (g % 24) * interval '1 hour'
                                  AS submitted) t""",
    """INSERT INTO memberships (identity_id, union_id, application_id, member_no, status, since, status_changed_at,
                                created_at, updated_at)
       SELECT identity_id, union_id, id, 'M' || id, 'active', decided_at, decided_at, decided_at, decided_at
       FROM applications WHERE status = 'approved'""",
)


SEEDED_TABLES = ("persons", "identities", "applications", "memberships")
# The seeded tables' plain indexes (not those behind a primary key or unique constraint): dropped before
# the bulk insert and built again after it, which is several times faster than maintaining a dozen
# indexes row by row (at ten million applications, hours become minutes).
PLAIN_INDEXES = """
    SELECT i.indexname, i.indexdef FROM pg_indexes i
    WHERE i.schemaname = 'public' AND i.tablename = ANY(:tables)
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
"""


def seed_applications(engine: sa.Engine, count: int) -> None:
    with engine.begin() as connection:
        params = {"n": count, "stations": STATIONS, "occupations": list(OCCUPATIONS), "forms": list(EMPLOYMENT_FORMS)}
        indexes = connection.execute(sa.text(PLAIN_INDEXES), {"tables": list(SEEDED_TABLES)}).all()
        for name, _ in indexes:
            connection.execute(sa.text(f'DROP INDEX "{name}"'))
        # The rows are consistent by construction: skip the per-row foreign-key checks (superuser only).
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
        for statement in POSTGRES_SEED:
            started = time.perf_counter()
            connection.execute(sa.text(statement), params)
            table = statement.split()[2]
            print(f"  {table:<13} {time.perf_counter() - started:7.1f}s", flush=True)
        # The triggers that keep the coverage summary do not fire in this mode: build it from the rows, as the
        # migration that made it did.
        started = time.perf_counter()
        connection.execute(sa.text("DELETE FROM coverage_summary"))
        connection.execute(sa.text("DELETE FROM coverage_summary_deltas"))
        connection.execute(sa.text(coverage_summary_backfill("postgresql")))
        print(f"  {'summary':<13} {time.perf_counter() - started:7.1f}s", flush=True)
        started = time.perf_counter()
        for _, definition in indexes:
            connection.execute(sa.text(definition))
        print(f"  {'indexes':<13} {time.perf_counter() - started:7.1f}s ({len(indexes)} built after)", flush=True)
        for table in ("persons", "identities", "applications", "memberships", "unions", "stations"):
            # Rows went in with explicit ids: move each id sequence past them.
            statement = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"  # noqa: S608  # table names from the literal tuple above
            connection.execute(sa.text(statement))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        started = time.perf_counter()
        connection.execute(sa.text("VACUUM ANALYZE"))
        print(f"  {'VACUUM ANALYZE':<13} {time.perf_counter() - started:7.1f}s", flush=True)


def timed(function: Any, repeat: int) -> tuple[float, float]:
    function()  # warm-up: plans and caches
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples)


@contextmanager
def kept_database(url: str) -> Iterator[str]:
    """``--database``: a database of the caller's, seeded on the first run and kept for the next ones."""
    yield normalise_database_url(url)


def seeded_tree(engine: sa.Engine, count: int) -> dict[str, Any] | None:
    """The handles of a database seeded by an earlier run with ``count`` applications, else None."""
    with Session(engine) as session:
        if not sa.inspect(engine).has_table("applications"):
            return None
        if session.scalar(sa.text("SELECT max(id) FROM applications")) != count:
            return None
        rows = session.execute(sa.text("SELECT id, path FROM unions WHERE id <= 3 OR region_code = '320100'"))
        by_id = {row.id: {"id": row.id, "path": row.path} for row in rows}
        nanjing = session.scalar(sa.text("SELECT id FROM unions WHERE region_code = '320100' AND kind = 'federation'"))
        county = session.scalar(sa.text("SELECT min(id) FROM unions WHERE parent_id IS NOT NULL AND parent_id <> 1"))
        return {"province": by_id[1], "city": by_id[nanjing], "county": {"id": county, "path": session.scalar(
            sa.text("SELECT path FROM unions WHERE id = :id"), {"id": county})}}  # fmt: skip


def run(count: int, repeat: int, database: str | None = None, *, direct: bool = False) -> None:
    # --direct: every scope read from the applications, as before the coverage summary (the figures are the same).
    reading = mock.patch.object(stats_service, "_summarised", return_value=False) if direct else nullcontext()
    with kept_database(database) if database else scratch_database() as url, reading:
        if not url.startswith("postgresql"):
            print("bench.coverage needs PostgreSQL: set DATABASE_URL=postgresql://… (the target is PostgreSQL's)")
            return
        migrate.upgrade(url)
        engine = create_db_engine(url)
        try:
            found = seeded_tree(engine, count) if database else None
            if found is None:
                started = time.perf_counter()
                tree = seed_directory(engine, random.Random(2026))
                seed_applications(engine, count)
                print(f"seeded {count:,} applications (and persons, identities, memberships) in "
                      f"{time.perf_counter() - started:.1f}s")  # fmt: skip
            else:
                tree = found
                print(f"reusing {database!r}, seeded earlier with {count:,} applications")
            with Session(engine) as session:
                members = session.scalar(sa.text("SELECT count(*) FROM memberships"))
                unions = session.scalar(sa.text("SELECT count(*) FROM unions"))
                print(f"{members:,} active memberships; {STATIONS:,} stations; {unions:,} unions")
                print(f"read {'from the applications (--direct)' if direct else 'through the coverage summary'};"
                      f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
                now = utcnow()
                print(f"{'scope':<10}{'by':<18}{'period':<10}{'median ms':>10}{'max ms':>10}")
                for level in ("province", "city", "county"):
                    scope = Actor.system(tree[level]["id"], tree[level]["path"])
                    for by in GROUPINGS:
                        for period, since in (("all time", None), ("30 days", now - dt.timedelta(days=30))):
                            median, top = timed(
                                lambda scope=scope, by=by, since=since: coverage(
                                    session, scope, by=by, now=now, since=since
                                ),
                                repeat,
                            )
                            label = "station p1" if by == "station" else by
                            print(f"{level:<10}{label:<18}{period:<10}{median:>10.1f}{top:>10.1f}")
                            session.rollback()
                    # by=station pages its items (50 stations and the subtree's total): a later page costs the same.
                    cursor = coverage(session, scope, by="station", now=now, limit=200).next_cursor
                    session.rollback()
                    if cursor:
                        median, top = timed(
                            lambda scope=scope, cursor=cursor: coverage(
                                session, scope, by="station", now=now, cursor=cursor
                            ),
                            repeat,
                        )
                        print(f"{level:<10}{'station p5':<18}{'all time':<10}{median:>10.1f}{top:>10.1f}")
                        session.rollback()
        finally:
            print(f"load average at end: {os.getloadavg()[0]:.1f}")
            engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--database",
        help="an empty database to seed and keep (a later run with the same --applications reuses the rows)",
    )
    parser.add_argument(
        "--direct", action="store_true", help="read the applications, not the coverage summary (the figures before it)"
    )
    args = parser.parse_args(argv)
    run(args.applications, args.repeat, args.database, direct=args.direct)


if __name__ == "__main__":
    main()
