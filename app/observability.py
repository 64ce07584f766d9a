"""Request ids and logs: one JSON line per request on stderr, with personal data kept out.

The redaction filter is the last line of defence: code should never log a phone
number, a name or an ID number, but if one slips into a message it is masked here.
Only the development ``console`` SMS gateway is exempt (it must show the code and
the full number to the developer), and it cannot run in production.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
from typing import Any

from flask import Flask, Response, current_app, g, has_app_context, has_request_context, request

from app import metrics

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# 11-digit mainland mobile numbers and 18-character resident ID numbers, standing alone.
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")

# Log records carrying this attribute keep their text as written (the console SMS gateway).
UNREDACTED = "ruhui_unredacted"

_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


# Both patterns need 11 digits in a row: a line without such a run has nothing to mask (most lines).
_LONG_DIGIT_RUN = re.compile(r"\d{11}")


def redact(text: str) -> str:
    if not _LONG_DIGIT_RUN.search(text):
        return text
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    _second = -1
    _stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802  # logging's name
        # The same second is formatted once (a busy process logs many lines a second).
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime(datefmt or "%Y-%m-%dT%H:%M:%S%z", time.localtime(second))
            self._second = second
        return self._stamp

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key != UNREDACTED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        line = json.dumps(payload, ensure_ascii=False, default=str)
        if getattr(record, UNREDACTED, False):
            return line
        return redact(line)


class StderrHandler(logging.StreamHandler[Any]):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # a live property in place of the attribute StreamHandler sets at init
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str) -> None:
    # The JSON lines carry no file, line, thread or process fields: do not look them up for every record
    # (the logging HOWTO's "Optimization"; the stack walk alone was a tenth of a /healthz).
    logging._srcfile = None  # documented in the HOWTO (typeshed declares it)
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger("ruhui")
    if not any(isinstance(h, StderrHandler) for h in root.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)


access_log = logging.getLogger("ruhui.access")


class _RequestIds:
    """32 hex digits, unique per process and request: a random prefix per process, then a counter.

    Not a secret, only unique: ``uuid4`` would read the kernel's random source on every request.
    """

    def __init__(self) -> None:
        self._pid = -1
        self._prefix = ""
        self._counter = itertools.count()

    def next(self) -> str:
        if self._pid != os.getpid():  # a forked worker must not repeat its parent's ids
            self._pid, self._prefix, self._counter = os.getpid(), secrets.token_hex(8), itertools.count()
        return f"{self._prefix}{next(self._counter):016x}"


_request_ids = _RequestIds()


def current_request_id() -> str:
    """The request's id: the client's own when it is sane, else one we make up."""
    request_id: str | None = g.get("request_id")
    if request_id is None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = g.request_id = incoming if incoming and _SANE_REQUEST_ID.match(incoming) else _request_ids.next()
    return request_id


def request_id_if_any() -> str | None:
    """The request's id inside a request; None in a CLI command or the outbox worker."""
    return current_request_id() if has_request_context() else None


def _start_request() -> None:
    g.request_started = time.perf_counter()
    current_request_id()


def _finish_request(response: Response) -> Response:
    request_id = current_request_id()
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    seconds = time.perf_counter() - started if started else 0.0
    duration_ms = round(seconds * 1000, 2) if started else None
    metrics.observe_request(request.endpoint, request.method, response.status_code, seconds)
    access_log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "request_id": request_id,
        },
    )
    return response


# An outage logs one line a minute, not a line per request.
THROTTLED_LOG_INTERVAL = 60.0


class LogThrottle:
    """Remembers when each kind of warning was last logged by this process."""

    def __init__(self, interval: float = THROTTLED_LOG_INTERVAL) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                return False
            self._last[key] = now
            return True


_process_throttle = LogThrottle()


def warn_throttled(logger: logging.Logger, key: str, message: str, **extra: Any) -> None:
    """Log a warning (no traceback) at most once a minute per ``key`` and app."""
    throttle = current_app.extensions.get("ruhui.log_throttle") if has_app_context() else None
    if (throttle or _process_throttle).allow(key):
        logger.warning(message, extra=extra)


def init_request_tracing(app: Flask) -> None:
    app.extensions["ruhui.log_throttle"] = LogThrottle()
    app.before_request(_start_request)
    app.after_request(_finish_request)
