"""Fixtures for the outbox: decision SMS leave through the fake Aliyun gateway (as in tests/review)."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config(app_config, fake_aliyun):
    return {**app_config, **fake_aliyun.settings()}
