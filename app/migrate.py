"""Alembic, driven from the app: the ``db`` commands and the tests use these."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import Script

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str, migrations_dir: Path = MIGRATIONS_DIR) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    # env.py names new revisions ``NNNN_slug`` (also the empty ones: it runs for every revision).
    config.set_main_option("file_template", "%%(rev)s")
    config.set_main_option("revision_environment", "true")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def revision(database_url: str, message: str, *, autogenerate: bool, migrations_dir: Path = MIGRATIONS_DIR) -> Path:
    """Write the next migration, ``NNNN_slug.py``; returns its path."""
    script = command.revision(alembic_config(database_url, migrations_dir), message=message, autogenerate=autogenerate)
    assert isinstance(script, Script)  # one head, so one new script
    return Path(script.path)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
