"""``flask founding-trigger``: open the derived founding cases that submissions alone cannot (cron)."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from app.db import db, utcnow
from app.founding import trigger


@click.command("founding-trigger")
@click.option("--threshold", type=int, default=None, help="Default: FOUNDING_TRIGGER_MEMBERS.")
@with_appcontext
def founding_trigger(threshold: int | None) -> None:
    """Open a derived case for every employer without a union and every blind-spot station at the threshold.

    Submissions open these cases by themselves; this catches workers who only scanned a blind-spot
    station's code, and whatever was filed before the trigger existed. Safe to repeat: a place opens once.
    """
    if threshold is None:
        threshold = current_app.extensions["ruhui.settings"].founding_trigger_members
    opened = trigger.sweep(db.session, threshold=threshold, now=utcnow())
    db.session.commit()
    click.echo(json.dumps({"opened": opened, "threshold": threshold}))
