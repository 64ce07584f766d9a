"""One JSON line per request, and no personal data in it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.observability import AccessLines, JsonFormatter, access_lines, redact
from tests.fakes.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
NEVER_MS = 3_600_000  # a hold no test waits out: only a full batch, a flush or the process's exit writes


def _lines(capsys) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def test_one_json_line_per_request(client, capsys):
    capsys.readouterr()
    client.get("/healthz", headers={"X-Request-ID": "req-1"})
    lines = [line for line in _lines(capsys) if line["logger"] == "ruhui.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "GET" and line["path"] == "/healthz" and line["status"] == 200
    assert line["request_id"] == "req-1"
    assert isinstance(line["duration_ms"], float)


def test_the_access_line_is_the_formatters_line_and_masks_a_phone_in_the_path(client, capsys):
    capsys.readouterr()
    client.get('/no/such/13812345678/"x"', headers={"X-Request-ID": "req-13912345678"})
    raw = [line for line in capsys.readouterr().err.splitlines() if '"ruhui.access"' in line]
    assert len(raw) == 1
    assert "13812345678" not in raw[0] and "13912345678" not in raw[0]
    line = json.loads(raw[0])
    assert line["path"] == '/no/such/138****5678/"x"' and line["request_id"] == "req-139****5678"
    assert line["status"] == 404
    # Byte for byte what JsonFormatter writes for the same record (keys, order, separators).
    record = logging.makeLogRecord(
        {"name": "ruhui.access", "levelno": logging.INFO, "levelname": "INFO", "msg": "request", "created": 0}
    )
    fields = {k: line[k] for k in ("method", "path", "status", "duration_ms", "request_id")}
    record.__dict__.update(fields)
    expected = json.loads(JsonFormatter().format(record))
    assert list(line) == list(expected)
    assert {k: v for k, v in line.items() if k != "time"} == {k: v for k, v in expected.items() if k != "time"}


def test_phone_and_id_numbers_are_masked_in_any_log_line():
    record = logging.LogRecord(
        "ruhui.x", logging.INFO, __file__, 1, "sent to %s for %s", ("13812345678", "11010519491231002X"), None
    )
    line = JsonFormatter().format(record)
    assert "13812345678" not in line and "11010519491231002X" not in line
    assert "138****5678" in line and "110105********002X" in line


def test_redact_leaves_other_numbers_alone():
    assert redact("order 20261128 took 1234 ms") == "order 20261128 took 1234 ms"


def _request_ids(capsys) -> list[str]:
    return [line["request_id"] for line in _lines(capsys) if line["logger"] == "ruhui.access"]


@pytest.fixture
def holding(make_app):
    """A client of an app whose access lines are held (ACCESS_LOG_FLUSH_MS), as outside the test suite."""
    client = make_app(access_log_flush_ms=NEVER_MS).test_client()
    yield client
    access_lines.configure(0)  # the suite's own: each line as its request ends


def test_access_lines_are_held_and_written_together_in_order(holding, capsys):
    capsys.readouterr()
    for n in range(3):
        assert holding.get("/healthz", headers={"X-Request-ID": f"held-{n}"}).status_code == 200
    assert _request_ids(capsys) == [], "held, not yet written"
    access_lines.flush()  # what atexit and gunicorn's worker_exit call
    assert _request_ids(capsys) == ["held-0", "held-1", "held-2"]
    for n in range(AccessLines.LINES + 1):
        holding.get("/healthz", headers={"X-Request-ID": f"batch-{n}"})
    # A full batch is written without waiting for the hold; the one after it waits.
    assert _request_ids(capsys) == [f"batch-{n}" for n in range(AccessLines.LINES)]
    access_lines.flush()
    assert _request_ids(capsys) == [f"batch-{AccessLines.LINES}"]


def test_a_held_line_is_written_by_the_thread_once_its_hold_is_over(make_app, capsys):
    client = make_app(access_log_flush_ms=20).test_client()
    try:
        capsys.readouterr()
        client.get("/healthz", headers={"X-Request-ID": "late-1"})
        seen: list[str] = []
        deadline = time.monotonic() + 30  # a bound on a stuck thread, not a measured time
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
            seen = _request_ids(capsys)
        assert seen == ["late-1"]
    finally:
        access_lines.configure(0)


def test_a_graceful_stop_of_gunicorn_writes_every_held_line(tmp_path, database_url):
    """Two workers holding their lines for an hour: stopping the server (SIGTERM, a deploy) writes them all."""
    import http.client

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "LOG_LEVEL": "INFO",
        "ACCESS_LOG_FLUSH_MS": str(NEVER_MS),
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "--workers", "2", "--threads", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)  # noqa: S603  # our own venv's gunicorn, fixed arguments
    sent = [f"graceful-{n}" for n in range(40)]
    try:
        deadline = time.monotonic() + 60
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/healthz", headers={"X-Request-ID": "ready"})
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            finally:
                connection.close()
            assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        for request_id in sent:  # a new connection each: both workers take some
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz", headers={"X-Request-ID": request_id})
            assert connection.getresponse().status == 200
            connection.close()
        written = [line for line in log.read_text().splitlines() if '"graceful-' in line]
        assert written == [], "held by the workers"
    finally:
        process.terminate()
        process.wait(timeout=30)
    ids = [json.loads(line)["request_id"] for line in log.read_text().splitlines() if '"graceful-' in line]
    assert sorted(ids) == sorted(sent)
