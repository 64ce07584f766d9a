"""The retention run over many applications: how long the dry run and the erasure take.

Seeds a scratch database (SQLite in a temporary file; a scratch PostgreSQL database when
DATABASE_URL points there) with applications in three equal parts: rejected 400 days ago
(erasable), approved with an active membership (held), and pending this week (held).
Times ``count_erasable`` (``retention run --dry-run``) and the erasure in batches as
``flask --app wsgi retention run`` does it, and reports identities erased per second.

    .venv/bin/python -m bench.retention [--rows 10000 30000] [--batch-size 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time
from typing import Any

import sqlalchemy as sa

from app import create_app, migrate
from app.auth.phones import PHONE_PURPOSE
from app.db import utcnow
from app.directory import service as directory_service
from app.directory.models import Station, Union
from app.enrollment.service import ID_NUMBER_CONTEXT, NAME_CONTEXT
from app.retention import service as retention
from bench.union_subtree import scratch_database

BATCH = 5_000
DAYS = 365


def seed(app: Any, start: int, stop: int) -> None:
    """Applications ``start`` … ``stop - 1``: a third old rejections, a third members, a third pending."""
    engine = app.extensions["ruhui.engine"]
    ring = app.extensions["ruhui.keyring"]
    # Sealed once and reused: sealing is per row in real life, opening is what the erasure pays.
    name_sealed = ring.encrypt("张三丰", NAME_CONTEXT)
    id_sealed = ring.encrypt("11010519491231002X", ID_NUMBER_CONTEXT)
    phone_sealed = ring.encrypt("13900000000", PHONE_PURPOSE)
    now = utcnow()
    old = now - dt.timedelta(days=400)
    metadata = sa.MetaData()
    tables = {name: sa.Table(name, metadata, autoload_with=engine) for name in
              ("persons", "identities", "applications", "memberships")}  # fmt: skip
    with engine.begin() as connection:
        union_id, union_path = connection.execute(sa.select(Union.id, Union.path).limit(1)).one()
        station_id = connection.scalar(sa.select(Station.id).limit(1))
        for low in range(start, stop, BATCH):
            ids = range(low, min(low + BATCH, stop))
            at = {i: old if i % 3 == 0 else now for i in ids}
            status = {i: ("rejected", "approved", "pending")[i % 3] for i in ids}
            connection.execute(sa.insert(tables["persons"]), [
                {"id": i, "phone_index": f"p{i}", "phone_sealed": phone_sealed, "phone_masked": "139****0000",
                 "created_at": at[i], "updated_at": at[i]} for i in ids])  # fmt: skip
            connection.execute(sa.insert(tables["identities"]), [
                {"id": i, "id_number_index": f"i{i}", "id_number_sealed": id_sealed, "name_sealed": name_sealed,
                 "name_masked": "张**", "id_number_masked": "110105********002X", "birth_date": dt.date(1949, 12, 31),
                 "sex": "female", "person_id": i, "created_at": at[i], "updated_at": at[i]} for i in ids])  # fmt: skip
            connection.execute(sa.insert(tables["applications"]), [
                {"id": i, "person_id": i, "identity_id": i, "station_id": station_id, "union_id": union_id,
                 "union_path": union_path, "region_code": "320102", "occupation": "courier",
                 "employment_form": "platform", "is_transfer": False, "consent_version": "2026-01",
                 "status": status[i], "route_rule": "industry", "route_trace": [],
                 "decision_reason": "材料不全" if status[i] == "rejected" else None, "submitted_at": at[i],
                 "due_at": at[i], "decided_at": at[i] if status[i] != "pending" else None,
                 "member_no": f"M{i:010d}" if status[i] == "approved" else None, "version": 1,
                 "created_at": at[i], "updated_at": at[i]} for i in ids])  # fmt: skip
            connection.execute(sa.insert(tables["memberships"]), [
                {"id": i, "identity_id": i, "union_id": union_id, "application_id": i, "member_no": f"M{i:010d}",
                 "status": "active", "since": now, "status_changed_at": now, "created_at": now, "updated_at": now}
                for i in ids if status[i] == "approved"])  # fmt: skip


def run(sizes: list[int], batch_size: int) -> None:
    with scratch_database() as url:
        migrate.upgrade(url)
        app = create_app({"env": "test", "database_url": url, "secret_key": "bench-secret-key-" + "x" * 32})
        logging.getLogger("ruhui").setLevel(logging.WARNING)
        maker = app.extensions["ruhui.sessionmaker"]
        with maker() as session:
            province = directory_service.add_union(
                session, name="江苏省总工会", kind="federation", region_code="320000"
            )
            session.add(Station(name="玄武点部", union_id=province.id, region_code="320102", occupation="courier"))
            session.commit()
        print(f"database: {url.split(':', 1)[0]}, batch size {batch_size}")
        print(f"{'rows':>8}{'erasable':>10}{'dry run s':>11}{'erase s':>9}{'identities/s':>14}")
        seeded = 1
        for size in sizes:
            seed(app, seeded, size + 1)
            seeded = size + 1
            with app.app_context(), maker() as session:
                now = utcnow()
                started = time.perf_counter()
                dry = retention.count_erasable(session, now=now, days=DAYS)
                dry_seconds = time.perf_counter() - started
                started = time.perf_counter()
                erased = 0
                while True:
                    batch = retention.erase_batch(session, now=now, days=DAYS, limit=batch_size)
                    session.commit()
                    erased += batch.identities
                    if batch.identities < batch_size and batch.persons < batch_size:
                        break
                seconds = time.perf_counter() - started
                assert erased == dry.identities, (erased, dry)
                rate = erased / seconds if seconds else 0.0
                print(f"{size:>8,}{dry.identities:>10,}{dry_seconds:>11.2f}{seconds:>9.2f}{rate:>14,.0f}")
        app.extensions["ruhui.engine"].dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 30_000])
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args(argv)
    run(sorted(args.rows), args.batch_size)


if __name__ == "__main__":
    main()
