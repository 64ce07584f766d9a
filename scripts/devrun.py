"""``make run``: the development server and the outbox worker side by side; Ctrl-C stops both.

Decisions only owe their notices (the outbox, ``app.notify``); the worker is what
sends them. In production each runs as its own process (gunicorn, ``flask outbox
run``); in development one command starts both, so a decision's SMS shows up in the
console log at once instead of staying pending.

Each child runs in a process group of its own, so the terminal's Ctrl-C reaches
only this supervisor, which then asks each child to stop exactly once (SIGINT: the
server shuts down, the worker finishes the message in hand) and waits; a child
that has not stopped after ``GRACE_SECONDS`` is killed. When either child ends by
itself (the port is taken, the database is gone) the other is stopped too, and the
exit status is that child's.

    python -m scripts.devrun [--host 127.0.0.1] [--port 5000]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from types import FrameType

GRACE_SECONDS = 10.0
POLL_SECONDS = 0.2


def commands(host: str, port: int) -> dict[str, list[str]]:
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    return {
        "server": [*flask, "run", "--host", host, "--port", str(port)],
        "outbox worker": [*flask, "outbox", "run"],
    }


def supervise(named: dict[str, list[str]]) -> int:
    """Run the commands until one ends or a SIGINT/SIGTERM arrives; stop the rest; return the exit status."""
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children = {
        name: subprocess.Popen(command, process_group=0)  # noqa: S603  # our own fixed commands
        for name, command in named.items()
    }
    for name, child in children.items():
        _say(f"{name} started (pid {child.pid})")
    status = 0
    while not stopping:
        ended = {name: child.returncode for name, child in children.items() if child.poll() is not None}
        if ended:
            name, status = next(iter(ended.items()))
            _say(f"{name} ended with status {status}; stopping the rest")
            break
        time.sleep(POLL_SECONDS)
    _stop_all(children)
    if stopping:
        status = 128 + stopping[0]  # as a shell reports a command stopped by that signal
    return status


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + GRACE_SECONDS
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(f"{name} did not stop within {GRACE_SECONDS:g} s; killing it")
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        _say(f"{name} stopped")


def _say(line: str) -> None:
    sys.stderr.write(f"devrun: {line}\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    return supervise(commands(args.host, args.port))


if __name__ == "__main__":
    raise SystemExit(main())
