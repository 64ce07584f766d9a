"""A dependency that goes away: every endpoint answers 503 with Retry-After, logs one line, and recovers.

The PostgreSQL and Redis here are the test's own (``tests/fakes/servers.py``), so
they can be stopped; the machine's shared servers never are.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from flask import Flask

from app import create_app, migrate
from app import db as db_module
from app.auth import service as auth_service
from app.auth.tokens import issue_access_token
from app.db import PING_AFTER_IDLE_SECONDS
from app.directory import service as directory_service
from app.directory.models import Station
from app.joincodes import service as joincodes_service

VALID_ID = "11010519491231002X"


def _seed(app: Flask) -> dict[str, Any]:
    """A province, an admin of it, a station with a live join code and a signed-in worker."""
    session = app.extensions["ruhui.sessionmaker"]()
    with app.app_context():
        province = directory_service.add_union(session, name="江苏省总工会", kind="federation", region_code="320000")
        officer = auth_service.create_officer(
            session,
            username="outage-admin",
            password="correct-horse-battery",
            name="测试",
            union_id=province.id,
            role="admin",
        )
        station = Station(name="玄武骑手驿站", union_id=province.id, region_code="320102", occupation="courier")
        session.add(station)
        session.flush()
        code = joincodes_service.create_join_code(session, station, created_by_id=None)
        person = auth_service.find_or_create_person(session, "13912345678")
        session.commit()
        officer_token, _ = issue_access_token("officer", officer.id)
        worker_token, _ = issue_access_token("worker", person.id)
    session.close()
    return {
        "token": code.token,
        "admin": {"Authorization": f"Bearer {officer_token}"},
        "worker": {"Authorization": f"Bearer {worker_token}"},
    }


def _requests(seeded: dict[str, Any]) -> list[tuple[str, str, dict[str, str], Any]]:
    """GET and POST, signed out, as an officer and as a worker, JSON and the HTML landing page."""
    application = {
        "join_token": seeded["token"],
        "full_name": "张三",
        "id_number": VALID_ID,
        "occupation": "courier",
        "employment_form": "platform",
        "consent_version": "2026-01",
    }
    return [
        ("GET", "/readyz", {}, None),
        ("GET", "/api/v1/unions", seeded["admin"], None),
        ("POST", "/api/v1/unions", seeded["admin"], {"name": "新工会", "kind": "federation", "region_code": "320100"}),
        ("GET", "/api/v1/review/applications", seeded["admin"], None),
        ("GET", f"/api/v1/join/{seeded['token']}", {}, None),
        ("GET", f"/j/{seeded['token']}", {}, None),
        ("POST", "/api/v1/auth/otp", {}, {"phone": "13812345678"}),
        ("POST", "/api/v1/officers/login", {}, {"username": "outage-admin", "password": "wrong-password-1"}),
        ("GET", "/api/v1/me/applications", seeded["worker"], None),
        ("POST", "/api/v1/applications", seeded["worker"], application),
    ]


def _send(app: Flask, method: str, path: str, headers: dict[str, str], body: Any) -> Any:
    return app.test_client().open(path, method=method, headers=headers, json=body)


def _assert_database_unavailable(response: Any, path: str) -> None:
    assert response.status_code == 503, (path, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert body["code"] == "database_unavailable", path
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert int(response.headers["Retry-After"]) >= 1
    assert "127.0.0.1" not in response.get_data(as_text=True)


def _outage_log(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("ruhui") and r.levelno >= logging.WARNING]


def test_a_stopped_postgres_is_503_everywhere_with_one_log_line_and_recovers(private_postgres, app_config, caplog):
    migrate.upgrade(private_postgres.url)
    app = create_app({**app_config, "database_url": private_postgres.url})
    try:
        seeded = _seed(app)
        requests = _requests(seeded)
        before = [_send(app, *request).status_code for request in requests]
        assert all(status < 500 for status in before), before

        private_postgres.stop()
        caplog.clear()
        fresh_phone: tuple[str, str, dict[str, str], Any] = ("POST", "/api/v1/auth/otp", {}, {"phone": "13812340000"})
        with caplog.at_level(logging.INFO, logger="ruhui"):
            for request in [*requests, fresh_phone]:
                _assert_database_unavailable(_send(app, *request), request[1])
        warnings = _outage_log(caplog)
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert warnings[0].levelno == logging.WARNING and warnings[0].exc_info is None

        private_postgres.start()
        # The same app serves again, no restart; the failed send spent none of the number's limits
        # (one code a minute), so its code goes out now.
        after = [_send(app, *request) for request in requests]
        assert all(r.status_code < 500 for r in after), [r.get_data(as_text=True)[:200] for r in after]
        assert _send(app, *fresh_phone).status_code == 202
    finally:
        app.extensions["ruhui.rate_limits"].close()
        app.extensions["ruhui.engine"].dispose()


def test_an_unreachable_sqlite_file_is_503_and_recovers(app_config, tmp_path: Path, caplog):
    # The directory holding the database file is not there (an unmounted volume): SQLite cannot open it.
    database = tmp_path / "volume" / "ruhui.sqlite3"
    url = f"sqlite:///{database}"
    app = create_app({**app_config, "database_url": url})
    try:
        with caplog.at_level(logging.INFO, logger="ruhui"):
            for path in ("/readyz", "/api/v1/join/no-such-code", "/j/no-such-code"):
                _assert_database_unavailable(app.test_client().get(path), path)
            _assert_database_unavailable(
                app.test_client().post("/api/v1/auth/otp", json={"phone": "13812345678"}), "otp"
            )
        assert len(_outage_log(caplog)) == 1

        database.parent.mkdir()
        migrate.upgrade(url)
        assert app.test_client().get("/readyz").status_code == 200
        assert app.test_client().post("/api/v1/auth/otp", json={"phone": "13812345678"}).status_code == 202
    finally:
        app.extensions["ruhui.rate_limits"].close()
        app.extensions["ruhui.engine"].dispose()


def test_a_shared_rate_limit_storage_that_is_down_is_503_and_readyz_says_so(private_redis, app_config):
    app = create_app({**app_config, "ratelimit_storage_uri": private_redis.url})
    try:
        assert app.test_client().get("/readyz").status_code == 200
        private_redis.stop()
        # The probe, and an endpoint that Flask-Limiter counts (the public card check).
        for path in ("/readyz", "/api/v1/cards/not-a-card-token"):
            response = app.test_client().get(path)
            assert response.status_code == 503, path
            assert response.get_json()["code"] == "ratelimit_unavailable"
            assert int(response.headers["Retry-After"]) >= 1
        private_redis.start()
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        app.extensions["ruhui.rate_limits"].close()
        app.extensions["ruhui.engine"].dispose()


def _terminate_app_connections(cluster: Any) -> int:
    """Kill every client connection to ``cluster`` (as a restart or a failover would), from a connection of its own."""
    killed = cluster.sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )
    return int(killed)


def test_a_pooled_connection_that_died_while_idle_is_replaced_before_a_request_uses_it(private_postgres, app_config):
    migrate.upgrade(private_postgres.url)
    app = create_app({**app_config, "database_url": private_postgres.url})
    try:
        seeded = _seed(app)
        unions = ("GET", "/api/v1/unions", seeded["admin"], None)
        assert _send(app, *unions).status_code == 200  # its connection is back in the pool
        assert _terminate_app_connections(private_postgres) >= 1
        time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)  # idle past the ping threshold, as between two quiet requests
        response = _send(app, *unions)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert [u["name"] for u in response.get_json()["items"]] == ["江苏省总工会"]
    finally:
        app.extensions["ruhui.rate_limits"].close()
        app.extensions["ruhui.engine"].dispose()


def test_a_connection_that_died_a_moment_ago_fails_one_request_with_503_and_the_next_is_served(
    private_postgres, app_config
):
    # A busy process reuses its connections within milliseconds and does not ping them (a round trip per request):
    # the one request on a connection that died meanwhile is a 503 with Retry-After, and the pool drops the others.
    migrate.upgrade(private_postgres.url)
    app = create_app({**app_config, "database_url": private_postgres.url})
    try:
        seeded = _seed(app)
        unions = ("GET", "/api/v1/unions", seeded["admin"], None)
        # The idle clock stopped: on a loaded machine the kill below could otherwise take past the ping threshold.
        with mock.patch.object(db_module, "_idle_clock", return_value=0.0):
            assert _send(app, *unions).status_code == 200
            assert _terminate_app_connections(private_postgres) >= 1
            _assert_database_unavailable(_send(app, *unions), "/api/v1/unions")
        served = [_send(app, *request) for request in _requests(seeded)]
        assert all(r.status_code < 500 for r in served), [r.get_data(as_text=True)[:200] for r in served]
    finally:
        app.extensions["ruhui.rate_limits"].close()
        app.extensions["ruhui.engine"].dispose()
