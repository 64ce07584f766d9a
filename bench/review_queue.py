"""The review queue at a million applications: first and deep pages of 50, for a city and a district officer.

Seeds a scratch PostgreSQL database (created on the server DATABASE_URL points at,
dropped afterwards) with a city federation, 10 district federations with 5 street
unions each, an industry union, 100 stations and N applications (default 1,000,000:
persons, identities and applications generated server-side with
``INSERT … SELECT generate_series``), then times the app's own ``review_queue``
through the same code path the API uses (one joined query per page):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.review_queue
    … -m bench.review_queue --applications 200000 --repeat 20

Deep pages are reached the way a client reaches them — following ``next_cursor`` —
and then timed on their own. Prints median and p95 milliseconds per page.

Seeding ten million takes a while (about ten times a million's); ``--keep NAME`` seeds a
database of that name once, keeps it, and reuses it on the next run with the same count
(``bench.console_queue`` takes the same option and the same data). A database seeded by
``bench.coverage --database`` serves too (its Jiangsu-shaped tree has the same city federation,
union 2; the district officer is one of its districts): one ten-million seed for the three benches.
It is migrated to the head before use:

    … -m bench.review_queue --applications 10000000 --keep ruhui_bench_10m
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app import create_app, migrate
from app.actors import Actor
from app.config import load_settings
from app.db import create_db_engine, utcnow
from app.review.service import QueueFilters, review_queue
from bench.union_subtree import scratch_database

CITY, INDUSTRY = 2, 13
DISTRICTS = list(range(3, 13))


def _paths() -> dict[int, str]:
    paths = {1: "/1/", CITY: "/1/2/", INDUSTRY: "/1/2/13/"}
    street = 14
    for district in DISTRICTS:
        paths[district] = f"/1/2/{district}/"
        for _ in range(5):
            paths[street] = f"/1/2/{district}/{street}/"
            street += 1
    return paths


@dataclass(frozen=True)
class Shape:
    """What the benches ask for besides the city: a district federation, an industry union, a station."""

    district: tuple[int, str]
    industry: int
    station: int


OWN_SHAPE = Shape(district=(3, "/1/2/3/"), industry=INDUSTRY, station=7)


def shape_of(engine: sa.Engine) -> Shape:
    """This bench's own tree, or the Jiangsu-shaped one of ``bench.coverage`` (one seeded database serves both).

    In both the city federation (Nanjing) is union 2 at ``/1/2/``; in bench.coverage's tree its districts,
    industry unions and stations are looked up.
    """
    with engine.connect() as connection:
        if connection.scalar(sa.text("SELECT count(*) FROM unions")) <= len(_paths()):
            return OWN_SHAPE
        assert connection.scalar(sa.text("SELECT path FROM unions WHERE id = :id"), {"id": CITY}) == "/1/2/"
        district = connection.execute(
            sa.text("SELECT id, path FROM unions WHERE parent_id = :city ORDER BY id LIMIT 1"), {"city": CITY}
        ).one()
        industry = connection.scalar(
            sa.text("SELECT min(id) FROM unions WHERE kind = 'industry' AND path LIKE '/1/2/%'")
        )
        station = connection.scalar(
            sa.text("SELECT min(s.id) FROM stations s JOIN unions u ON u.id = s.union_id WHERE u.path LIKE '/1/2/%'")
        )
    return Shape(district=(district.id, district.path), industry=industry, station=station)


def seed(engine: sa.Engine, total: int) -> None:
    paths = _paths()
    now = utcnow()
    with engine.begin() as connection:
        for union_id, path in sorted(paths.items()):
            parent = path.rstrip("/").split("/")[-2] if union_id != 1 else None
            connection.execute(
                sa.text(
                    "INSERT INTO unions (id, name, kind, parent_id, path, region_code, occupations, accepting,"
                    " created_at, updated_at)"
                    " VALUES (:id, :name, :kind, :parent, :path, :region, '[]', true, :now, :now)"
                ),
                {
                    "id": union_id,
                    "name": f"工会{union_id}",
                    "kind": "industry" if union_id == INDUSTRY else "federation",
                    "parent": int(parent) if parent else None,
                    "path": path,
                    "region": "320000" if union_id == 1 else "320100" if union_id in (CITY, INDUSTRY) else "320102",
                    "now": now,
                },
            )
        connection.execute(
            sa.text(
                "INSERT INTO stations (id, name, region_code, address, occupation, union_id, created_at, updated_at)"
                " SELECT s, '站点' || s, '320102', '地址', 'courier', 2, now(), now() FROM generate_series(1, 100) s"
            )
        )
    started = time.perf_counter()
    # Applications: 30% to the industry union, 20% to the districts, 50% to the streets; one a minute
    # going back ~2 years; the newest 2% pending (and every 997th older one: overdue), the rest decided.
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO persons (id, phone_index, phone_sealed, phone_masked, created_at, updated_at)"
                " SELECT g, md5('p' || g), 'sealed', '138****' || lpad((g % 10000)::text, 4, '0'), now(), now()"
                " FROM generate_series(1, :n) g"
            ),
            {"n": total},
        )
        connection.execute(
            sa.text(
                "INSERT INTO identities (id, id_number_index, id_number_sealed, name_sealed, name_masked,"
                " id_number_masked, birth_date, sex, person_id, created_at, updated_at)"
                " SELECT g, md5('i' || g), 'sealed', 'sealed', (ARRAY['张*','王**','李*','赵**'])[1 + g % 4],"
                " '320102********' || lpad((g % 10000)::text, 4, '0'), date '1990-01-01', 'male', g, now(), now()"
                " FROM generate_series(1, :n) g"
            ),
            {"n": total},
        )
        connection.execute(
            sa.text(
                """
                INSERT INTO applications (id, person_id, identity_id, station_id, union_id, union_path, region_code,
                    occupation, employment_form, is_transfer, consent_version, status, route_rule, route_trace,
                    submitted_at, due_at, version, created_at, updated_at)
                SELECT g, g, g, 1 + g % 100, u, unions.path, '320102',
                    'courier', 'platform', false, '2026-01',
                    CASE WHEN g > :n * 0.98 OR g % 997 = 0 THEN 'pending'
                         WHEN g % 10 = 7 THEN 'rejected' ELSE 'approved' END,
                    'regional', '[]', at, at + interval '21 days', 1, at, at
                FROM (
                    SELECT g, CASE WHEN g % 10 < 3 THEN 13 WHEN g % 10 < 5 THEN 3 + (g / 10) % 10
                                   ELSE 14 + (g / 10) % 50 END AS u, :now - make_interval(mins => (:n - g)::int) AS at
                    FROM generate_series(1, :n) g
                ) s
                JOIN unions ON unions.id = s.u
                """
            ),
            {"n": total, "now": now},
        )
        for table in ("persons", "identities", "applications"):
            connection.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"), {"n": total})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    print(f"seeded {total:,} applications in {time.perf_counter() - started:.1f} s")


@contextmanager
def bench_database(keep: str | None, total: int) -> Iterator[tuple[str, bool]]:
    """(url, seeded already): a scratch database, or with ``keep`` a named one kept for the next run."""
    if keep is None:
        with scratch_database() as url:
            yield url, False
        return
    configured = load_settings(Path(__file__).resolve().parent.parent / "instance").database_url
    if not configured.startswith("postgresql") or not keep.replace("_", "").isalnum():
        raise SystemExit("--keep needs PostgreSQL (DATABASE_URL) and a plain database name")
    admin = create_db_engine(configured, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": keep})
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{keep}"'))
    admin.dispose()
    url = configured.rsplit("/", 1)[0] + f"/{keep}"
    seeded = False
    if exists:
        probe = create_db_engine(url)
        with probe.connect() as connection:
            has_table = connection.scalar(sa.text("SELECT to_regclass('applications') IS NOT NULL"))
            count = connection.scalar(sa.text("SELECT max(id) FROM applications")) if has_table else None
        probe.dispose()
        if count not in (None, total):
            raise SystemExit(f"database {keep} holds {count:,} applications, not {total:,}: drop it or use another")
        seeded = count == total
    yield url, seeded


def timed(repeat: int, operation: Callable[[], Any]) -> tuple[float, float]:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        operation()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[max(0, int(len(timings) * 0.95) - 1)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--deep", type=int, default=200, help="how many pages deep the deep page is")
    parser.add_argument("--keep", metavar="NAME", help="seed a database of this name once and keep it")
    args = parser.parse_args(argv)
    with bench_database(args.keep, args.applications) as (url, seeded):
        if not url.startswith("postgresql"):
            print("bench.review_queue needs PostgreSQL: set DATABASE_URL=postgresql://…", file=sys.stderr)
            return
        migrate.upgrade(url)
        app = create_app({"database_url": url, "env": "development"})
        engine = app.extensions["ruhui.engine"]
        if not seeded:
            seed(engine, args.applications)
        sessions = app.extensions["ruhui.sessionmaker"]
        district, district_path = shape_of(engine).district
        officers = {
            "city": Actor(kind="officer", id=1, role="reviewer", union_id=CITY, union_path="/1/2/"),
            "district": Actor(kind="officer", id=2, role="reviewer", union_id=district, union_path=district_path),
        }
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        cases = {
            "all, newest first": QueueFilters(),
            "pending, oldest first": QueueFilters(status="pending", sort="oldest"),
            "own + escalated": QueueFilters(queue="own", status="pending"),
            "overdue": QueueFilters(overdue=True),
        }
        print(f"{'officer':<9} {'queue':<24} {'page':>6} {'median ms':>10} {'p95 ms':>8} {'items':>6}")
        with app.app_context(), sessions() as session:
            now = utcnow()
            for who, principal in officers.items():
                for label, filters in cases.items():

                    def page(cursor: str | None, filters: QueueFilters = filters, principal: Actor = principal) -> Any:
                        result = review_queue(session, principal, filters=filters, limit=50, cursor=cursor, now=now)
                        session.expunge_all()
                        return result

                    first = page(None)
                    median, p95 = timed(args.repeat, lambda: page(None))
                    print(f"{who:<9} {label:<24} {1:>6} {median:>10.2f} {p95:>8.2f} {len(first.items):>6}")
                    # Follow next_cursor down to the deep page (or the last one), then time that page alone.
                    cursor, depth, deepest = first.next_cursor, 1, None
                    while cursor and depth < args.deep:
                        deepest, depth = cursor, depth + 1
                        cursor = page(cursor).next_cursor
                    if deepest:
                        deep = page(deepest)
                        median, p95 = timed(args.repeat, lambda deepest=deepest: page(deepest))
                        print(f"{who:<9} {label:<24} {depth:>6} {median:>10.2f} {p95:>8.2f} {len(deep.items):>6}")
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
        engine.dispose()


if __name__ == "__main__":
    main()
