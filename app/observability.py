"""Request ids and logs: one JSON line per request on stderr, with personal data kept out.

The redaction filter is the last line of defence: code should never log a phone
number, a name or an ID number, but if one slips into a message it is masked here.
Only the development ``console`` SMS gateway is exempt (it must show the code and
the full number to the developer), and it cannot run in production.
"""

from __future__ import annotations

import atexit
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
_REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"  # read from the WSGI environ: a missing header costs no KeyError
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# 11-digit mainland mobile numbers and 18-character resident ID numbers, standing alone.
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")

# Log records carrying this attribute keep their text as written (the console SMS gateway).
UNREDACTED = "ruhui_unredacted"

_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_PLAIN_RECORD_SIZE = len(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)

# One encoder for every line (``json.dumps`` with options builds a new one per call).
_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
_string = json.encoder.encode_basestring  # a str as a JSON string, as ``_encode`` writes it (ensure_ascii off)


# Both patterns need 11 digits in a row: a line without such a run has nothing to mask (most lines).
_LONG_DIGIT_RUN = re.compile(r"\d{11}")


def redact(text: str) -> str:
    if not _LONG_DIGIT_RUN.search(text):
        return text
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


class _SecondStamps:
    """The local time of a second as ISO 8601, formatted once per second (a busy process logs many lines a second)."""

    def __init__(self) -> None:
        self._last: tuple[int, str] = (-1, "")

    def __call__(self, created: float) -> str:
        second, stamp = self._last
        if int(created) != second:
            second = int(created)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(second))
            self._last = (second, stamp)  # one assignment: threads see the old pair or the new one
        return stamp


_stamp = _SecondStamps()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802  # logging's name
        if datefmt:
            return time.strftime(datefmt, time.localtime(record.created))
        return _stamp(record.created)

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = record.__dict__
        # Most records carry no ``extra``: only a record with more attributes than a plain one has any.
        if len(fields) > _PLAIN_RECORD_SIZE:
            for key, value in fields.items():
                if key not in _STANDARD_ATTRS and key != UNREDACTED and not key.startswith("_"):
                    payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        line = _encode(payload)
        if fields.get(UNREDACTED, False):
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


_RUHUI = logging.getLogger("ruhui")


def configure_logging(level: str, *, access_flush_ms: int = 0) -> None:
    """JSON lines on stderr for ``ruhui`` and below; access lines held up to ``access_flush_ms`` (0: none held)."""
    # The JSON lines carry no file, line, thread or process fields: do not look them up for every record
    # (the logging HOWTO's "Optimization"; the stack walk alone was a tenth of a /healthz).
    logging._srcfile = None  # documented in the HOWTO (typeshed declares it)
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    if not any(isinstance(h, StderrHandler) for h in _RUHUI.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        _RUHUI.addHandler(handler)
    _RUHUI.setLevel(level)
    access_lines.configure(access_flush_ms / 1000)


access_log = logging.getLogger("ruhui.access")


def write_access_line(method: str, path: str, status: int, duration_ms: float | None, request_id: str) -> None:
    """The request's line: what ``access_log.info("request", extra={…})`` writes, with less work.

    To the JSON handlers of ``ruhui`` (``configure_logging``), held a moment with the process's other
    access lines (``AccessLines``), skipping only the record machinery (a record object, the walk up the logger
    tree, the formatter's look for extra fields): at one line per request it was a tenth of a
    ``/healthz``. The line is the one ``JsonFormatter`` writes, formatted in one step, and only the
    fields a client chose (the method, the path, its own request id) are redacted: searching the
    whole line for a run of 11 digits cost more than formatting it. Levels apply as usual: with
    ``ruhui.access`` above INFO, nothing is written.
    """
    if not access_log.isEnabledFor(logging.INFO):
        return
    text = (
        f'{{"time": "{_stamp(time.time())}", "level": "INFO", "logger": "{access_log.name}", "message": "request",'
        f' "method": {redact(_string(method))}, "path": {redact(_string(path))}, "status": {status:d},'
        f' "duration_ms": {"null" if duration_ms is None else repr(float(duration_ms))},'
        f' "request_id": {redact(_string(request_id))}}}\n'
    )
    access_lines.add(text)


def _write(text: str) -> None:
    """``text`` (whole lines) to each of ``ruhui``'s JSON handlers, under the handler's lock as ``logging`` would."""
    for handler in _RUHUI.handlers:
        if isinstance(handler, StderrHandler) and handler.level <= logging.INFO:
            handler.acquire()
            try:
                handler.stream.write(text)
                handler.flush()
            finally:
                handler.release()


class AccessLines:
    """The access lines of one process, held and written together: one write for up to ``LINES`` requests.

    A write of its own for every request's line, with the GIL let go and taken back around the
    system call while the other request threads wait for it, cost more than all of the app's other
    per-request hooks together (``/healthz`` under gunicorn: 0.76× bare Flask → 0.90× held). Held
    lines are written when ``LINES`` are waiting, by a thread of their own at most ``interval``
    seconds after the first of them (``ACCESS_LOG_FLUSH_MS``), and when the process exits
    (``atexit``, gunicorn's ``worker_exit``), as nginx's ``access_log … buffer= flush=`` does. What
    it costs: an access line can reach the log up to ``interval`` after the request, after the
    warnings of later requests (every line carries its own time and request id); a process killed
    without a graceful exit loses at most ``LINES`` lines or ``interval`` of them. Warnings and
    errors are never held. An interval of 0 holds nothing (the test suite's default).
    """

    LINES = 64

    def __init__(self) -> None:
        self.interval = 0.0
        self._held: list[str] = []
        self._lock = threading.Lock()  # held across the write too: batches reach the log in order
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forked)

    def configure(self, interval: float) -> None:
        """Hold lines up to ``interval`` seconds from now on (0: write each at once, after what is held)."""
        self.interval = interval
        self._wake.set()  # a waiting thread takes the new interval (and writes what it holds)

    def _forked(self) -> None:
        # A forked worker has no copy of the parent's thread, and must not write the parent's lines again.
        self._lock, self._wake = threading.Lock(), threading.Event()
        self._held, self._thread = [], None

    def add(self, line: str) -> None:
        if self.interval <= 0:
            _write(line)
            return
        with self._lock:
            held = self._held
            held.append(line)
            if len(held) >= self.LINES:
                self._held = []
                _write("".join(held))
        if self._thread is None:
            self._start()

    def flush(self) -> None:
        """Write every held line now."""
        with self._lock:
            held, self._held = self._held, []
            if held:
                _write("".join(held))

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._wake.clear()  # a wake-up for an earlier thread's interval
                self._thread = threading.Thread(target=self._run, name="ruhui-access-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()
            if self.interval <= 0:
                with self._lock:
                    self._thread = None
                self.flush()  # a line added while this thread was stopping
                return


access_lines = AccessLines()
atexit.register(access_lines.flush)


class _RequestIds:
    """32 characters, unique per process and request: a random hex prefix per process, then a counter.

    Not a secret, only unique: ``uuid4`` would read the kernel's random source on every request.
    The counter is written in base 16 with the letters a–p (``…aaab``, ``…aaac``), so an id never
    holds a run of 11 digits and an access line never looks as if it carried a phone number
    (``redact`` would rewrite every line, and the id in it).
    """

    def __init__(self) -> None:
        self._start()
        os.register_at_fork(after_in_child=self._start)  # a forked worker must not repeat its parent's ids

    def _start(self) -> None:
        prefix = secrets.token_hex(8)
        while _LONG_DIGIT_RUN.search(prefix):
            prefix = secrets.token_hex(8)
        self._prefix, self._counter = prefix, itertools.count()

    def next(self) -> str:
        return self._prefix + f"{next(self._counter):016x}".translate(_HEX_AS_LETTERS)


_HEX_AS_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


_request_ids = _RequestIds()


def current_request_id() -> str:
    """The request's id: the client's own when it is sane, else one we make up."""
    store = g._get_current_object()  # werkzeug's LocalProxy method: one lookup
    request_id: str | None = store.get("request_id")
    if request_id is None:
        incoming = request.environ.get(_REQUEST_ID_ENVIRON, "")
        request_id = incoming if incoming and _SANE_REQUEST_ID.match(incoming) else _request_ids.next()
        store.request_id = request_id
    return request_id


def request_id_if_any() -> str | None:
    """The request's id inside a request; None in a CLI command or the outbox worker."""
    return current_request_id() if has_request_context() else None


_STARTED = "ruhui.started"  # the environ key of the time the app got the request


def _timed(wsgi_app: Any) -> Any:
    """The WSGI app, noting when each request came in (in its environ: no hook, no ``g`` lookup)."""

    def timed(environ: dict[str, Any], start_response: Any) -> Any:
        environ[_STARTED] = time.perf_counter()
        return wsgi_app(environ, start_response)

    return timed


def _finish_request(response: Response) -> Response:
    # The ``request`` proxy is looked up once: this runs for every answer.
    req = request._get_current_object()  # type: ignore[attr-defined]  # werkzeug's documented LocalProxy method
    request_id = current_request_id()
    response.headers[REQUEST_ID_HEADER] = request_id
    started = req.environ.get(_STARTED)
    seconds = time.perf_counter() - started if started else 0.0
    status = response.status_code
    metrics.observe_request(req.endpoint, req.method, status, seconds)
    write_access_line(req.method, req.path, status, round(seconds * 1000, 2) if started else None, request_id)
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
    app.wsgi_app = _timed(app.wsgi_app)  # type: ignore[method-assign]  # Flask's documented way to add middleware
    app.after_request(_finish_request)
