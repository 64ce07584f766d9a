"""The load generator the HTTP benchmarks share: threads on keep-alive connections, bounded in time and requests.

``drive`` runs ``clients`` threads, each on one ``http.client`` connection kept alive, sending what a
``Request`` factory gives for (client number, request number) until the time is up or the request
budget is spent; a ``Round`` holds the latencies of the answers with the expected status, the
count of the others, and the CPU time the round cost each process group on this machine (the
server on the port, PostgreSQL, Redis, the load generator itself: ``cpu_seconds``, read from
``/proc``). ``gunicorn`` serves an app spec on a free loopback port for as long as needed.
"""

from __future__ import annotations

import http.client
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Request:
    path: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


RequestFactory = Callable[[int, int], Request]  # (client, request number) → the request to send


@dataclass
class Round:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process group (``CPU_GROUPS``)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)


def percentile(latencies: list[float], p: float) -> float:
    """The ``p`` quantile of ``latencies`` (seconds) in milliseconds; NaN when there are none."""
    if not latencies:
        return float("nan")
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


CPU_GROUPS = ("server", "PostgreSQL", "Redis", "load generator")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> Iterator[tuple[int, int, str, float]]:
    """(pid, parent pid, command name, CPU seconds) of every process on the machine (Linux ``/proc``)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                head, _, rest = stat.read().rpartition(")")
        except OSError:
            continue  # gone meanwhile
        fields = rest.split()
        yield int(entry.name), int(fields[1]), head.partition("(")[2], (int(fields[11]) + int(fields[12])) / _TICK


def cpu_seconds(port: int | None = None) -> dict[str, float]:
    """CPU seconds so far of each of ``CPU_GROUPS``: the gunicorn serving ``port`` (master and workers; none
    without a port), every ``postgres`` and ``redis-server`` process on this machine, and this process.
    Empty where there is no ``/proc``.
    """
    if not os.path.isdir("/proc"):
        return {}
    processes = list(_processes())
    master = None
    for pid, _parent, name, _seconds in processes if port is not None else ():
        if name.startswith("gunicorn") or name.startswith("python"):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    if f"127.0.0.1:{port}".encode() in cmdline.read():
                        master = pid
                        break
            except OSError:
                continue
    own = resource.getrusage(resource.RUSAGE_SELF)
    groups = dict.fromkeys(CPU_GROUPS, 0.0)
    groups["load generator"] = own.ru_utime + own.ru_stime
    for pid, parent, name, seconds in processes:
        if master is not None and master in (pid, parent):
            groups["server"] += seconds
        elif name == "postgres":
            groups["PostgreSQL"] += seconds
        elif name.startswith("redis-server"):
            groups["Redis"] += seconds
    return groups


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path)
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


@contextmanager
def gunicorn(
    app_spec: str,
    env: dict[str, str],
    *,
    workers: int,
    threads: int,
    ready_path: str,
    log_to: Path | None = None,
    config: str | None = None,
) -> Iterator[int]:
    """gunicorn serving ``app_spec`` on a free loopback port, stopped (gracefully) on exit.

    Its log (one access line per request when the app logs them) goes to ``log_to`` or a temporary
    file, as a pipe to a collector would take it; ``config`` is a gunicorn settings file.
    """
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        *("--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads)),
        *("--bind", f"127.0.0.1:{port}", "--log-level", "warning"),
        *(("--config", config) if config else ()),  # else gunicorn.conf.py of the working directory, as deployed
        app_spec,
    ]
    with open(log_to, "w+b") if log_to else tempfile.TemporaryFile() as log:  # either is closed by the with
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log)  # noqa: S603  # our own venv's gunicorn, fixed arguments
        try:
            deadline = time.monotonic() + 30
            while not answers(port, ready_path):
                if time.monotonic() > deadline or process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"{app_spec} did not start:\n{log.read()[-3000:].decode(errors='replace')}")
                time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=30)


def drive(
    port: int, make: RequestFactory, *, clients: int, seconds: float, max_requests: int, expect: int = 200
) -> Round:
    """``clients`` threads on keep-alive connections until ``seconds`` pass or ``max_requests`` are sent."""
    result = Round(seconds=seconds)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    budget = [max_requests]
    stop_at = [0.0]

    def take_one() -> bool:
        with lock:
            budget[0] -= 1
            return budget[0] >= 0

    def client(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies: list[float] = []
        errors = 0
        first_error = ""
        i = 0
        start.wait()
        while time.perf_counter() < stop_at[0] and take_one():
            request = make(n, i)
            began = time.perf_counter()
            try:
                connection.request(request.method, request.path, body=request.body, headers=request.headers)
                response = connection.getresponse()
                body = response.read()
                if response.status == expect:
                    latencies.append(time.perf_counter() - began)
                else:
                    errors += 1
                    first_error = first_error or f"{response.status} {body[:200].decode(errors='replace')}"
            except (OSError, http.client.HTTPException) as exc:
                errors += 1
                first_error = first_error or repr(exc)
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            i += 1
        connection.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors
            result.first_error = result.first_error or first_error

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = cpu_seconds(port)
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began  # shorter than asked when the request bound ran out first
    cpu_after = cpu_seconds(port)
    # A process that ended during the round (a PostgreSQL backend) takes its CPU with it: a group never goes back.
    result.cpu = {group: max(0.0, cpu_after[group] - cpu_before[group]) for group in cpu_after}
    return result
