"""Fixtures of the sign-in tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from app import create_app
from tests.auth.support import ConsoleInbox


@pytest.fixture
def inbox(capsys: pytest.CaptureFixture[str]) -> ConsoleInbox:
    """The console SMS gateway's messages (full number and text, as a developer reads them)."""
    return ConsoleInbox(capsys)


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
