"""Fixtures for the console: the Nanjing tree with applications, officers who sign in with a password,
and a form helper that carries the page's CSRF token as a browser does."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from app.auth import service as auth_service
from tests.console.browser import browser, live_server  # noqa: F401  # shared fixtures
from tests.enrollment.conftest import form, make_worker, nanjing, worker  # noqa: F401  # shared fixtures
from tests.review.conftest import app_config, apply, id_number  # noqa: F401  # shared fixtures

PASSWORD = "long-enough-pass"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


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


def sign_in(client, username: str, password: str = PASSWORD):
    page = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.get_data(as_text=True))},
    )


def post_form(client, page_url: str, action: str, data: Mapping[str, object] | None = None, **kwargs):
    """POST ``data`` to ``action`` with the CSRF token of the page at ``page_url`` (what a browser submits)."""
    page = client.get(page_url)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return client.post(action, data={**(data or {}), "csrf_token": csrf_of(page.get_data(as_text=True))}, **kwargs)


@pytest.fixture
def signed_in(client, make_account):
    """``signed_in(union, role)`` → the officer, with ``client`` signed in as them."""

    def make(union, role="reviewer"):
        officer = make_account(union, role)
        response = sign_in(client, officer.username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return officer

    return make
