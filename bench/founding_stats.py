"""The founding ledger's figures, the unbuilt list and the monthly report on a province-sized ledger.

Seeds a scratch database (SQLite in a temporary file, or a scratch PostgreSQL database when
DATABASE_URL points at PostgreSQL) with a province, 13 cities and 5 districts each (79 federations),
``--targets`` founding targets spread over them (a tenth with an enterprise union) and a case for
every fifth target at a stage in turn, then times, from the province's scope:
``founding_stats`` by union, sector, region and source; the first page and a page deep in
``unbuilt``; and the whole ``founding.xlsx`` report. Prints each median and range over ``--repeat``:

    .venv/bin/python -m bench.founding_stats [--targets 50000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from app import migrate
from app.actors import Actor
from app.db import create_db_engine, utcnow
from app.directory import service
from app.directory.models import Employer, Union
from app.directory.regions import is_valid_region_code
from app.directory.uscc import check_character
from app.exports import founding as report
from app.founding.models import FoundingCase, FoundingTarget
from app.founding.vocabulary import SECTORS, STAGES
from app.stats import founding as ledger
from bench.union_subtree import scratch_database

CITIES = [f"32{n:02d}00" for n in range(1, 14)]


def _uscc(serial: int) -> str:
    body = f"91320102MA{serial:07d}"
    return body + check_character(body)


def _seed(session: Session, targets: int) -> Actor:
    province = service.add_union(session, name="江苏省总工会", kind="federation", region_code="320000")
    districts = []
    for city_code in CITIES:
        city = service.add_union(session, name=f"{city_code}总工会", kind="federation", region_code=city_code,
                                 parent=province)  # fmt: skip
        districts.append(city)
        for code in [c for c in (city_code[:4] + f"{d:02d}" for d in range(1, 13)) if is_valid_region_code(c)][:5]:
            districts.append(service.add_union(session, name=f"{code}总工会", kind="federation", region_code=code,
                                               parent=city))  # fmt: skip
    session.commit()
    sectors = list(SECTORS)
    rows, employers = [], []
    for n in range(targets):
        keeper = districts[n % len(districts)]
        rows.append({"uscc": _uscc(n), "name": f"单位{n}", "region_code": keeper.region_code,
                     "sector": sectors[n % len(sectors)], "headcount": (n * 37) % 900, "source": "market_regulation",
                     "founded_on": dt.date(2000 + n % 25, 1, 1), "union_id": keeper.id, "address": "",
                     "gone": False})  # fmt: skip
    session.execute(sa.insert(FoundingTarget), rows)
    founded = session.execute(
        sa.select(FoundingTarget.id, FoundingTarget.uscc, FoundingTarget.union_id, FoundingTarget.region_code).where(
            FoundingTarget.id % 10 == 0
        )
    ).all()
    for target_id, uscc, union_id, region in founded:
        employer = Employer(name=f"雇主{target_id}", uscc=uscc, region_code=region, union_id=union_id)
        session.add(employer)
        employers.append((target_id, employer))
    session.flush()
    for target_id, employer in employers:
        session.execute(sa.update(FoundingTarget).where(FoundingTarget.id == target_id).values(employer_id=employer.id))
        session.execute(sa.insert(Union), [{"name": f"雇主{target_id}工会", "kind": "enterprise",
                        "region_code": employer.region_code, "employer_id": employer.id, "path": "/x/",
                        "occupations": [], "accepting": True}])  # fmt: skip
    today = utcnow().date()
    cases = session.execute(
        sa.select(FoundingTarget.id, FoundingTarget.union_id).where(FoundingTarget.id % 5 == 1)
    ).all()
    session.execute(sa.insert(FoundingCase), [
        {"target_id": t, "union_id": u, "stage": STAGES[i % len(STAGES)], "source": "officer", "figures": {},
         "planned_by": today + dt.timedelta(days=(i % 60) - 30), "version": 1}
        for i, (t, u) in enumerate(cases)
    ])  # fmt: skip
    session.commit()
    return Actor(kind="officer", id=0, role="admin", union_id=province.id, union_path=province.path)


def _time(label: str, repeat: int, run: Callable[[], object]) -> None:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    print(f"  {label:<28} median {statistics.median(seconds) * 1000:8.1f} ms  "
          f"range {min(seconds) * 1000:.1f}–{max(seconds) * 1000:.1f} ms")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with scratch_database() as url:
        migrate.upgrade(url)
        engine = create_db_engine(url)
        sessions = sessionmaker(engine, expire_on_commit=False)
        with sessions() as session:
            scope = _seed(session, args.targets)
        print(f"{args.targets} targets, {engine.dialect.name}")
        now = utcnow()
        with sessions() as session:
            for by in ledger.FOUNDING_GROUPINGS:
                _time(
                    f"stats by={by}", args.repeat, lambda by=by: ledger.founding_stats(session, scope, by=by, now=now)
                )
            _time("unbuilt first page", args.repeat, lambda: ledger.unbuilt(session, scope, now=now, limit=50))
            deep = ledger.unbuilt(session, scope, now=now, limit=200)
            for _ in range(20):
                deep = ledger.unbuilt(session, scope, now=now, limit=200, cursor=deep.next_cursor)
            _time("unbuilt page 22", args.repeat,
                  lambda: ledger.unbuilt(session, scope, now=now, limit=50, cursor=deep.next_cursor))  # fmt: skip

            def whole_report() -> int:
                prepared = report.prepare_founding_report(session, scope, now=now)
                return sum(len(chunk) for chunk in report.report_bytes(prepared, scope, sessions))

            size = whole_report()
            _time(f"founding.xlsx ({size / 1024:.0f} KiB)", max(1, args.repeat // 2), whole_report)
        engine.dispose()


if __name__ == "__main__":
    main()
