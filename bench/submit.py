"""Benchmark: one submit (``POST /api/v1/applications``) in process — its SQL statements, Redis commands and cost.

Seeds a scratch database as ``bench.http`` does (one union, stations with a join code each, signed-in
workers), warms the caches with a submit at every station, then prints for one more submit every SQL
statement with its time, the Redis commands it sent, and over ``--submits`` more the mean wall time
and the CPU time of the thread that served them (through Flask's test client: no HTTP, no gunicorn,
so the figures are the app's own), and with PostgreSQL on this machine the CPU its processes spent
on each submit (``bench.load.cpu_seconds``). ``--profile`` adds cProfile's top functions.

    .venv/bin/python -m bench.submit                                            # SQLite
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python -m bench.submit --submits 300

With a PostgreSQL ``DATABASE_URL`` a scratch database is created beside it and dropped afterwards;
without ``REDIS_URL`` the limits count in memory (no Redis commands to show).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from sqlalchemy import event

from app import create_app
from bench.http import id_number, prepare
from bench.join_scans import SECRET, scratch_database, seed
from bench.load import cpu_seconds

REDIS_URL = os.environ.get("REDIS_URL", "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submits", type=int, default=200, help="submits timed (default 200)")
    parser.add_argument("--stations", type=int, default=20, help="stations, each warmed by one submit (default 20)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions of the timed submits")
    args = parser.parse_args(argv)

    with scratch_database() as url:
        tokens = seed(url, args.stations)
        prepared = prepare(url, args.stations + args.submits + 1)
        prefix = f"ruhui-bench-submit-{uuid.uuid4().hex[:8]}"
        app = create_app(
            {
                "database_url": url,
                "secret_key": SECRET,
                "env": "development",
                "log_level": "WARNING",
                "ratelimit_storage_uri": REDIS_URL or "memory://",
                "ratelimit_key_prefix": prefix,
            }
        )
        statements: list[tuple[str, float]] = []

        @event.listens_for(app.extensions["ruhui.engine"], "before_cursor_execute")
        def _started(conn: Any, *_args: Any) -> None:
            conn.info["bench_started"] = time.perf_counter()

        @event.listens_for(app.extensions["ruhui.engine"], "after_cursor_execute")
        def _ended(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append((" ".join(statement.split())[:100], time.perf_counter() - conn.info["bench_started"]))

        client = app.test_client()

        def submit(n: int) -> None:
            body = {
                "join_token": tokens[n % len(tokens)],
                "full_name": "张三",
                "id_number": id_number(n),
                "occupation": "courier",
                "employment_form": "platform",
                "consent_version": prepared.consent_version,
            }
            headers = {"Authorization": f"Bearer {prepared.worker_tokens[n]}"}
            response = client.post("/api/v1/applications", json=body, headers=headers)
            assert response.status_code == 201, response.get_data(as_text=True)

        for n in range(args.stations):  # every code resolved and every station routed once
            submit(n)

        statements.clear()
        sent: list[str] = []
        execute: Callable[..., Any] = redis.Redis.execute_command

        def counted(self: redis.Redis, *command: Any, **options: Any) -> Any:
            sent.append(str(command[0]))
            return execute(self, *command, **options)

        redis.Redis.execute_command = counted  # type: ignore[method-assign]  # counts the one submit's commands
        try:
            submit(args.stations)
        finally:
            redis.Redis.execute_command = execute  # type: ignore[method-assign]
        print(f"one submit: {len(statements)} SQL statements (besides BEGIN/COMMIT), Redis: {sent or 'none'}")
        for statement, seconds in statements:
            print(f"  {seconds * 1000:7.2f} ms  {statement}")

        first = args.stations + 1
        profile = cProfile.Profile() if args.profile else None
        database_cpu = cpu_seconds().get("PostgreSQL", 0.0)
        wall, cpu = time.perf_counter(), time.thread_time()
        if profile is not None:
            profile.enable()
        for n in range(first, first + args.submits):
            submit(n)
        if profile is not None:
            profile.disable()
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        database_cpu = cpu_seconds().get("PostgreSQL", 0.0) - database_cpu
        print(
            f"{args.submits} submits: {wall / args.submits * 1000:.2f} ms wall, "
            f"{cpu / args.submits * 1000:.2f} ms CPU each (load average {os.getloadavg()[0]:.2f})"
        )
        if url.startswith("postgresql") and database_cpu:
            print(f"PostgreSQL's processes on this machine: {database_cpu / args.submits * 1000:.2f} ms CPU a submit")
        if profile is not None:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        app.extensions["ruhui.rate_limits"].close()
        app.extensions["ruhui.engine"].dispose()
        if REDIS_URL:
            connection = redis.Redis.from_url(REDIS_URL)
            keys = list(connection.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                connection.delete(*keys)
            connection.close()


if __name__ == "__main__":
    main()
