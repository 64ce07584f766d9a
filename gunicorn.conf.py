"""gunicorn's settings file, read from the working directory (``/app`` in the container).

Only hooks: a worker that has loaded the app moves what it loaded out of the garbage collector's
sight (``gc.freeze``); prometheus-client's multiprocess mode (app/metrics) has the directory in
``PROMETHEUS_MULTIPROC_DIR`` emptied when the server starts, so counters of a previous run are
not added to this one, and a worker that exits has its live-gauge files marked dead; a worker
that stops gracefully writes the scans and access lines it holds (app/joincodes/scanlog.py,
app/observability.py).
The rest of gunicorn's settings stay on its command line (see the Dockerfile).
"""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path
from typing import Any

# Not app.config: gunicorn reads this file in the arbiter, before (and without) the app.
_METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()


def on_starting(_server: Any) -> None:
    if _METRICS_DIR:
        directory = Path(_METRICS_DIR)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)


def post_worker_init(_worker: Any) -> None:
    # The app as loaded (modules, routes, templates, mappers: some 200,000 objects) lives as long as the
    # worker. Frozen, the collector's passes walk only what requests make (`bench.request_cpu` with and
    # without --no-freeze: the collector's time per request 19-24 µs → 1-16 µs).
    gc.collect()
    gc.freeze()


def worker_exit(_server: Any, _worker: Any) -> None:
    # In the worker, as it stops gracefully: write the join-code scans and the access lines it still holds
    # (app.joincodes.scanlog, app.observability; atexit would too, this makes it explicit). Imported here:
    # the arbiter never loads the app.
    from app.joincodes.scanlog import flush_all
    from app.observability import access_lines

    flush_all()
    access_lines.flush()


def child_exit(_server: Any, worker: Any) -> None:
    if _METRICS_DIR:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
