"""``flask --app wsgi outbox …``: the worker that sends owed notifications."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from app.db import db
from app.notify import outbox

outbox_cli = AppGroup("outbox", help="Send the notifications in the outbox.")


def _chores(sessions: Callable[[], Session]) -> None:
    """The background work of features above this one (``app.cli`` registers it), each in its own transaction."""
    for chore in current_app.extensions.get("ruhui.worker_chores", ()):
        chore(sessions)


@outbox_cli.command("run")
@click.option("--once", is_flag=True, help="Send what is due, then exit (for cron or tests).")
@click.option("--batch-size", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600), help="Seconds idle.")
def run(once: bool, batch_size: int, interval: float) -> None:
    """Claim due messages, send them, retry failures with back-off; run several for throughput.

    Between rounds it also does the chores registered in ``ruhui.worker_chores`` (``app.cli``: the
    coverage summary's fold, ``app.stats.summary``).
    """
    policy = outbox.OutboxPolicy.from_settings(current_app.extensions["ruhui.settings"])
    sessions = current_app.extensions["ruhui.sessionmaker"]
    if once:
        report = outbox.run_until_idle(sessions, policy=policy, limit=batch_size)
        _chores(sessions)
        click.echo(json.dumps({"sent": report.sent, "retrying": report.retrying, "dead": report.dead}))
        return
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True  # finish the message in hand, then leave

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        report = outbox.run_until_idle(sessions, policy=policy, limit=batch_size)
        if report.sent or report.retrying or report.dead:
            click.echo(json.dumps({"sent": report.sent, "retrying": report.retrying, "dead": report.dead}))
        _chores(sessions)
        time.sleep(interval)


@outbox_cli.command("status")
def status() -> None:
    """Print how many messages are pending, sending, sent and dead."""
    click.echo(json.dumps(outbox.counts_by_status(db.session), sort_keys=True))
