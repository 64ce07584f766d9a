"""The migrations build exactly the models' schema, and can be undone."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app import migrate
from app.db import Base, create_db_engine


def _diff(url: str) -> list[Any]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            diff: list[Any] = compare_metadata(context, Base.metadata)
            return diff
    finally:
        engine.dispose()


# SQLite cannot index (or reflect) the PostgreSQL-only expression index of app.enrollment.models;
# Alembic says so and leaves it out of the comparison there, which is what the models ask for.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrated_schema_matches_the_models(database_url):
    assert _diff(database_url) == []


def test_migrations_downgrade_to_nothing_and_back(database_url, tmp_path):
    if database_url.startswith("postgresql"):
        name = f"ruhui_migrations_{uuid.uuid4().hex[:8]}"
        admin = create_db_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        scratch = database_url.rsplit("/", 1)[0] + f"/{name}"
    else:
        admin = None
        scratch = f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
    try:
        migrate.upgrade(scratch)
        migrate.downgrade(scratch, "base")
        engine = create_db_engine(scratch)
        with engine.connect() as connection:
            assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
        engine.dispose()
        migrate.upgrade(scratch)
        assert _diff(scratch) == []
    finally:
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
