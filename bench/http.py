"""Benchmark: the app's hot endpoints next to a bare Flask app, under the same gunicorn, in one run.

The endpoints: ``/healthz``; resolve (``GET /api/v1/join/{token}``) and the landing page
(``GET /j/{token}``), each request from a new device so every one is a counted scan; OTP send
(``POST /api/v1/auth/otp``, the console SMS gateway, a new phone and a new client address every
request); submit (``POST /api/v1/applications``, a distinct person each time: persons signed in
ahead, each with its own bearer token, phone and ID number, filed at ``--submit-codes`` of the codes);
and the console's review queue page (``GET /console/review``, a signed-in reviewer's cookie).

Submits show the steady state: a code's first submit in a worker process fills that process's
resolve and routing caches (about half the CPU of such a submit), which a real morning pays once
per code and process among thousands of submits there. At a few hundred submits a second, 500
codes would leave most of the timed submits doing that (keep-alive connections spread unevenly
over the two workers: one of them may get a sixth of the requests), so they go to 50 codes, and
their warm-up spends a round's budget of persons.

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

A second table splits each endpoint's CPU per answered request between the server, PostgreSQL,
Redis and the load generator (from ``/proc``, every such process on the machine), and gives the
ratio to bare Flask that the endpoint could reach at most on this machine if the server's own work
cost nothing: the machine's CPUs divided by what the others spend on each request. A target above
that column cannot be met by the app on this machine, however fast it gets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import redis

from app import create_app
from app.auth import service as auth_service
from app.auth.tokens import issue_access_token
from app.console.session import OFFICER_ID, OFFICER_SEEN, OFFICER_SINCE
from app.directory.models import Union
from bench.join_scans import SECRET, count_scans, scratch_database, seed
from bench.load import CPU_GROUPS, Request, RequestFactory, Round, drive, gunicorn, percentile

BARE = "bare Flask GET /ping"
REDIS_URL = os.environ.get("REDIS_URL", "")
SCANS = ("GET /api/v1/join/{token}", "GET /j/{token}")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


WARM_UP_BUDGET_SECONDS = 60.0  # at most, for a scenario warmed up by its budget of requests


@dataclass(frozen=True)
class Scenario:
    name: str
    port: int
    make: RequestFactory
    expect: int = 200
    max_requests: int | None = None  # per drive, when a scenario consumes prepared data (persons)


def id_number(serial: int) -> str:
    """A valid resident ID number (GB 11643 checksum), distinct for every ``serial`` below 36,500,000."""
    birth = dt.date(1970, 1, 1) + dt.timedelta(days=serial // 1000)
    body = f"320102{birth:%Y%m%d}{serial % 1000:03d}"
    return body + _CHECK[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class Prepared:
    """What the scenarios that need a signed-in user use: workers' bearer tokens, a reviewer's cookie."""

    worker_tokens: list[str]
    officer_cookie: str
    consent_version: str


def prepare(url: str, persons: int) -> Prepared:
    """``persons`` workers (each a proved phone with an access token) and a reviewer of the bench's union."""
    app = create_app({"database_url": url, "secret_key": SECRET, "env": "development", "log_level": "WARNING"})
    with app.app_context(), app.extensions["ruhui.sessionmaker"]() as session:
        union_id = session.query(Union.id).order_by(Union.id).limit(1).scalar()
        ids = []
        for n in range(persons):
            person = auth_service.find_or_create_person(session, f"136{n:08d}")
            ids.append(person.id)
            if n % 1000 == 999:
                session.commit()
        officer = auth_service.create_officer(
            session,
            username="bench-reviewer",
            password="bench-password-0123",  # noqa: S106  # a scratch database dropped after the run
            name="审核员",
            union_id=union_id,
            role="reviewer",
        )
        session.commit()
        tokens = [issue_access_token("worker", person_id)[0] for person_id in ids]
        now = time.time()
        cookie = app.session_interface.get_signing_serializer(app).dumps(  # type: ignore[attr-defined]  # SecureCookieSessionInterface
            {OFFICER_ID: officer.id, OFFICER_SEEN: now, OFFICER_SINCE: now}
        )
        settings = app.extensions["ruhui.settings"]
        name = app.config.get("SESSION_COOKIE_NAME", "session")
        app.extensions["ruhui.engine"].dispose()
        return Prepared(tokens, f"{name}={cookie}", settings.consent_version)


def scenarios(
    app_port: int, bare_port: int, tokens: list[str], prepared: Prepared, per_drive: int, submit_codes: int = 50
) -> list[Scenario]:
    def token(n: int, i: int, among: int = len(tokens)) -> str:
        return tokens[(n * 7919 + i) % min(among, len(tokens))]

    phones = itertools.count()  # next() on a count is atomic under the GIL: each request its own number
    scanners = itertools.count()

    def scanner() -> dict[str, str]:
        # Each scan from its own phone and address (through the trusted proxy hop), as a city's morning
        # is: every scan is counted under the default bounds, none is a repeat of a device.
        k = next(scanners)
        return {
            "X-Device-Id": f"bench-{k}",
            "X-Forwarded-For": f"10.{200 + k // 62500 % 50}.{k // 250 % 250}.{k % 250}",
        }

    workers: Iterator[tuple[int, str]] = iter(enumerate(prepared.worker_tokens))

    def otp(n: int, i: int) -> Request:
        k = next(phones)
        # A new phone each time, and a new address every 20 (OTP_PER_IP), through the trusted proxy hop.
        address = f"10.{k // 20 // 62500 % 250}.{k // 20 // 250 % 250}.{k // 20 % 250}"
        return Request(
            "/api/v1/auth/otp",
            "POST",
            {"Content-Type": "application/json", "X-Forwarded-For": address},
            json.dumps({"phone": f"135{k:08d}"}).encode(),
        )

    def submit(n: int, i: int) -> Request:
        serial, bearer = next(workers)
        body = {
            "join_token": token(n, i, submit_codes),
            "full_name": "张三",
            "id_number": id_number(serial),
            "occupation": "courier",
            "employment_form": "platform",
            "consent_version": prepared.consent_version,
        }
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"}
        return Request("/api/v1/applications", "POST", headers, json.dumps(body, ensure_ascii=False).encode())

    officer = {"Cookie": prepared.officer_cookie}
    return [
        Scenario(BARE, bare_port, lambda n, i: Request("/ping")),
        Scenario("GET /healthz", app_port, lambda n, i: Request("/healthz")),
        Scenario(
            "GET /api/v1/join/{token}",
            app_port,
            lambda n, i: Request(f"/api/v1/join/{token(n, i)}", headers=scanner()),
        ),
        Scenario("GET /j/{token}", app_port, lambda n, i: Request(f"/j/{token(n, i)}", headers=scanner())),
        Scenario("POST /api/v1/auth/otp", app_port, otp, expect=202),
        Scenario("POST /api/v1/applications", app_port, submit, expect=201, max_requests=per_drive),
        Scenario("GET /console/review", app_port, lambda n, i: Request("/console/review", headers=officer)),
    ]


def run_backend(database_url: str, args: argparse.Namespace) -> None:
    with scratch_database(database_url) as url:
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        prefix = f"ruhui-bench-{uuid.uuid4().hex[:8]}"
        tokens = seed(url, args.codes)
        prepared = prepare(url, args.persons)
        app_env = {
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET,
            "RUHUI_ENV": "development",
            "LOG_LEVEL": "INFO",  # the access log stays on, as in production: its cost is part of the figure
            "PUBLIC_BASE_URL": "https://bench.example.cn",
            "TRUSTED_PROXY_HOPS": "1",  # scans and OTP sends come "from" many addresses (X-Forwarded-For)
            "SMS_DAILY_BUDGET": "100000000",
            # The shared counters as in production (Redis at REDIS_URL), under a prefix of this run only;
            # without REDIS_URL each process counts in its own memory (limits' memory storage).
            "RATELIMIT_STORAGE_URI": REDIS_URL or "memory://",
            "RATELIMIT_KEY_PREFIX": prefix,
        }
        settings = {"workers": args.workers, "threads": args.threads}
        with (
            gunicorn("wsgi:app", app_env, **settings, ready_path="/readyz") as app_port,
            gunicorn("bench._bare_flask:app", {}, **settings, ready_path="/ping") as bare_port,
        ):
            chosen = [
                s
                for s in scenarios(
                    app_port, bare_port, tokens, prepared, args.persons // (args.rounds + 1), args.submit_codes
                )
                if s.name == BARE or not args.only or any(word in s.name for word in args.only)
            ]

            def run(scenario: Scenario, seconds: float) -> Round:
                limit = min(args.max_requests, scenario.max_requests or args.max_requests)
                return drive(
                    scenario.port,
                    scenario.make,
                    clients=args.clients,
                    seconds=seconds,
                    max_requests=limit,
                    expect=scenario.expect,
                )

            scans_answered = 0  # resolves and landing pages answered 200: each one a counted scan

            def run_and_count(scenario: Scenario, seconds: float) -> Round:
                nonlocal scans_answered
                result = run(scenario, seconds)
                if scenario.name in SCANS:
                    scans_answered += len(result.latencies)
                return result

            for scenario in chosen:  # warm-up: imports, connection pools, first statements, caches
                # A scenario with a budget of persons (submit) spends a round's worth warming up, however
                # long that takes: its few hundred requests a second would otherwise leave most of each
                # worker's (code, route) cache entries to be filled during the timed rounds, which then
                # show the first minutes of a morning rather than its steady state (``README``, Benchmark).
                run_and_count(
                    scenario, max(args.warmup, WARM_UP_BUDGET_SECONDS) if scenario.max_requests else args.warmup
                )
            rounds: dict[str, list[Round]] = {s.name: [] for s in chosen}
            for round_no in range(args.rounds):
                order = chosen if round_no % 2 == 0 else chosen[::-1]
                for scenario in order:
                    rounds[scenario.name].append(run_and_count(scenario, args.duration))
        # The servers have stopped (SIGTERM, a graceful exit): every queued scan must be in the table now.
        scan_rows = count_scans(url)
        if REDIS_URL:
            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
            client.close()

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
            f"{name:<28} {median:>8.0f} {percentile(latencies, 0.50):>8.1f} {percentile(latencies, 0.99):>8.1f} "
            f"{errors:>7} {median / bare if bare else float('nan'):>7.2f}"
        )
    for name, results in rounds.items():
        ratios = ", ".join(f"{r.throughput:.0f}" for r in results)
        print(f"  {name} per round (req/s): {ratios}")
        first_error = next((r.first_error for r in results if r.first_error), "")
        if first_error:
            print(f"    first error: {first_error}")
    print_cpu(rounds, bare)
    verdict = "every scan counted" if scan_rows == scans_answered else "MISMATCH"
    print(f"join_scans rows after the servers stopped: {scan_rows}; scans answered: {scans_answered} ({verdict})")


def print_cpu(rounds: dict[str, list[Round]], bare: float) -> None:
    """CPU per answered request by process group, and the ratio to bare reachable with a server that cost nothing."""
    if not any(r.cpu for results in rounds.values() for r in results):
        return  # no /proc here
    cpus = os.cpu_count() or 1
    header = "".join(f"{group:>15}" for group in CPU_GROUPS)
    print(f"{f'CPU ms per request ({cpus} CPUs)':<28}{header}{'× bare at most':>16}")
    for name, results in rounds.items():
        answered = sum(len(r.latencies) + r.errors for r in results)
        if not answered:
            continue
        per = {group: sum(r.cpu.get(group, 0.0) for r in results) / answered * 1000 for group in CPU_GROUPS}
        others = sum(ms for group, ms in per.items() if group != "server")
        ceiling = cpus / (others / 1000) / bare if others and bare and name != BARE else float("nan")
        cells = "".join(f"{per[group]:>15.3f}" for group in CPU_GROUPS)
        print(f"{name:<28}{cells}{ceiling:>16.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per scenario and round (default 5)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (default 4)")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="requests per scenario and round at most (default 200000)"
    )
    parser.add_argument("--codes", type=int, default=500, help="join codes resolved in turn (default 500)")
    parser.add_argument(
        "--submit-codes",
        type=int,
        default=50,
        help="of those, the codes the submits are filed at (default 50: the steady state, see the docstring)",
    )
    parser.add_argument(
        "--persons", type=int, default=10_000, help="signed-in workers prepared for the submits (default 10000)"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per endpoint (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument(
        "--only", action="append", default=[], help="run only the endpoints whose name contains this (repeatable)"
    )
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL even when DATABASE_URL names it")
    args = parser.parse_args(argv)

    run_backend("", args)
    postgres = os.environ.get("DATABASE_URL", "")
    if postgres.startswith(("postgres://", "postgresql")) and not args.sqlite_only:
        run_backend(postgres, args)


if __name__ == "__main__":
    main()
