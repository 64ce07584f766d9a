"""Alembic environment: the URL comes from the app's settings (or the caller), metadata from the models."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy import Connection

from app import models  # noqa: F401  # registers every table on Base.metadata
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


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
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
