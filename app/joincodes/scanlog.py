"""Counted scans appended in batches: a per-process buffer that a background thread writes every few ms.

A scan is answered from the resolve cache without touching the database; writing its row in the
request would cost an INSERT and a commit per scan, and checking its bounds (a device once per code
an hour, ``SCANS_COUNTED_PER_ADDRESS_HOUR``) a round trip to the shared counters. Instead
``ScanLog.append`` queues the scan and one thread per process, every ``SCAN_FLUSH_MS`` (or as soon
as ``SCAN_FLUSH_ROWS`` are waiting), applies the bounds to the whole batch in one call
(``RateLimits.acquire_each``) and writes the scans that count in one multi-row INSERT, in a
transaction of its own. The answer to the scan is the same either way: counting never changed it.

What it costs, and its bound: officers' figures (scan totals, the funnel) lag the scans by up to
one interval, and a process that is killed without a graceful exit (SIGKILL, the machine losing
power) loses the rows it had not yet written: at most ``SCAN_FLUSH_MS`` of its scans, and never
more than ``MAX_PENDING`` rows. A graceful stop (gunicorn's SIGTERM, a deploy) writes them: the
queue is flushed when the app's process exits (``atexit``, and gunicorn's ``worker_exit`` hook).
While the database cannot be reached the rows wait (up to ``MAX_PENDING``, the oldest dropped
beyond, with a warning) and are written once it is back.

``SCAN_FLUSH_MS=0`` writes each scan in its own request's transaction, as before batching (the
test suite's default, where most tests read the rows right after the request).
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import logging
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.joincodes.models import JoinScan

log = logging.getLogger("ruhui.joincodes")

MAX_PENDING = 100_000


@dataclass(frozen=True)
class PendingScan:
    join_code_id: int
    scanned_at: dt.datetime
    channel: str
    device_hash: str | None
    client_address: str = ""
    bounded: bool = False  # the counting bounds were applied and it counts: write it, do not count it again


# Given queued scans, the ones that count (``app.joincodes.service.bounded_scans``), their hits counted.
Bound = Callable[[list[PendingScan]], list[PendingScan]]


class ScanLog:
    """The queue of one app in one process, and the thread that writes it."""

    def __init__(
        self,
        engine: Engine,
        *,
        flush_ms: int,
        flush_rows: int,
        bound: Bound | None = None,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.engine = engine
        self.bound = bound
        self.interval = flush_ms / 1000
        self.flush_rows = max(1, flush_rows)
        self.max_pending = max_pending
        self._pending: list[PendingScan] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one INSERT at a time, in order
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.written = 0  # rows this process has written (for tests and the bench)
        self.dropped = 0

    def append(self, scan: PendingScan) -> None:
        with self._lock:
            self._pending.append(scan)
            if len(self._pending) > self.max_pending:
                del self._pending[0]
                self.dropped += 1
            due = len(self._pending) >= self.flush_rows
        self._ensure_thread()
        if due:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def pending_for_device(self, device_hash: str, since: dt.datetime) -> PendingScan | None:
        """The newest queued scan of ``device_hash`` at or after ``since`` (a sign-in's attribution)."""
        with self._lock:
            for scan in reversed(self._pending):
                if scan.device_hash == device_hash and scan.scanned_at > since:
                    return scan
        return None

    def flush(self) -> int:
        """Write every queued row now (one INSERT); returns how many. On failure the rows wait for the next try."""
        with self._flush_lock:
            with self._lock:
                queued, self._pending = self._pending, []
            if not queued:
                return 0
            rows = [scan for scan in queued if scan.bounded]
            fresh = [scan for scan in queued if not scan.bounded]
            if fresh:
                # The bounds of a whole batch in one call to the shared counters, not one per request.
                rows += self.bound(fresh) if self.bound is not None else fresh
            if not rows:
                return 0
            try:
                self._insert(rows)
            except sa.exc.IntegrityError:
                # A code deleted since its scan (an erased directory): write the others one by one.
                return self._insert_each(rows)
            except Exception as exc:  # the database is down or busy: keep the rows, newest last, within the bound
                log.warning(
                    "counted scans not written yet; retrying", extra={"rows": len(rows), "error": type(exc).__name__}
                )
                with self._lock:
                    self._pending[:0] = [replace(scan, bounded=True) for scan in rows]
                    excess = len(self._pending) - self.max_pending
                    if excess > 0:
                        del self._pending[:excess]
                        self.dropped += excess
                return 0
            self.written += len(rows)
            return len(rows)

    def _insert(self, rows: list[PendingScan]) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.insert(JoinScan),
                [
                    {
                        "join_code_id": r.join_code_id,
                        "scanned_at": r.scanned_at,
                        "channel": r.channel,
                        "device_hash": r.device_hash,
                    }
                    for r in rows
                ],
            )

    def _insert_each(self, rows: list[PendingScan]) -> int:
        written = 0
        for row in rows:
            try:
                self._insert([row])
                written += 1
            except sa.exc.SQLAlchemyError:
                self.dropped += 1
        if written < len(rows):
            log.warning("counted scans of codes that no longer exist were dropped", extra={"rows": len(rows) - written})
        self.written += written
        return written

    def close(self) -> None:
        """Stop the thread and write what is queued (a graceful exit)."""
        self._closed.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=10)
        self.flush()

    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if self._pid == pid and self._thread is not None:
            return
        with self._lock:
            if self._pid == pid and self._thread is not None:
                return
            # After a fork (gunicorn's workers) the parent's thread does not exist here: start our own.
            self._pid = pid
            self._closed.clear()
            self._thread = threading.Thread(target=self._run, name="ruhui-scan-log", daemon=True)
            self._thread.start()
            _open_logs.add(self)

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()


_open_logs: weakref.WeakSet[ScanLog] = weakref.WeakSet()


def flush_all() -> None:
    """Write every app's queued scans in this process (at exit, and from gunicorn's ``worker_exit``)."""
    for scan_log in list(_open_logs):
        scan_log.close()


atexit.register(flush_all)


_create_lock = threading.Lock()


def current_scan_log() -> ScanLog | None:
    """The current app's queue of scans; None when scans are written in their request (``SCAN_FLUSH_MS=0``)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return None
    settings = current_app.extensions["ruhui.settings"]
    if settings.scan_flush_interval_ms <= 0:
        return None
    scan_log: ScanLog | None = current_app.extensions.get("ruhui.scan_log")
    if scan_log is None:
        with _create_lock:
            scan_log = current_app.extensions.get("ruhui.scan_log")
            if scan_log is None:
                from app.joincodes.service import bounded_scans
                from app.ratelimits import rate_limits

                scan_log = ScanLog(
                    current_app.extensions["ruhui.engine"],
                    flush_ms=settings.scan_flush_interval_ms,
                    flush_rows=settings.scan_flush_rows,
                    bound=functools.partial(bounded_scans, rate_limits(), settings.scans_counted_per_address_hour),
                )
                current_app.extensions["ruhui.scan_log"] = scan_log
    return scan_log
