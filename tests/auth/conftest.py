"""Fixtures of the sign-in tests."""

from __future__ import annotations

import pytest

from tests.auth.support import ConsoleInbox


@pytest.fixture
def inbox(capsys: pytest.CaptureFixture[str]) -> ConsoleInbox:
    """The console SMS gateway's messages (full number and text, as a developer reads them)."""
    return ConsoleInbox(capsys)
