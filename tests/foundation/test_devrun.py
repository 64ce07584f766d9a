"""``make run`` runs the outbox worker beside the server: a notice owed is sent, and Ctrl-C stops both."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from app.auth import service as auth_service
from app.notify import outbox
from app.notify.models import OutboxMessage

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:  # a local server
            return bool(response.status == 200)
    except OSError:
        return False


def _eventually(check, what: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        assert process.poll() is None, f"devrun ended before {what}: {process.communicate()}"
        assert time.monotonic() < deadline, f"no {what} within {WAIT_SECONDS} s"
        time.sleep(0.2)


def _owe_a_notice(app, session) -> int:
    with app.app_context():
        person = auth_service.find_or_create_person(session, "13812345678")
        message = outbox.enqueue_sms(
            session,
            person_id=person.id,
            template="application_approved",
            params={"union": "玄武区总工会", "member_no": "3201022026000001"},
            subject=("application", 1),
        )
        session.commit()
        return message.id


def test_the_dev_command_sends_notices_and_ctrl_c_stops_server_and_worker(app, app_config, session):
    message_id = _owe_a_notice(app, session)
    port = _free_port()
    environ = {
        **os.environ,
        "RUHUI_ENV": "development",
        "DATABASE_URL": app_config["database_url"],
        "SECRET_KEY": app_config["secret_key"],  # the same keys: the worker opens the sealed phone number
        "SMS_PROVIDER": "console",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    devrun = subprocess.Popen(  # noqa: S603  # our own command
        [sys.executable, "-m", "scripts.devrun", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:

        def sent():
            session.expire_all()
            return session.scalar(sa.select(OutboxMessage.status).where(OutboxMessage.id == message_id)) == "sent"

        _eventually(lambda: _healthy(port), "server answering", devrun)
        _eventually(sent, "notice sent", devrun)
        os.killpg(devrun.pid, signal.SIGINT)  # what Ctrl-C does: SIGINT to the foreground process group
        _, log = devrun.communicate(timeout=WAIT_SECONDS)
    finally:
        if devrun.poll() is None:
            os.killpg(devrun.pid, signal.SIGKILL)
            devrun.wait()
    assert devrun.returncode == 128 + signal.SIGINT
    pids = [int(pid) for pid in re.findall(r"started \(pid (\d+)\)", log)]
    assert len(pids) == 2, log
    assert "server stopped" in log and "outbox worker stopped" in log
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"process {pid} still runs after Ctrl-C")
    assert not _healthy(port)


def test_make_run_uses_it():
    plan = subprocess.run(  # what `make run` would do, without doing it
        ["make", "--dry-run", "--always-make", "run"],  # noqa: S607  # make from PATH, as a developer runs it
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "-m scripts.devrun --host 127.0.0.1 --port 5000" in plan
