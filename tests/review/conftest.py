"""Fixtures for review: applications submitted through the API by many workers, officers on the Nanjing tree."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import sqlalchemy as sa

from app.enrollment.models import Application
from tests.enrollment.conftest import form, make_worker, nanjing, worker  # noqa: F401  # shared fixtures

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number(serial: int, region: str = "320102", birth: str = "19900101") -> str:
    """A valid resident ID number (GB 11643 checksum) for the n-th test applicant."""
    body = f"{region}{birth}{serial % 1000:03d}"
    return body + _CHECK[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


@pytest.fixture
def app_config(app_config, fake_aliyun):
    """Decision SMS leave through the fake Aliyun gateway."""
    return {**app_config, **fake_aliyun.settings()}


@pytest.fixture
def apply(client, nanjing, make_worker):  # noqa: F811  # fixtures from tests/enrollment
    """``apply(code=None, phone=None, **form changes)`` → the created application's JSON (a new worker each time)."""
    serials = itertools.count(1)

    def submit(code=None, phone=None, **changes):
        n = next(serials)
        _, headers = make_worker(phone or f"1371234{n:04d}")
        body = form(nanjing, id_number=id_number(n), **changes)
        if code is not None:
            body["join_token"] = code.token
        response = client.post("/api/v1/applications", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return submit


def make_overdue(session, application_id: str, days: int = 1) -> None:
    """Move an application's reply deadline into the past."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    session.execute(sa.update(Application).where(Application.id == int(application_id)).values(due_at=past))
    session.commit()
