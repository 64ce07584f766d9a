"""Subtree queries at 100k unions: every officer query is scoped by its union's subtree, so they must stay fast.

Seeds a scratch database (SQLite in a temporary file, or — when DATABASE_URL points
at PostgreSQL — a scratch database created on that server and dropped afterwards)
with a Jiangsu-shaped tree of 100,000 unions: the province, its 13 cities and 95
counties, 1,000 street federations, and enterprise, regional and industry unions
under them; plus 30,000 employers and 10,000 stations. Then it times what officers
and applications do all day, through the app's own service functions:

    .venv/bin/python -m bench.union_subtree [--unions 100000] [--repeat 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import migrate
from app.actors import Actor, within_subtree
from app.config import load_settings
from app.db import create_db_engine, utcnow
from app.directory import service
from app.directory.models import Employer, Station, Union
from app.directory.regions import all_regions
from app.directory.vocabulary import OCCUPATIONS
from app.errors import NotFound
from app.routing.service import route_station

STREETS = 1_000
EMPLOYERS = 30_000
STATIONS = 10_000
BATCH = 5_000


@contextmanager
def scratch_database() -> Iterator[str]:
    """A database that exists only for this run."""
    configured = load_settings(Path(__file__).resolve().parent.parent / "instance").database_url
    if not configured.startswith("postgresql"):
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{directory}/bench.sqlite3"
        return
    name = f"ruhui_bench_{uuid.uuid4().hex[:8]}"
    admin = create_db_engine(configured, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield configured.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(engine: sa.Engine, total_unions: int, rng: random.Random) -> dict[str, Any]:
    """Insert the tree with precomputed ids and paths, in batches; returns handles for the timings."""
    now = utcnow()
    regions = [r for r in all_regions().values() if r.code.startswith("32")]
    unions: list[dict[str, Any]] = []

    def add(kind: str, region_code: str, parent: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
        union_id = len(unions) + 1
        row = {
            "id": union_id,
            "name": f"{kind}-{union_id}",
            "kind": kind,
            "parent_id": parent["id"] if parent else None,
            "path": f"{parent['path'] if parent else '/'}{union_id}/",
            "region_code": region_code,
            "occupations": extra.get("occupations", []),
            "employer_id": extra.get("employer_id"),
            "accepting": True,
            "external_code": None,
            "created_at": now,
            "updated_at": now,
        }
        unions.append(row)
        return row

    province = add("federation", "320000", None)
    cities = {r.code: add("federation", r.code, province) for r in regions if r.level == "city"}
    counties = [add("federation", r.code, cities[r.parent_code or ""]) for r in regions if r.level == "county"]
    streets = [add("federation", county["region_code"], county) for county in rng.choices(counties, k=STREETS)]
    federations = len(unions)

    employers: list[dict[str, Any]] = []
    for employer_id in range(1, EMPLOYERS + 1):
        street = rng.choice(streets)
        parent_id = rng.randint(1, employer_id - 1) if employer_id > EMPLOYERS // 4 else None
        employers.append(
            {
                "id": employer_id,
                "name": f"employer-{employer_id}",
                "uscc": f"B{employer_id:017d}",  # unique placeholders: the bench measures queries, not checksums
                "parent_id": parent_id,
                "region_code": street["region_code"],
                "union_id": street["id"],
                "external_code": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    occupations = list(OCCUPATIONS)
    while len(unions) < total_unions:
        street = rng.choice(streets)
        roll = rng.random()
        if roll < 0.6:
            add("enterprise", street["region_code"], street, employer_id=rng.randint(1, EMPLOYERS))
        elif roll < 0.85:
            add("regional", street["region_code"], street)
        else:
            add("industry", street["region_code"], street, occupations=rng.sample(occupations, 2))
    stations = []
    for station_id in range(1, STATIONS + 1):
        street = rng.choice(streets)
        stations.append(
            {
                "id": station_id,
                "name": f"station-{station_id}",
                "employer_id": rng.choice([None, rng.randint(1, EMPLOYERS)]),
                "region_code": street["region_code"],
                "address": "",
                "occupation": rng.choice(occupations),
                "union_id": street["id"],
                "external_code": None,
                "created_at": now,
                "updated_at": now,
            }
        )

    with engine.begin() as connection:
        for table, rows in (
            (Union.__table__, unions[:federations]),
            (Employer.__table__, employers),
            (Union.__table__, unions[federations:]),
            (Station.__table__, stations),
        ):
            for start in range(0, len(rows), BATCH):
                connection.execute(sa.insert(table), rows[start : start + BATCH])
        if engine.dialect.name == "postgresql":
            # Rows went in with explicit ids: move each id sequence past them.
            for table_name, rows in (("unions", unions), ("employers", employers), ("stations", stations)):
                sequence = sa.func.pg_get_serial_sequence(table_name, "id")
                connection.execute(sa.select(sa.func.setval(sequence, len(rows))))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))
    by_id = {row["id"]: row for row in unions}
    subtree_sizes: dict[int, int] = {}
    for row in unions:
        for ancestor in row["path"].strip("/").split("/"):
            subtree_sizes[int(ancestor)] = subtree_sizes.get(int(ancestor), 0) + 1
    return {
        "province": province,
        "city": cities["320100"],
        "county": max(counties, key=lambda c: subtree_sizes[c["id"]]),
        "street": max(streets, key=lambda s: subtree_sizes[s["id"]]),
        "by_id": by_id,
        "sizes": subtree_sizes,
        "union_count": len(unions),
    }


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """Median, 95th percentile and maximum wall time in milliseconds (after one warm-up call)."""
    function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], samples[-1]


def query_plan(session: Session, prefix: str) -> str:
    subtree = within_subtree(Union.path, prefix)
    statement = sa.select(sa.func.count()).select_from(Union).where(subtree)
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if session.get_bind().dialect.name == "sqlite":
        rows = session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        return "; ".join(str(row[-1]) for row in rows)
    rows = session.execute(sa.text(f"EXPLAIN {compiled}")).all()
    return " | ".join(str(row[0]).strip() for row in rows)


def run(total_unions: int, repeat: int) -> None:
    rng = random.Random(2026)
    with scratch_database() as url:
        migrate.upgrade(url)
        engine = create_db_engine(url)
        started = time.perf_counter()
        tree = seed(engine, total_unions, rng)
        seeded = time.perf_counter() - started
        print(f"database: {engine.dialect.name}; seeded {tree['union_count']:,} unions, {EMPLOYERS:,} employers, "
              f"{STATIONS:,} stations in {seeded:.1f}s")  # fmt: skip
        try:
            with Session(engine) as session:
                measure(session, tree, repeat, rng)
        finally:
            engine.dispose()


def measure(session: Session, tree: dict[str, Any], repeat: int, rng: random.Random) -> None:
    sizes = tree["sizes"]
    levels = ("province", "city", "county", "street")
    scopes = {level: Actor.system(tree[level]["id"], tree[level]["path"]) for level in levels}
    print(f"subtree plan: {query_plan(session, scopes['county'].path)}")
    print(f"{'operation':<58}{'median ms':>10}{'p95 ms':>10}{'max ms':>10}")

    def report(label: str, function: Callable[[], Any], times: int = repeat) -> None:
        median, p95, top = timed(function, times)
        print(f"{label:<58}{median:>10.2f}{p95:>10.2f}{top:>10.2f}")

    for level in ("street", "county", "city", "province"):
        scope = scopes[level]

        def count(scope: Actor = scope) -> Any:
            statement = sa.select(sa.func.count()).select_from(Union).where(scope.covers(Union.path))
            return session.scalar(statement)

        label = f"count a {level}'s subtree ({sizes[scope.union_id]:,} unions)"
        report(label, count, max(5, repeat // 10) if level in ("city", "province") else repeat)

    for level in ("county", "city", "province"):
        scope = scopes[level]
        report(f"first page of 50 unions, {level} scope", lambda s=scope: service.list_unions(session, s, limit=50))
        page = service.list_unions(session, scope, limit=50)
        for _ in range(20):
            page = service.list_unions(session, scope, limit=50, cursor=page.next_cursor)
        cursor = page.next_cursor
        report(
            f"page 22 of 50 unions, {level} scope",
            lambda scope=scope, cursor=cursor: service.list_unions(session, scope, limit=50, cursor=cursor),
        )
        report(
            f"page of 50 enterprise unions, {level} scope",
            lambda scope=scope: service.list_unions(session, scope, limit=50, kind="enterprise"),
        )
    report("first page of 50 stations, city scope", lambda: service.list_stations(session, scopes["city"], limit=50))

    union_ids = list(tree["by_id"])
    report(
        "fetch one union within a city scope (in or out: 404)",
        lambda: _ignore_not_found(lambda: service.get_union(session, scopes["city"], rng.choice(union_ids))),
    )
    report(
        "fetch one station within a city scope (join on its union)",
        lambda: _ignore_not_found(lambda: service.get_station(session, scopes["city"], rng.randint(1, STATIONS))),
    )

    stations = list(session.scalars(sa.select(Station).limit(2_000)))

    def route_random_station() -> None:
        station = rng.choice(stations)
        route_station(session, station, station.occupation)
        session.expunge_all()

    report("route_station: snapshot + decision for a random station", route_random_station)

    street, county = tree["street"], tree["county"]
    sibling = next(
        row
        for row in tree["by_id"].values()
        if row["kind"] == "federation" and row["parent_id"] == street["parent_id"] and row["id"] != street["id"]
    )
    root = scopes["province"]

    def move_street_and_back() -> None:
        service.update_union(session, root, street["id"], {"parent_id": sibling["id"]})
        service.update_union(session, root, street["id"], {"parent_id": street["parent_id"]})
        session.commit()

    def move_county_and_back() -> None:
        service.update_union(session, root, county["id"], {"parent_id": tree["province"]["id"]})
        service.update_union(session, root, county["id"], {"parent_id": county["parent_id"]})
        session.commit()

    report(f"move a street's subtree ({sizes[street['id']]:,} unions) and back", move_street_and_back, 20)
    report(f"move a county's subtree ({sizes[county['id']]:,} unions) and back", move_county_and_back, 10)
    moved_back = session.get(Union, county["id"])
    assert moved_back is not None and moved_back.path == county["path"]


def _ignore_not_found(function: Callable[[], Any]) -> None:
    with suppress(NotFound):
        function()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--unions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    run(args.unions, args.repeat)


if __name__ == "__main__":
    main()
