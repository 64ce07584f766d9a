"""Fixtures for the console: officers who sign in with a password, and the app served to the system Chromium.

The Nanjing tree and ``apply`` come from tests/conftest.py; helpers are in ``tests.console.support``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app.auth import service as auth_service
from tests.console.support import CHROMIUM, CHROMIUM_ARGS, PASSWORD, sign_in


@pytest.fixture
def make_account(session):
    """``make_account(union, role, username=None)`` → the officer (password ``PASSWORD``)."""
    made = iter(range(1, 1000))

    def make(union, role="reviewer", username=None):
        officer = auth_service.create_officer(
            session,
            username=username or f"console{next(made)}",
            password=PASSWORD,
            name=f"{union.name}{role}",
            union_id=union.id,
            role=role,
        )
        session.commit()
        return officer

    return make


@pytest.fixture
def signed_in(client, make_account):
    """``signed_in(union, role)`` → the officer, with ``client`` signed in as them."""

    def make(union, role="reviewer"):
        officer = make_account(union, role)
        response = sign_in(client, officer.username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return officer

    return make


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """``app`` answering real HTTP in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    """The system Chromium (never a downloaded one), driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the browser tests need the system Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
