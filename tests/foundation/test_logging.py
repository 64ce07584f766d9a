"""One JSON line per request, and no personal data in it."""

from __future__ import annotations

import json
import logging
from typing import Any

from app.observability import JsonFormatter, redact


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
