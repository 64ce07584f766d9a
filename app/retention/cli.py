"""``flask --app wsgi retention run``: erase the personal data that nothing has held for RETENTION_DAYS."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import db, utcnow
from app.retention import service

retention_cli = AppGroup("retention", help="Erase personal data kept longer than RETENTION_DAYS.")


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 5000))
def run(dry_run: bool, batch_size: int) -> None:
    """Erase names, ID numbers and phones nothing has held for RETENTION_DAYS (safe to re-run, for cron).

    Prints one JSON line: the identities, phones and applications erased (or that would be).
    Each batch is its own transaction, so an interrupted run keeps what it did.
    """
    days: int = current_app.extensions["ruhui.settings"].retention_days
    session = db.session
    now = utcnow()
    if dry_run:
        report = service.count_erasable(session, now=now, days=days)
        click.echo(json.dumps({**report.as_dict(), "retention_days": days}))
        return
    identities = persons = applications = 0
    while True:
        batch = service.erase_batch(session, now=now, days=days, limit=batch_size)
        session.commit()
        identities += batch.identities
        persons += batch.persons
        applications += batch.applications
        if batch.identities < batch_size and batch.persons < batch_size:
            break
    codes = service.sweep_codes(session, now)
    session.commit()
    click.echo(
        json.dumps(
            {
                "identities": identities,
                "persons": persons,
                "applications": applications,
                "codes_swept": codes,
                "dry_run": False,
                "retention_days": days,
            }
        )
    )
