"""Benchmark: do concurrent scans of ONE join code scale like scans of MANY codes?

A campaign morning has a whole depot scanning the same code within minutes. If
counting scans serialised on one row, the "one code" figure would fall well below
the "many codes" figure as concurrency grows; with append-only scan events the two
should match. This drives ``GET /api/v1/join/{token}`` against a real server
(gunicorn, several worker processes) on a real database, then checks that every
successful request left exactly one scan row.

    .venv/bin/python -m bench.join_scans                  # SQLite file in a temp dir
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python -m bench.join_scans
    ... -m bench.join_scans --clients 32 --duration 15 --contrast

With a PostgreSQL ``DATABASE_URL`` a scratch database is created beside the given
one and dropped afterwards; the given database is not touched. ``--contrast`` also
measures, directly against the database, what a hot-row counter would have cost
(``UPDATE … SET scans = scans + 1`` on one row) next to appending scan rows.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import migrate
from app.config import normalise_database_url
from app.db import create_db_engine
from app.directory import service as directory_service
from app.directory.models import Station
from app.joincodes import service as joincodes_service
from app.joincodes.models import JoinScan
from bench.load import Request, Round, drive, free_port, gunicorn, percentile

__all__ = ["SECRET", "free_port", "scratch_database", "seed"]

_devices = itertools.count()
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105  # a throwaway server's key


@contextmanager
def scratch_database(given: str | None = None) -> Iterator[str]:
    """A freshly migrated database: a scratch PostgreSQL database, or a SQLite file.

    Beside ``given`` (default: ``DATABASE_URL``) when that names PostgreSQL; ``""`` asks for SQLite.
    """
    given = os.environ.get("DATABASE_URL", "") if given is None else given
    if given.startswith(("postgres://", "postgresql")):
        base = normalise_database_url(given)
        name = f"ruhui_bench_{uuid.uuid4().hex[:8]}"
        admin = create_db_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            url = base.rsplit("/", 1)[0] + f"/{name}"
            migrate.upgrade(url)
            yield url
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        with tempfile.TemporaryDirectory(prefix="ruhui-bench-") as tmp:
            url = f"sqlite:///{tmp}/bench.sqlite3"
            migrate.upgrade(url)
            yield url


def seed(url: str, codes: int) -> list[str]:
    """One union, ``codes`` stations, one join code each; returns the tokens."""
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            union = directory_service.add_union(session, name="基准测试总工会", kind="federation", region_code="320100")
            stations = [
                Station(name=f"基准点部{i}", union_id=union.id, region_code="320102", occupation="courier")
                for i in range(codes)
            ]
            session.add_all(stations)
            session.flush()
            tokens = [joincodes_service.create_join_code(session, s, created_by_id=None).token for s in stations]
            session.commit()
            return tokens
    finally:
        engine.dispose()


@contextmanager
def server(url: str, workers: int, threads: int) -> Iterator[int]:
    """gunicorn serving the app on a free port, stopped on exit."""
    env = {
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "RUHUI_ENV": "development",
        "LOG_LEVEL": "WARNING",  # one access-log line per request would measure stderr, not scans
        "PUBLIC_BASE_URL": "https://bench.example.cn",
        # Every client sits on 127.0.0.1: lift the per-address cap so that every scan is counted and checked.
        "SCANS_COUNTED_PER_ADDRESS_HOUR": "100000000",
    }
    with gunicorn("wsgi:app", env, workers=workers, threads=threads, ready_path="/readyz") as port:
        yield port


def drive_scans(port: int, pick_token: Callable[[int, int], str], clients: int, seconds: float) -> Round:
    """``clients`` threads, each on one keep-alive connection, resolving tokens until the time is up."""

    def request(n: int, i: int) -> Request:
        # A device never seen before (over all rounds): a repeat would rightly go uncounted (one an hour).
        return Request(f"/api/v1/join/{pick_token(n, i)}", headers={"X-Device-Id": f"bench-{next(_devices)}"})

    return drive(port, request, clients=clients, seconds=seconds, max_requests=10**9)


def count_scans(url: str) -> int:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(sa.select(sa.func.count()).select_from(JoinScan)) or 0)
    finally:
        engine.dispose()


def contrast(url: str, clients: int, seconds: float) -> list[tuple[str, float]]:
    """Transactions per second, straight to the database: a hot-row counter vs appended scan rows."""
    engine = create_db_engine(url, pool_size=clients, max_overflow=0)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE bench_hot_counter (id INTEGER PRIMARY KEY, scans BIGINT NOT NULL)"))
        connection.execute(sa.text("INSERT INTO bench_hot_counter VALUES (1, 0)"))
        code_id = connection.scalar(sa.text("SELECT min(id) FROM join_codes"))
    statements = {
        "hot-row UPDATE scans = scans + 1": (
            sa.text("UPDATE bench_hot_counter SET scans = scans + 1 WHERE id = 1"),
            {},
        ),
        "append INSERT INTO join_scans": (
            sa.text(
                "INSERT INTO join_scans (join_code_id, scanned_at, channel) VALUES (:code, CURRENT_TIMESTAMP, 'web')"
            ),
            {"code": code_id},
        ),
    }
    figures = [
        (label, _transactions_per_second(engine, statement, params, code_id, clients, seconds))
        for label, (statement, params) in statements.items()
    ]
    engine.dispose()
    return figures


def _transactions_per_second(
    engine: sa.Engine, statement: sa.TextClause, params: dict[str, int], code_id: int, clients: int, seconds: float
) -> float:
    done = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker() -> None:
        n = 0
        with engine.connect() as connection:
            while time.perf_counter() < stop_at:
                with connection.begin():
                    # The read a resolve does first, then the write; a row lock (if any) is held to commit.
                    connection.execute(sa.text("SELECT id FROM join_codes WHERE id = :code"), {"code": code_id})
                    connection.execute(statement, params)
                n += 1
        with lock:
            done[0] += n

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per scenario (default 8)")
    parser.add_argument("--codes", type=int, default=500, help="codes in the 'many codes' scenario (default 500)")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2), help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each scenario (default 2)")
    parser.add_argument("--contrast", action="store_true", help="also measure a hot-row counter directly on the DB")
    args = parser.parse_args(argv)

    with scratch_database() as url:
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        tokens = seed(url, args.codes)
        print(f"join-code scans on {backend}: {args.clients} clients, gunicorn {args.workers}×{args.threads} threads")
        results: dict[str, list[Round]] = {"one code": [], "many codes": []}
        with server(url, args.workers, args.threads) as port:
            drive_scans(port, lambda n, i: tokens[(n + i) % len(tokens)], args.clients, 2.0)
            scans_before = count_scans(url)
            scenarios: dict[str, Callable[[int, int], str]] = {
                "one code": lambda n, i: tokens[0],
                "many codes": lambda n, i: tokens[(n * 7919 + i) % len(tokens)],
            }
            for round_no in range(args.rounds):
                # Alternate which scenario goes first, so a growing table or a warming cache favours neither.
                for name in sorted(scenarios, reverse=bool(round_no % 2)):
                    results[name].append(drive_scans(port, scenarios[name], args.clients, args.duration))
            scans_added = count_scans(url) - scans_before

        ok_requests = sum(len(r.latencies) for rs in results.values() for r in rs)
        print(f"{'scenario':<12} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
        medians: dict[str, float] = {}
        for name, rounds in results.items():
            latencies = [x for r in rounds for x in r.latencies]
            errors = sum(r.errors for r in rounds)
            medians[name] = statistics.median(r.throughput for r in rounds)
            print(
                f"{name:<12} {medians[name]:>8.0f} {percentile(latencies, 0.50):>8.1f} "
                f"{percentile(latencies, 0.95):>8.1f} {percentile(latencies, 0.99):>8.1f} {errors:>7}"
            )
        for name, rounds in results.items():
            print(f"  {name} per round (req/s): " + ", ".join(f"{r.throughput:.0f}" for r in rounds))
        print(f"one code / many codes throughput (medians): {medians['one code'] / medians['many codes']:.2f}")
        verdict = "every scan counted" if scans_added == ok_requests else "MISMATCH"
        print(f"scan rows added: {scans_added}, successful resolves: {ok_requests} ({verdict})")

        if args.contrast:
            print(f"direct to {backend}, {args.clients} connections, one transaction per scan:")
            for label, rate in contrast(url, args.clients, args.duration):
                print(f"  {label:<36} {rate:>8.0f} tx/s")


if __name__ == "__main__":
    main()
