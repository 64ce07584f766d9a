"""Benchmark: CPU per request of the hot endpoints in process, beside a bare Flask app — no HTTP, no gunicorn.

``bench.http`` shows throughput under gunicorn, where gunicorn's own per-request work and the load
generator share the CPU with the app; this shows what the app itself costs, so that a change to a
hook or a view can be judged on a busy machine: the CPU time of the calling thread (not wall time)
per WSGI call, the best of ``--repeat`` runs of ``--requests`` each, for bare Flask's ``GET /ping``,
``/healthz``, resolve (``GET /api/v1/join/{token}``) and the landing page (``GET /j/{token}``),
every scan from a new device and address (through ``TRUSTED_PROXY_HOPS=1``), as in ``bench.http``.
It also prints the cyclic garbage collector's time per request (``gc.callbacks``), with the app
frozen as each gunicorn worker freezes it (``gunicorn.conf.py``) or, with ``--no-freeze``, not.

    .venv/bin/python -m bench.request_cpu [--requests 3000] [--repeat 3] [--profile resolve]

Scans are written by the batches' thread (``SCAN_FLUSH_MS``), whose CPU is not the calling
thread's: ``bench.join_scans`` and ``bench.http`` count it.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import itertools
import os
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any

from werkzeug.test import EnvironBuilder

from app import create_app
from app.joincodes.scanlog import flush_all
from bench._bare_flask import app as bare_app
from bench.join_scans import SECRET, scratch_database, seed

Wsgi = Callable[..., Any]
Make = Callable[[int], tuple[str, dict[str, str]]]


class GcTimer:
    """Seconds the cyclic collector ran, from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def call(app: Wsgi, environ: dict[str, Any]) -> str:
    status: list[str] = []
    body = app(environ, lambda s, _h, _e=None: status.append(s))
    b"".join(body)
    getattr(body, "close", lambda: None)()
    return status[0]


def measure(app: Wsgi, make: Make, *, requests: int, repeat: int, timer: GcTimer) -> tuple[str, float, float]:
    """(status of a request, best CPU µs per request, collector µs per request)."""

    def environ(k: int) -> dict[str, Any]:
        path, headers = make(k)
        return EnvironBuilder(path=path, headers=headers).get_environ()

    for k in range(300):  # warm: first statements, the caches
        call(app, environ(k))
    status = call(app, environ(10**6))
    best = float("inf")
    timer.seconds = 0.0
    for run in range(repeat):
        environs = [environ(k + (run + 10) * 10**6) for k in range(requests)]
        started = time.thread_time()
        for env in environs:
            call(app, env)
        best = min(best, (time.thread_time() - started) / requests * 1e6)
    return status, best, timer.seconds / (requests * repeat) * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests per run (default 3000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per endpoint, the best one counts (default 3)")
    parser.add_argument("--no-freeze", action="store_true", help="leave the loaded app to the collector")
    parser.add_argument("--profile", choices=("bare", "healthz", "resolve", "landing"), help="cProfile one endpoint")
    args = parser.parse_args(argv)

    with scratch_database("") as url:
        tokens = seed(url, 200)
        app = create_app(
            {
                "database_url": url,
                "secret_key": SECRET,
                "env": "development",
                "log_level": "INFO",  # the access line is written, as in production
                "trusted_proxy_hops": 1,
                "public_base_url": "https://bench.example.cn",
            }
        )
        out = sys.stdout
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115  # the access lines, for the whole run
        if not args.no_freeze:
            gc.collect()
            gc.freeze()
        devices = itertools.count()

        def scanner(_k: int) -> dict[str, str]:
            n = next(devices)
            return {
                "X-Device-Id": f"bench-{n}",
                "X-Forwarded-For": f"10.{200 + n // 62500 % 50}.{n // 250 % 250}.{n % 250}",
            }

        cases: dict[str, tuple[Wsgi, Make]] = {
            "bare": (bare_app.wsgi_app, lambda k: ("/ping", {})),
            "healthz": (app.wsgi_app, lambda k: ("/healthz", {})),
            "resolve": (app.wsgi_app, lambda k: (f"/api/v1/join/{tokens[k % len(tokens)]}", scanner(k))),
            "landing": (app.wsgi_app, lambda k: (f"/j/{tokens[k % len(tokens)]}", scanner(k))),
        }
        timer = GcTimer()
        gc.callbacks.append(timer)
        print(f"{'endpoint':<10} {'status':<8} {'CPU µs':>8} {'gc µs':>7}   (best of {args.repeat} × {args.requests})")
        for name, (wsgi, make) in cases.items():
            status, cpu, collector = measure(wsgi, make, requests=args.requests, repeat=args.repeat, timer=timer)
            print(f"{name:<10} {status:<8} {cpu:>8.1f} {collector:>7.1f}", file=out, flush=True)
        if args.profile:
            wsgi, make = cases[args.profile]
            environs = [EnvironBuilder(path=make(k)[0], headers=make(k)[1]).get_environ() for k in range(args.requests)]
            profiler = cProfile.Profile()
            profiler.enable()
            for env in environs:
                call(wsgi, env)
            profiler.disable()
            pstats.Stats(profiler, stream=out).sort_stats("cumtime").print_stats(40)
        gc.callbacks.remove(timer)
        flush_all()


if __name__ == "__main__":
    main()
