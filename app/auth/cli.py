"""``flask --app wsgi create-officer``: an operator adds an officer account."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from app.auth import service
from app.db import db
from app.directory.models import Union
from app.errors import AppError


@click.command("create-officer")
@with_appcontext
@click.option("--username", required=True)
@click.option("--password", required=True, help="At least 10 characters.")
@click.option("--union-id", required=True, type=int, help="The union whose subtree the officer may see.")
@click.option("--role", required=True, type=click.Choice(["reviewer", "admin", "viewer", "liaison"]))
@click.option("--name", default=None, help="Display name (default: the username).")
@click.option("--sector", "sectors", multiple=True, help="A liaison's founding sector (repeat for several).")
def create_officer(
    username: str, password: str, union_id: int, role: str, name: str | None, sectors: tuple[str, ...]
) -> None:
    """Create an officer account; prints {"officer_id": ...}."""
    session = db.session
    if session.get(Union, union_id) is None:
        raise click.ClickException(f"union {union_id} does not exist")
    try:
        officer = service.create_officer(
            session,
            username=username,
            password=password,
            name=name or username,
            union_id=union_id,
            role=role,
            sectors=sectors,
        )
    except AppError as exc:
        session.rollback()
        details = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in (exc.errors or {}).items())
        raise click.ClickException(f"{exc.message} {details}".strip()) from exc
    session.commit()
    click.echo(json.dumps({"officer_id": str(officer.id)}))
