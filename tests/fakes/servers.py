"""Private PostgreSQL and Redis servers, each on its own free port, that a test may stop and start.

Fault tests need a dependency that goes away and comes back. The machine's shared
servers must never be stopped, so each fault test gets its own: a PostgreSQL
cluster made by ``initdb`` in a temporary directory (run as the ``postgres`` user
when the suite runs as root, since PostgreSQL refuses to run as root), or a
``redis-server`` with persistence off.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

import psycopg

POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` directory, if any."""
    found = sorted(glob.glob(POSTGRES_BIN_GLOB), key=lambda p: int(Path(p).parent.name))
    candidates = [Path(p) for p in found if (Path(p) / "initdb").exists()]
    return candidates[-1] if candidates else None


class PrivatePostgres:
    """A throwaway cluster: ``start()``, ``stop()``, ``url``; ``close()`` stops it and deletes its files.

    ``standby()`` makes a streaming replica of a running cluster, the way production makes
    one: ``pg_basebackup -R`` (a base backup that writes ``standby.signal`` and
    ``primary_conninfo``) into a data directory of its own, started on another port as a
    hot standby. ``wait_for_replay`` waits until the standby has replayed all the primary
    has written; ``pause_replay``/``resume_replay`` stop and restart the replay (PostgreSQL's
    ``pg_wal_replay_pause``), to show what reads the replica while it lags.
    """

    def __init__(self, bindir: Path, *, primary: PrivatePostgres | None = None) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ruhui-pg-"))
        self.datadir = self.root / "data"
        self.primary = primary
        self._user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self._user is not None:
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        if primary is None:
            self._run("initdb", "-D", str(self.datadir), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C")
        else:
            self._run(
                "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                "-D", str(self.datadir), "-R", "-X", "stream", "--checkpoint=fast",
            )  # fmt: skip
        self._running = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(  # noqa: S603  # a fixed argument list of our own, no shell
            [str(self.bindir / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
            user=self._user.pw_uid if self._user else None,
            cwd=self.root,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c fsync=off -c full_page_writes=off -c max_connections=30"
        )
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.root / "log"), "-o", options, "-w", "start")
        self._running = True

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")
        self._running = False

    def close(self) -> None:
        try:
            if self._running:
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ streaming replication

    def standby(self) -> PrivatePostgres:
        """A hot standby of this (running) cluster, started and caught up."""
        replica = PrivatePostgres(self.bindir, primary=self)
        try:
            replica.start()
            replica.wait_for_replay()
        except BaseException:
            replica.close()
            raise
        return replica

    def sql(self, statement: str) -> object:
        """The first column of the first row of ``statement``, run in autocommit."""
        with psycopg.connect(self.url.replace("+psycopg", ""), autocommit=True, connect_timeout=5) as connection:
            row = connection.execute(statement).fetchone()
            return None if row is None else row[0]

    def wait_for_replay(self, timeout: float = 60) -> None:
        """Until this standby has replayed everything its primary had written when called."""
        assert self.primary is not None, "not a standby"
        target = self.primary.sql("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
                    return
            except psycopg.OperationalError:
                pass  # still starting
            time.sleep(0.05)
        raise RuntimeError(f"the standby did not replay up to {target} within {timeout}s")

    def pause_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 30
        while self.sql("SELECT pg_get_wal_replay_pause_state()") != "paused":
            if time.monotonic() > deadline:
                raise RuntimeError("the standby did not pause its replay")
            time.sleep(0.05)

    def resume_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")


class PrivateRedis:
    """A ``redis-server`` of the test's own: ``start()``, ``stop()``, ``url``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ruhui-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603  # a fixed argument list of our own, no shell
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            self._process = None

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
