"""Benchmark: the app's hot endpoints next to a bare Flask app, under the same gunicorn, in one run.

Both are served by gunicorn (``--workers 2 --threads 4``, ``gthread``, loopback only) and driven
by the same small load generator (threads, one keep-alive ``http.client`` connection each,
bounded in requests and in time). The scenarios alternate A B A B … so that the machine's drift
(another process waking up, a warming cache) falls on all of them alike; the table shows the
median req/s of the rounds, p50/p99 latency over all rounds, and the ratio to bare Flask's
``GET /ping`` of the same backend's run.

    .venv/bin/python -m bench.http                              # SQLite
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python -m bench.http   # SQLite, then PostgreSQL
    ... -m bench.http --clients 32 --duration 10 --rounds 3

With a PostgreSQL ``DATABASE_URL`` a scratch database is created beside it and dropped afterwards.
The load generator is Python and shares the CPU with the servers: its figures compare endpoints
with each other on one machine, they are not the servers' ceilings. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.join_scans import SECRET, free_port, scratch_database, seed

ROOT = Path(__file__).resolve().parent.parent
BARE = "bare Flask GET /ping"


@dataclass
class Round:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Scenario:
    name: str
    port: int
    path: Callable[[int, int], str]  # (client, request number) → path


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], *, workers: int, threads: int, ready_path: str) -> Iterator[int]:
    """gunicorn serving ``app_spec`` on a free loopback port, stopped on exit."""
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        *("--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads)),
        *("--bind", f"127.0.0.1:{port}", "--log-level", "warning", app_spec),
    ]
    # The log (one access line per request) goes to a file, as a pipe to a collector would take it.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log)  # noqa: S603  # our own venv's gunicorn, fixed arguments
        try:
            deadline = time.monotonic() + 30
            while not _answers(port, ready_path):
                if time.monotonic() > deadline or process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"{app_spec} did not start:\n{log.read()[-3000:].decode(errors='replace')}")
                time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=30)


def _answers(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path)
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


def drive(scenario: Scenario, *, clients: int, seconds: float, max_requests: int) -> Round:
    """``clients`` threads on keep-alive connections until ``seconds`` pass or ``max_requests`` are sent."""
    result = Round(seconds=seconds)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    budget = [max_requests]
    stop_at = [0.0]

    def take_one() -> bool:
        with lock:
            budget[0] -= 1
            return budget[0] >= 0

    def client(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", scenario.port, timeout=30)
        latencies: list[float] = []
        errors = 0
        i = 0
        start.wait()
        while time.perf_counter() < stop_at[0] and take_one():
            began = time.perf_counter()
            try:
                connection.request("GET", scenario.path(n, i), headers={"X-Device-Id": f"bench-{n}-{i}"})
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    latencies.append(time.perf_counter() - began)
                else:
                    errors += 1
            except (OSError, http.client.HTTPException):
                errors += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", scenario.port, timeout=30)
            i += 1
        connection.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began  # shorter than asked when the request bound ran out first
    return result


def _percentile(latencies: list[float], p: float) -> float:
    if not latencies:
        return float("nan")
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def run_backend(database_url: str, args: argparse.Namespace) -> None:
    with scratch_database(database_url) as url:
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        tokens = seed(url, args.codes)
        app_env = {
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET,
            "RUHUI_ENV": "development",
            "LOG_LEVEL": "INFO",  # the access log stays on, as in production: its cost is part of the figure
            "PUBLIC_BASE_URL": "https://bench.example.cn",
            "SCANS_COUNTED_PER_ADDRESS_HOUR": "100000000",  # every client is 127.0.0.1: count every scan
        }
        settings = {"workers": args.workers, "threads": args.threads}
        with (
            gunicorn("wsgi:app", app_env, **settings, ready_path="/readyz") as app_port,
            gunicorn("bench._bare_flask:app", {}, **settings, ready_path="/ping") as bare_port,
        ):
            scenarios = [
                Scenario(BARE, bare_port, lambda n, i: "/ping"),
                Scenario("GET /healthz", app_port, lambda n, i: "/healthz"),
                Scenario(
                    "GET /api/v1/join/{token}",
                    app_port,
                    lambda n, i: f"/api/v1/join/{tokens[(n * 7919 + i) % len(tokens)]}",
                ),
            ]
            drive_args = {"clients": args.clients, "max_requests": args.max_requests}
            for scenario in scenarios:  # warm-up: imports, connection pools, first statements
                drive(scenario, **drive_args, seconds=1.0)
            rounds: dict[str, list[Round]] = {s.name: [] for s in scenarios}
            for round_no in range(args.rounds):
                order = scenarios if round_no % 2 == 0 else scenarios[::-1]
                for scenario in order:
                    rounds[scenario.name].append(drive(scenario, **drive_args, seconds=args.duration))

    print(
        f"\n{backend}: gunicorn {args.workers} workers × {args.threads} threads (gthread), "
        f"{args.clients} connections, {args.rounds} rounds of {args.duration:g} s (≤ {args.max_requests} requests)"
    )
    print(f"{'endpoint':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'× bare':>7}")
    bare = statistics.median(r.throughput for r in rounds[BARE])
    for name, results in rounds.items():
        median = statistics.median(r.throughput for r in results)
        latencies = [x for r in results for x in r.latencies]
        errors = sum(r.errors for r in results)
        print(
            f"{name:<28} {median:>8.0f} {_percentile(latencies, 0.50):>8.1f} {_percentile(latencies, 0.99):>8.1f} "
            f"{errors:>7} {median / bare if bare else float('nan'):>7.2f}"
        )
    for name, results in rounds.items():
        print(f"  {name} per round (req/s): " + ", ".join(f"{r.throughput:.0f}" for r in results))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per scenario and round (default 5)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (default 4)")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="requests per scenario and round at most (default 200000)"
    )
    parser.add_argument("--codes", type=int, default=500, help="join codes resolved in turn (default 500)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    args = parser.parse_args(argv)

    run_backend("", args)
    postgres = os.environ.get("DATABASE_URL", "")
    if postgres.startswith(("postgres://", "postgresql")):
        run_backend(postgres, args)


if __name__ == "__main__":
    main()
