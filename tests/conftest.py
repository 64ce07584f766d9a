"""Fixtures: an app on a migrated database (SQLite by default, PostgreSQL when DATABASE_URL says so).

The schema is built once per run by the real Alembic migrations; every test then
starts from empty tables (rows are deleted after each test), so tests may commit,
race and use several connections just as the app does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from app import create_app, migrate
from app.auth import service as auth_service
from app.auth.models import Officer
from app.auth.tokens import issue_access_token
from app.config import normalise_database_url
from app.db import Base, create_db_engine
from app.directory import service as directory_service
from app.directory.models import Union

# Fake provider servers (Aliyun, Tencent, WeChat), the rate-limit storages and a movable clock.
pytest_plugins = ("tests.fakes.fixtures",)


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return normalise_database_url(url) if url.startswith(("postgres://", "postgresql")) else None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A freshly migrated database for the whole run."""
    url = _postgres_url()
    if url is None:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        engine = create_db_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(url)
    return url


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """Settings overrides; a test may change them before asking for ``app``."""
    return {
        "env": "test",
        "database_url": database_url,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "public_base_url": "https://ruhui.example.cn",
        "ratelimit_storage_uri": "memory://",
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    yield app
    app.extensions["ruhui.rate_limits"].close()
    engine = app.extensions["ruhui.engine"]
    with engine.begin() as connection:
        # Enterprise unions and employers refer to each other: cut that link before deleting either.
        connection.execute(sa.update(Union).values(employer_id=None))
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session of the test's own, for arranging data and checking what changed.

    No app context is held open around the test: each request the test makes pushes
    its own, as in production, so ``g`` (the principal, the request id, the request's
    database session) never leaks from one request into the next. Objects read here
    are not refreshed by requests: ``expire_all()`` before checking what changed.
    """
    own = app.extensions["ruhui.sessionmaker"]()
    try:
        yield own
    finally:
        own.close()


@pytest.fixture
def province(session: Session) -> Union:
    union = directory_service.add_union(session, name="江苏省总工会", kind="federation", region_code="320000")
    session.commit()
    return union


@pytest.fixture
def make_officer(app: Flask, session: Session):
    """``make_officer(union, role)`` → (officer, headers with a valid bearer token)."""
    counter = iter(range(1, 10_000))

    def make(
        union: Union, role: str = "admin", password: str = "correct-horse-battery"
    ) -> tuple[Officer, dict[str, str]]:
        officer = auth_service.create_officer(
            session,
            username=f"officer{next(counter)}",
            password=password,
            name="测试干部",
            union_id=union.id,
            role=role,
        )
        session.commit()
        with app.test_request_context():
            token, _ = issue_access_token("officer", officer.id)
        return officer, {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def make_app(app_config: dict[str, Any]) -> Iterator[Callable[..., Flask]]:
    """``make_app(**overrides)``: another app on the same database (another process, other settings)."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        made.append(create_app({**app_config, **overrides}))
        return made[-1]

    yield make
    for app in made:
        app.extensions["ruhui.rate_limits"].close()
        app.extensions["ruhui.engine"].dispose()
