"""Exports stay within a small, fixed memory: 10,000 and 100,000 rows, CSV and XLSX, masked and unmasked.

Seeds a scratch database (SQLite in a temporary file; a scratch PostgreSQL database
when DATABASE_URL points there) with applications and members in batches, then
downloads ``/exports/{applications|members}.{csv|xlsx}`` through the app (a test
client reading the streamed body chunk by chunk, the way a browser does) and
reports, per export, how far the process's resident memory rose above what it
held before the download (sampled from /proc every 5 ms; tracemalloc would be
exact for Python objects but slows openpyxl tenfold), the bytes produced and the
time taken. Flat memory means the 100k figure is about the 10k one, not ten times it.

    .venv/bin/python -m bench.exports_memory [--rows 10000 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import logging
import os
import threading
import time
from typing import Any

import sqlalchemy as sa

from app import create_app, migrate
from app.auth import service as auth_service
from app.auth.phones import PHONE_PURPOSE
from app.auth.tokens import issue_access_token
from app.db import utcnow
from app.directory import service as directory_service
from app.directory.models import Station, Union
from app.enrollment.service import ID_NUMBER_CONTEXT, NAME_CONTEXT
from bench.union_subtree import scratch_database

BATCH = 5_000
EXPORTS = ("applications.csv", "applications.xlsx", "members.csv", "members.xlsx")


def seed(app: Any, start: int, stop: int) -> None:
    """Applications ``start`` … ``stop - 1`` (two thirds approved, each with a membership), in batches."""
    engine = app.extensions["ruhui.engine"]
    ring = app.extensions["ruhui.keyring"]
    # One sealed value reused: sealing is per row in real life, but its cost is not what is measured here.
    name_sealed = ring.encrypt("张三丰", NAME_CONTEXT)
    id_sealed = ring.encrypt("11010519491231002X", ID_NUMBER_CONTEXT)
    phone_sealed = ring.encrypt("13900000000", PHONE_PURPOSE)
    now = utcnow()
    metadata = sa.MetaData()
    tables = {name: sa.Table(name, metadata, autoload_with=engine) for name in
              ("persons", "identities", "applications", "memberships")}  # fmt: skip
    with engine.begin() as connection:
        union_id, union_path = connection.execute(sa.select(Union.id, Union.path).limit(1)).one()
        station_id = connection.scalar(sa.select(Station.id).limit(1))
        for low in range(start, stop, BATCH):
            ids = range(low, min(low + BATCH, stop))
            connection.execute(sa.insert(tables["persons"]), [
                {"id": i, "phone_index": f"p{i}", "phone_sealed": phone_sealed, "phone_masked": "139****0000",
                 "created_at": now, "updated_at": now} for i in ids])  # fmt: skip
            connection.execute(sa.insert(tables["identities"]), [
                {"id": i, "id_number_index": f"i{i}", "id_number_sealed": id_sealed, "name_sealed": name_sealed,
                 "name_masked": "张**", "id_number_masked": "110105********002X", "birth_date": dt.date(1949, 12, 31),
                 "sex": "female", "person_id": i, "created_at": now, "updated_at": now} for i in ids])  # fmt: skip
            connection.execute(sa.insert(tables["applications"]), [
                {"id": i, "person_id": i, "identity_id": i, "station_id": station_id, "union_id": union_id,
                 "union_path": union_path, "region_code": "320102", "occupation": "courier",
                 "employment_form": "platform", "is_transfer": False, "consent_version": "2026-01",
                 "status": "approved" if i % 3 else "pending", "route_rule": "industry", "route_trace": [],
                 "decision_reason": "=1+1 看起来像公式的处理意见", "submitted_at": now, "due_at": now,
                 "decided_at": now if i % 3 else None, "member_no": f"M{i:010d}" if i % 3 else None, "version": 1,
                 "created_at": now, "updated_at": now} for i in ids])  # fmt: skip
            connection.execute(sa.insert(tables["memberships"]), [
                {"id": i, "identity_id": i, "union_id": union_id, "application_id": i, "member_no": f"M{i:010d}",
                 "status": "active", "since": now, "created_at": now, "updated_at": now}
                for i in ids if i % 3])  # fmt: skip


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakResident(threading.Thread):
    """Samples the resident set size until stopped; ``rise`` is the peak above the starting size."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.start_size = self.peak = resident_bytes()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.005):
            self.peak = max(self.peak, resident_bytes())

    def stop(self) -> float:
        self.done.set()
        self.join()
        self.peak = max(self.peak, resident_bytes())
        return (self.peak - self.start_size) / 2**20


def measure(client: Any, headers: dict[str, str], path: str, unmasked: bool) -> tuple[float, int, float]:
    """MiB the resident set rose while downloading, bytes received, seconds."""
    gc.collect()
    sampler = PeakResident()
    sampler.start()
    started = time.perf_counter()
    received = 0
    with client.get(path, query_string={"unmasked": "1"} if unmasked else {}, headers=headers, buffered=False) as r:
        assert r.status_code == 200, r.status_code
        for chunk in r.response:
            received += len(chunk)
    elapsed = time.perf_counter() - started
    return sampler.stop(), received, elapsed


def run(sizes: list[int]) -> None:
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
            with app.app_context():
                officer = auth_service.create_officer(
                    session,
                    username="bench",
                    password="bench-password-1",  # noqa: S106  # an officer of a throwaway database
                    name="基准",
                    union_id=province.id,
                    role="admin",
                )
            session.commit()
        with app.test_request_context():
            token, _ = issue_access_token("officer", officer.id)
        headers = {"Authorization": f"Bearer {token}"}
        client = app.test_client()
        print(f"database: {url.split(':', 1)[0]}")
        print(f"{'rows':>8}  {'export':<20}{'masked':<9}{'RSS +MiB':>9}{'MiB out':>9}{'seconds':>9}")
        seeded = 1
        for size in sizes:
            seed(app, seeded, size + 1)
            seeded = size + 1
            for export in EXPORTS:
                for unmasked in (False, True):
                    peak, received, elapsed = measure(client, headers, f"/api/v1/exports/{export}", unmasked)
                    label = "no" if unmasked else "yes"
                    print(f"{size:>8,}  {export:<20}{label:<9}{peak:>9.2f}{received / 2**20:>9.2f}{elapsed:>9.2f}")
        app.extensions["ruhui.engine"].dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args(argv)
    run(sorted(args.rows))


if __name__ == "__main__":
    main()
