"""A department's list at the import's limit: 20,000 founding targets, then the next month's list.

Seeds a scratch database (SQLite in a temporary file, or a scratch PostgreSQL database when
DATABASE_URL points at PostgreSQL) with one federation, then imports a market-regulation list of
``--rows`` units through ``app.founding.imports`` (as ``POST /imports/founding-targets`` does), and
a second list of the same source with 1% of the units changed and 1% gone. Prints the seconds
each import took and its difference report:

    .venv/bin/python -m bench.founding_import [--rows 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

from sqlalchemy.orm import Session

from app import migrate
from app.actors import Actor
from app.db import create_db_engine
from app.directory import service
from app.directory.uscc import check_character
from app.founding import imports
from bench.union_subtree import scratch_database

HEADER = "uscc,name,region_code,sector,headcount,founded_on,address\n"


def _uscc(serial: int) -> str:
    body = f"91320102MA{serial:07d}"
    return body + check_character(body)


def _csv(rows: int, *, changed: int = 0, gone: int = 0) -> bytes:
    lines = [HEADER]
    for n in range(gone, rows):
        headcount = 50 + n % 300 + (1 if n < gone + changed else 0)
        lines.append(f"{_uscc(n)},测试单位{n},320102,express_delivery,{headcount},2015-03-01,玄武区中山路 {n} 号\n")
    return "".join(lines).encode()


def _import(url: str, scope: Actor, content: bytes) -> tuple[float, imports.FoundingImportResult]:
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            started = time.perf_counter()
            result = imports.import_targets(session, scope, "market_regulation", io.BytesIO(content))
            session.commit()
            return time.perf_counter() - started, result
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    first, second = _csv(args.rows), _csv(args.rows, changed=args.rows // 100, gone=args.rows // 100)
    print(f"{args.rows} rows, {len(first) / 1024:.0f} KiB")
    timings: dict[str, list[float]] = {"first": [], "second": []}
    for _ in range(args.repeat):
        with scratch_database() as url:
            migrate.upgrade(url)
            engine = create_db_engine(url)
            with Session(engine) as session:
                root = service.add_union(session, name="玄武区总工会", kind="federation", region_code="320102")
                session.commit()
                scope = Actor(kind="system", id=0, union_id=root.id, union_path=root.path)
            engine.dispose()
            seconds, result = _import(url, scope, first)
            timings["first"].append(seconds)
            print(f"  first:  {seconds:6.2f} s  created={result.created}")
            seconds, result = _import(url, scope, second)
            timings["second"].append(seconds)
            print(
                f"  second: {seconds:6.2f} s  created={result.created} changed={result.changed} "
                f"gone={result.gone} unchanged={result.unchanged}"
            )
    for name, values in timings.items():
        print(f"{name} import: median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
