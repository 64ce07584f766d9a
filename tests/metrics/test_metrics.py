"""GET /metrics: who may scrape it, and counters that move as requests are served."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.auth import service as auth_service
from app.notify import outbox
from app.notify.models import OutboxMessage
from tests.conftest import form

TOKEN = "metrics-token-for-the-tests-0123456789"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "metrics_token": TOKEN}


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client) -> Samples:
    response = client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_without_a_token_configured_there_is_no_metrics_page(make_app):
    client = make_app(metrics_token="").test_client()
    response = client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 404
    assert response.json["code"] == "not_found"


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN])
def test_a_scraper_without_the_token_is_refused(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.json["code"] == "metrics_token_required"
    assert "ruhui_http_requests_total" not in response.get_data(as_text=True)


def test_a_request_counts_under_its_endpoint_never_its_path(client, nanjing):
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/api/v1/join/{nanjing.code.token}").status_code == 200
    assert client.get("/api/v1/join/no-such-token-abc").status_code == 404
    assert client.get("/nowhere/13912345678").status_code == 404
    after = scrape(client)

    resolve = {"endpoint": "join.JoinResolve", "method": "GET"}
    assert (
        value(after, "ruhui_http_requests_total", **resolve, status="200")
        - value(before, "ruhui_http_requests_total", **resolve, status="200")
        == 3
    )
    assert (
        value(after, "ruhui_http_requests_total", **resolve, status="404")
        - value(before, "ruhui_http_requests_total", **resolve, status="404")
        == 1
    )
    unmatched = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    assert (
        value(after, "ruhui_http_requests_total", **unmatched) - value(before, "ruhui_http_requests_total", **unmatched)
        == 1
    )
    latency = ("ruhui_http_request_duration_seconds_count", {"endpoint": "join.JoinResolve"})
    assert value(after, latency[0], **latency[1]) - value(before, latency[0], **latency[1]) == 4
    text = client.get("/metrics", headers=SCRAPER).get_data(as_text=True)
    assert nanjing.code.token not in text and "no-such-token" not in text and "13912345678" not in text


def test_a_counted_scan_moves_the_scan_counter(client, nanjing):
    before = value(scrape(client), "ruhui_join_scans_total", counted="yes")
    assert client.get(f"/api/v1/join/{nanjing.code.token}", headers={"X-Device-ID": "device-a"}).status_code == 200
    assert value(scrape(client), "ruhui_join_scans_total", counted="yes") - before == 1


def test_an_sms_sent_through_the_console_gateway_is_counted(client):
    sent = {"provider": "console", "template": "otp"}
    before = value(scrape(client), "ruhui_sms_sent_total", **sent)
    assert client.post("/api/v1/auth/otp", json={"phone": "13812345670"}).status_code == 202
    assert value(scrape(client), "ruhui_sms_sent_total", **sent) - before == 1


def test_an_sms_our_limits_refuse_is_counted(client):
    before = value(scrape(client), "ruhui_sms_refused_total", reason="rate_limited")
    statuses = [client.post("/api/v1/auth/otp", json={"phone": "13812345671"}).status_code for _ in range(2)]
    assert statuses == [202, 429]
    assert value(scrape(client), "ruhui_sms_refused_total", reason="rate_limited") - before == 1


def test_an_application_filed_moves_the_pending_figure(client, nanjing, worker):
    assert value(scrape(client), "ruhui_applications", status="pending") == 0
    assert value(scrape(client), "ruhui_applications", status="approved") == 0
    assert client.post("/api/v1/applications", json=form(nanjing), headers=worker[1]).status_code == 201
    samples = scrape(client)
    assert value(samples, "ruhui_applications", status="pending") == 1
    assert value(samples, "ruhui_applications", status="withdrawn") == 0
    assert ("ruhui_applications", frozenset({("status", "withdrawn")})) in samples, "every status is shown"


def test_the_outbox_backlog_and_dead_messages(app, client, session):
    with app.app_context():
        person = auth_service.find_or_create_person(session, "13812345672")
        for _ in range(3):
            outbox.enqueue_sms(
                session,
                person_id=person.id,
                template="application_rejected",
                params={"union": "某工会"},
                subject=("application", 0),
            )
        session.flush()
        dead = session.query(OutboxMessage).order_by(OutboxMessage.id).first()
        dead.status = "dead"
        session.commit()
    samples = scrape(client)
    assert value(samples, "ruhui_outbox_backlog") == 2
    assert value(samples, "ruhui_outbox_dead") == 1


def test_workers_counters_are_merged_in_multiprocess_mode(tmp_path, database_url):
    """Two processes, as two gunicorn workers: the second one's scrape shows the first one's requests too."""
    script = textwrap.dedent(
        f"""
        from app import create_app
        app = create_app({{"env": "test", "database_url": {database_url!r}, "metrics_token": {TOKEN!r},
                          "prometheus_multiproc_dir": {str(tmp_path)!r},
                          "secret_key": "test-secret-key-that-is-long-enough-0123456789"}})
        client = app.test_client()
        for _ in range(2):
            assert client.get("/healthz").status_code == 200
        print(client.get("/metrics", headers={{"Authorization": "Bearer {TOKEN}"}}).get_data(as_text=True))
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def worker() -> str:
        result = subprocess.run(  # noqa: S603  # our own fixed script, no shell
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    worker()
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(worker())
        for sample in family.samples
    }
    healthz = {"endpoint": "health.healthz", "method": "GET", "status": "200"}
    assert value(samples, "ruhui_http_requests_total", **healthz) == 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@contextmanager
def _gunicorn(database_url: str, metrics_dir: Path) -> Iterator[int]:
    """The app under gunicorn with two workers and ROOT/gunicorn.conf.py, as the container runs it."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_LEVEL": "WARNING",
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "wsgi:app",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603  # our own venv's gunicorn, fixed arguments
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_under_gunicorn_the_counters_are_scraped_and_a_restart_starts_from_zero(tmp_path, database_url):
    metrics_dir = tmp_path / "metrics"
    healthz = {"endpoint": "health.healthz", "method": "GET", "status": "200"}

    def healthz_count(port: int) -> float:
        status, text = _get(port, "/metrics", SCRAPER)
        assert status == 200
        samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        return value(samples, "ruhui_http_requests_total", **healthz)

    with _gunicorn(database_url, metrics_dir) as port:
        for _ in range(20):  # a fresh connection each, taken by whichever worker accepts it
            assert _get(port, "/healthz")[0] == 200
        assert healthz_count(port) >= 20  # plus the readiness polls
        assert list(metrics_dir.glob("counter_*.db")), "the workers keep their counters in the directory"
    with _gunicorn(database_url, metrics_dir) as port:
        for _ in range(3):
            assert _get(port, "/healthz")[0] == 200
        # gunicorn.conf.py emptied the directory: the previous run's 20 are gone (the poll that saw it up is counted).
        assert 4 <= healthz_count(port) < 20
