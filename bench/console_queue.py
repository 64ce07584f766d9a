"""The console's queue page at a million applications: server time of ``GET /console/review``, PostgreSQL.

Seeds a scratch database exactly as ``bench.review_queue`` does (a city federation, districts, streets, an
industry union, 100 stations, N applications), adds a signed-in city reviewer, and times the whole page
in-process — the session check, the queue query, the duplicate flags, the union list and the template —
through Flask's test client, so no network or browser time is counted:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.console_queue
    … -m bench.console_queue --applications 200000 --repeat 20

Prints median and p95 milliseconds per page, the app process's own CPU milliseconds per page (the
Python side alone: steadier than wall time on a busy machine, which mostly waits for PostgreSQL then),
the SQL statements per page (each a round trip; the final ROLLBACK of the request is not counted),
and the median of the service's queue query alone (the rest is the session check, the union list and
the template); the target is under 100 ms (issue 15), and 30 ms (issue 16).

    … -m bench.console_queue --keep ruhui_bench_1m   # seed once, reuse (see bench.review_queue)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from app import create_app, migrate
from app.actors import Actor
from app.auth import service as auth_service
from app.auth.models import Officer
from app.console.review import PAGE_SIZE, read_queue_args
from app.console.session import OFFICER_ID, OFFICER_SEEN, OFFICER_SINCE
from app.db import utcnow
from app.review.service import review_queue
from bench.review_queue import CITY, bench_database, seed, shape_of, timed

TARGET_MS = 30.0
_NEXT = re.compile(r'href="(/console/review\?[^"]*cursor=[^"]+)">下一页')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--deep", type=int, default=50, help="how many pages deep the deep page is")
    parser.add_argument("--keep", metavar="NAME", help="seed a database of this name once and keep it")
    args = parser.parse_args(argv)
    with bench_database(args.keep, args.applications) as (url, seeded):
        if not url.startswith("postgresql"):
            print("bench.console_queue needs PostgreSQL: set DATABASE_URL=postgresql://…", file=sys.stderr)
            return
        migrate.upgrade(url)
        app = create_app({"database_url": url, "env": "development", "log_level": "WARNING"})
        engine = app.extensions["ruhui.engine"]
        if not seeded:
            seed(engine, args.applications)
        with app.app_context(), app.extensions["ruhui.sessionmaker"]() as session:
            officer = session.scalar(sa.select(Officer).where(Officer.username == "bench-reviewer"))
            officer = officer or auth_service.create_officer(
                session,
                username="bench-reviewer",
                password="bench-password",  # noqa: S106  # a scratch database dropped after the run
                name="审核员",
                union_id=CITY,
                role="reviewer",
            )
            session.commit()
            officer_id = officer.id
        client = app.test_client()
        with client.session_transaction() as cookie:
            now = time.time()
            cookie[OFFICER_ID], cookie[OFFICER_SEEN], cookie[OFFICER_SINCE] = officer_id, now, now

        shape = shape_of(engine)
        statements = [0]
        sa.event.listen(engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))

        def get(path: str) -> Any:
            response = client.get(path)
            assert response.status_code == 200, response.status_code
            return response

        cases = {
            "pending, oldest first (default)": "/console/review",
            "every status": "/console/review?status=",
            "one union (industry)": f"/console/review?union_id={shape.industry}",
            "one station": f"/console/review?station_id={shape.station}",
            "surname search": "/console/review?q=%E5%BC%A0",
        }
        reviewer = Actor(kind="officer", id=officer_id, role="reviewer", union_id=CITY, union_path="/1/2/")
        sessions = app.extensions["ruhui.sessionmaker"]

        def query_only(path: str) -> None:
            """The service's queue query alone, with the filters the page reads from ``path``."""
            query = MultiDict(
                [(k, v) for k, vs in parse_qs(urlsplit(path).query, keep_blank_values=True).items() for v in vs]
            )
            parsed = read_queue_args(query)
            assert parsed.filters is not None
            with app.test_request_context(), sessions() as session:
                review_queue(
                    session,
                    reviewer,
                    filters=parsed.filters,
                    limit=PAGE_SIZE,
                    cursor=parsed.cursor,
                    now=utcnow(),
                    flag_duplicates=True,
                )

        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        heading = f"{'queue page':<34} {'page':>5} {'median ms':>10} {'p95 ms':>8} {'app CPU':>8} {'SQL':>5}"
        heading += f" {'query ms':>9}"
        print(f"{heading}  target < {TARGET_MS:.0f} ms")

        def report(label: str, depth: int, path: str) -> None:
            cpu_started, statements[0] = time.process_time(), 0
            median, p95 = timed(args.repeat, lambda: get(path))
            cpu = (time.process_time() - cpu_started) * 1000 / args.repeat
            per_page = statements[0] / args.repeat
            query, _ = timed(args.repeat, lambda: query_only(path))
            print(f"{label:<34} {depth:>5} {median:>10.2f} {p95:>8.2f} {cpu:>8.2f} {per_page:>5.0f} {query:>9.2f}")

        for label, path in cases.items():
            first = get(path)
            report(label, 1, path)
            # Follow 下一页 links to the deep page, then time that page alone.
            link, depth, deepest = _NEXT.search(first.get_data(as_text=True)), 1, None
            while link and depth < args.deep:
                deepest, depth = link.group(1).replace("&amp;", "&"), depth + 1
                link = _NEXT.search(get(deepest).get_data(as_text=True))
            if deepest:
                report(label, depth, deepest)
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
        engine.dispose()


if __name__ == "__main__":
    main()
