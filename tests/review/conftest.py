"""Fixtures for review: decisions send their SMS through the fake Aliyun gateway.

Applications come from ``apply`` and the Nanjing tree from ``nanjing`` (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.enrollment.models import Application


@pytest.fixture
def app_config(app_config, fake_aliyun):
    """Decision SMS leave through the fake Aliyun gateway."""
    return {**app_config, **fake_aliyun.settings()}


def make_overdue(session, application_id: str, days: int = 1) -> None:
    """Move an application's reply deadline into the past."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    session.execute(sa.update(Application).where(Application.id == int(application_id)).values(due_at=past))
    session.commit()
