"""Alembic environment: the URL comes from the app's settings (or the caller), metadata from the models."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from alembic import context
from alembic.operations import MigrationScript
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from app import models, partitions  # noqa: F401  # models: registers every table on Base.metadata
from app.db import Base, create_db_engine

# SQLite cannot index or reflect the PostgreSQL-only expression index of app.enrollment.models
# (declared with ddl_if); Alembic leaves it out of comparisons there and says so each time.
warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return str(url)
    # Run as bare ``alembic``: read the same settings the app would.
    from pathlib import Path

    from app.config import load_settings

    return load_settings(Path(__file__).resolve().parent.parent / "instance").database_url


# New migrations are numbered like the ones before them: ``0014_add_a_thing`` (file ``0014_add_a_thing.py``).
_NUMBERED = re.compile(r"^(\d{4})_")
SLUG_LENGTH = 40


def _slug(message: str | None) -> str:
    words = re.findall(r"[a-z0-9]+", (message or "").lower())
    slug = "_".join(words)[:SLUG_LENGTH].rstrip("_")
    return slug or "revision"


def _number_revisions(_context: MigrationContext, _revision: Any, directives: list[MigrationScript]) -> None:
    """Give each new revision the next four-digit number and a slug of its message as its id."""
    versions = Path(context.script.versions)
    numbers = [int(match[1]) for path in versions.glob("*.py") if (match := _NUMBERED.match(path.name))]
    following = max(numbers, default=0) + 1
    for script in directives:
        if _NUMBERED.match(script.rev_id or ""):
            continue  # an id given on purpose (``--rev-id 0015_...``) is kept
        script.rev_id = f"{following:04d}_{_slug(script.message)}"
        following += 1


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        process_revision_directives=_number_revisions,
        compare_type=True,
        compare_server_default=True,
        include_name=partitions.include_name,  # the month partitions are not tables of the models
        render_as_batch=True,  # SQLite alters tables by copying them
    )


def run_migrations_offline() -> None:
    _configure(url=_database_url())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_db_engine(_database_url())
    try:
        with engine.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
