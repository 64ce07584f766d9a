"""Sign-in costs: token checks, the rate-limit round trip (memory and Redis), and whole sign-ins.

    .venv/bin/python -m bench.auth            # SQLite in a temporary directory
    DATABASE_URL=postgresql://… .venv/bin/python -m bench.auth

Prints operations per second and latency percentiles. Redis figures need Redis at
``REDIS_URL`` (default ``redis://127.0.0.1:6379/15``); keys use a throwaway prefix
and are deleted afterwards.
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis

from app import create_app, migrate
from app.auth.tokens import decode_access_token, issue_access_token
from app.config import normalise_database_url
from app.ratelimits import Limit, RateLimits

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


def measure(name: str, runs: int, operation: Callable[[int], object]) -> None:
    timings = []
    for index in range(runs):
        started = time.perf_counter()
        operation(index)
        timings.append(time.perf_counter() - started)
    timings.sort()
    total = sum(timings)
    p50 = statistics.median(timings) * 1000
    p99 = timings[int(len(timings) * 0.99) - 1] * 1000
    print(f"{name:<48} {runs / total:>10.0f}/s   p50 {p50:7.3f} ms   p99 {p99:7.3f} ms")


def bench_rate_limits() -> None:
    """The five limits one SMS code request checks and counts (three per number, per IP, the budget)."""
    for uri in ("memory://", REDIS_URL):
        prefix = f"ruhui-bench-{uuid.uuid4().hex[:8]}"
        limits = RateLimits(uri, prefix)
        label = uri.split(":")[0]

        def acquire(i: int, limits: RateLimits = limits) -> object:
            number = str(i)
            return limits.acquire(
                [
                    (Limit("phone-minute", "1/minute"), number),
                    (Limit("phone-hour", "5/hour"), number),
                    (Limit("phone-day", "10/day"), number),
                    (Limit("ip-hour", "20/hour"), number),
                    (Limit("budget", "1000000/day", fixed=True), "today"),
                ]
            )

        try:
            measure(f"SMS limits: check + count 5 windows ({label})", 2000, acquire)
        finally:
            limits.close()
            if label == "redis":
                client = redis.Redis.from_url(REDIS_URL)
                keys = list(client.scan_iter(match=f"{prefix}*"))
                if keys:
                    client.delete(*keys)
                client.close()


def main() -> None:
    logging.getLogger("ruhui").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as scratch:
        url = os.environ.get("DATABASE_URL", "")
        if url.startswith("postgres"):
            url = normalise_database_url(url)
        else:
            url = f"sqlite:///{Path(scratch) / 'bench.sqlite3'}"
        migrate.upgrade(url)
        app = create_app({"env": "test", "database_url": url, "secret_key": "bench-" + "k" * 40})
        logging.getLogger("ruhui").setLevel(logging.WARNING)
        print(f"database: {url.split('://')[0]}")

        with app.test_request_context():
            token, _ = issue_access_token("worker", 1)
            measure("issue access token", 5000, lambda i: issue_access_token("worker", i))
            measure("verify access token", 5000, lambda i: decode_access_token(token))

        bench_rate_limits()

        client = app.test_client()
        sent: dict[str, str] = {}

        # Read codes straight from the console gateway's log records.
        class Catch(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                sent[record.__dict__["phone"]] = record.__dict__["text"][8:14]

        console = logging.getLogger("ruhui.sms.console")
        console.setLevel(logging.INFO)
        console.propagate = False  # keep thousands of codes off the terminal
        console.addHandler(Catch())
        tokens: list[str] = []

        def sign_in(i: int) -> None:
            phone = f"139{i:08d}"
            address = f"10.0.{i // 250}.{i % 250}"  # 20 codes per address per hour: spread them
            challenge = client.post("/api/v1/auth/otp", json={"phone": phone}, environ_base={"REMOTE_ADDR": address})
            challenge = challenge.get_json()
            answer = client.post(
                "/api/v1/auth/otp/verify", json={"challenge_id": challenge["challenge_id"], "code": sent[phone]}
            ).get_json()
            tokens.append(answer["refresh_token"])

        measure("SMS sign-in: request code + verify (HTTP)", 300, sign_in)
        measure(
            "refresh (rotate) a session (HTTP)",
            300,
            lambda i: client.post("/api/v1/auth/refresh", json={"refresh_token": tokens[i]}),
        )
        app.extensions["ruhui.rate_limits"].close()
        app.extensions["ruhui.engine"].dispose()


if __name__ == "__main__":
    main()
