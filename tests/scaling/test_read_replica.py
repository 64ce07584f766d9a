"""Reports read a real streaming replica (``DATABASE_READ_URL``); writes and read-your-own-write stay on the primary.

The primary is a private cluster of the test's own; the replica is made from it the way
production makes one (``pg_basebackup -R``, started as a hot standby on another port;
``tests/fakes/servers.py``). While the replica's replay is paused
(``pg_wal_replay_pause``), what the primary has just written is missing from the
statistics, the funnel, the review queue's list and the exports — they read the replica —
but shown by the paths that must see it: the application's own page, the worker's
list, the console right after an officer's decision. The machine's shared PostgreSQL
is never touched.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app import create_app, migrate
from app.auth import service as auth_service
from app.auth.tokens import issue_access_token
from app.db import db
from app.directory import service as directory_service
from app.directory.models import Station
from app.joincodes import service as joincodes_service
from tests.conftest import CONSENT, id_number
from tests.console.support import post_form, sign_in
from tests.fakes.servers import PrivatePostgres

pytestmark = pytest.mark.postgres


@dataclass
class Seeded:
    app: Flask
    client: FlaskClient
    admin: dict[str, str]
    token: str
    code_id: int


@pytest.fixture
def standby(private_postgres: PrivatePostgres) -> Iterator[PrivatePostgres]:
    migrate.upgrade(private_postgres.url)
    with private_postgres.standby() as replica:
        yield replica


@pytest.fixture
def seeded(private_postgres: PrivatePostgres, standby: PrivatePostgres, app_config: dict[str, Any]) -> Iterator[Seeded]:
    app = create_app({**app_config, "database_url": private_postgres.url, "database_read_url": standby.url})
    session = app.extensions["ruhui.sessionmaker"]()
    with app.app_context():
        province = directory_service.add_union(session, name="江苏省总工会", kind="federation", region_code="320000")
        officer = auth_service.create_officer(
            session, username="replica-admin", password="long-enough-pass", name="测试", union_id=province.id,
            role="admin",
        )  # fmt: skip
        station = Station(name="玄武骑手驿站", union_id=province.id, region_code="320102", occupation="courier")
        session.add(station)
        session.flush()
        code = joincodes_service.create_join_code(session, station, created_by_id=None)
        session.commit()
        token, _ = issue_access_token("officer", officer.id)
    session.close()
    try:
        yield Seeded(app, app.test_client(), {"Authorization": f"Bearer {token}"}, code.token, code.id)
    finally:
        app.extensions["ruhui.rate_limits"].close()
        db.dispose(app)


def _submit(seeded: Seeded, n: int) -> tuple[str, dict[str, str]]:
    """A new worker applies through the code (on the primary); returns the application id and the worker's headers."""
    with seeded.app.app_context():
        session = seeded.app.extensions["ruhui.sessionmaker"]()
        person = auth_service.find_or_create_person(session, f"1391234{n:04d}")
        session.commit()
        token, _ = issue_access_token("worker", person.id)
        session.close()
    worker = {"Authorization": f"Bearer {token}"}
    body = {
        "join_token": seeded.token, "full_name": "张三", "id_number": id_number(n), "occupation": "courier",
        "employment_form": "platform", "consent_version": CONSENT,
    }  # fmt: skip
    response = seeded.client.post("/api/v1/applications", json=body, headers=worker)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"], worker


def _reports(seeded: Seeded) -> dict[str, Any]:
    """What the officer's reports say: pending in coverage, scans in the funnel, the queue's ids, the export's ids."""
    get = seeded.client.get
    coverage = get("/api/v1/stats/coverage?by=occupation", headers=seeded.admin)
    funnel = get(f"/api/v1/stats/funnel?join_code_id={seeded.code_id}", headers=seeded.admin)
    queue = get("/api/v1/review/applications", headers=seeded.admin)
    export = get("/api/v1/exports/applications.csv", headers=seeded.admin)
    for response in (coverage, funnel, queue, export):
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))[1:]
    return {
        "pending": coverage.get_json()["total"]["pending"],
        "scans": funnel.get_json()["figures"]["scans"],
        "applications": funnel.get_json()["figures"]["applications"],
        "queue": {item["id"] for item in queue.get_json()["items"]},
        "export": {
            row[0].strip() for row in rows
        },  # ids as text (a leading tab keeps spreadsheets from reformatting them)
    }


def test_reports_read_the_replica_and_lag_with_it_while_own_writes_read_the_primary(seeded, standby):
    first, _ = _submit(seeded, 1)
    standby.wait_for_replay()
    before = _reports(seeded)
    assert before["pending"] == 1 and before["queue"] == {first} and before["export"] == {first}
    assert before["applications"] == 1

    standby.pause_replay()
    second, worker = _submit(seeded, 2)
    assert seeded.client.get(f"/api/v1/join/{seeded.token}").status_code == 200  # a scan, counted on the primary

    lagging = _reports(seeded)
    assert lagging == before  # every report reads the replica, which has not replayed the new rows yet
    # Read-your-own-write paths read the primary: the application's own page and the worker's list.
    detail = seeded.client.get(f"/api/v1/review/applications/{second}", headers=seeded.admin)
    assert detail.status_code == 200 and detail.get_json()["id"] == second
    mine = seeded.client.get("/api/v1/me/applications", headers=worker)
    assert [item["id"] for item in mine.get_json()["items"]] == [second]

    standby.resume_replay()
    standby.wait_for_replay()
    after = _reports(seeded)
    assert after["pending"] == 2 and after["applications"] == 2 and after["scans"] == before["scans"] + 1
    assert after["queue"] == after["export"] == {first, second}


def test_the_replica_answers_as_the_reports_connection(seeded, standby):
    """The figures come over a connection to the standby: it is in recovery, and its sessions show the app's read."""
    _submit(seeded, 1)
    standby.wait_for_replay()
    with seeded.app.app_context():
        assert db.has_replica
        assert db.read_session.execute(sa.text("SELECT pg_is_in_recovery()")).scalar() is True
        assert db.session.execute(sa.text("SELECT pg_is_in_recovery()")).scalar() is False


def test_a_replica_that_is_down_is_503_for_reports_only_and_recovers(seeded, standby):
    application, _ = _submit(seeded, 1)
    standby.wait_for_replay()
    standby.stop()
    for path in (
        "/api/v1/stats/coverage?by=occupation",
        f"/api/v1/stats/funnel?join_code_id={seeded.code_id}",
        "/api/v1/review/applications",
        "/api/v1/exports/applications.csv",
        "/api/v1/exports/members.xlsx",
    ):
        response = seeded.client.get(path, headers=seeded.admin)
        assert response.status_code == 503, (path, response.get_data(as_text=True)[:300])
        assert response.get_json()["code"] == "database_unavailable"
        assert int(response.headers["Retry-After"]) >= 1
        assert "127.0.0.1" not in response.get_data(as_text=True)
    # The primary still serves writes and the application's own page.
    assert seeded.client.get(f"/api/v1/review/applications/{application}", headers=seeded.admin).status_code == 200
    _submit(seeded, 2)

    standby.start()
    standby.wait_for_replay()
    assert _reports(seeded)["pending"] == 2  # the same app reads the replica again, no restart


def test_the_console_reads_the_primary_right_after_an_officers_decision(seeded, standby):
    application, _ = _submit(seeded, 1)
    standby.wait_for_replay()
    client = seeded.client
    assert sign_in(client, "replica-admin").status_code == 302
    queue = client.get("/console/review")
    assert f"/console/review/{application}" in queue.get_data(as_text=True)

    standby.pause_replay()
    detail_url = f"/console/review/{application}"
    version = re.search(r'name="version" value="(\d+)"', client.get(detail_url).get_data(as_text=True))
    assert version is not None
    decided = post_form(
        client, detail_url, f"{detail_url}/decision", {"action": "approve", "reason": "", "version": version[1]}
    )
    assert decided.status_code == 303, decided.get_data(as_text=True)[:500]
    # The replica still has it pending, but the officer's next page reads the primary: it left the queue.
    assert f"/console/review/{application}" not in client.get("/console/review").get_data(as_text=True)
    with client.session_transaction() as cookie:
        cookie["officer_changed"] = 0  # long ago: reports read the replica again, which still lags
    assert f"/console/review/{application}" in client.get("/console/review").get_data(as_text=True)
    standby.resume_replay()
