"""gunicorn's settings file, read from the working directory (``/app`` in the container).

Only the hooks that prometheus-client's multiprocess mode needs (app/metrics): the directory
in ``PROMETHEUS_MULTIPROC_DIR`` is emptied when the server starts, so counters of a previous
run are not added to this one, and a worker that exits has its live-gauge files marked dead.
The rest of gunicorn's settings stay on its command line (see the Dockerfile).
"""

from __future__ import annotations

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


def child_exit(_server: Any, worker: Any) -> None:
    if _METRICS_DIR:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
