"""Fixtures for the fakes, the rate-limit storages and the clock (loaded by tests/conftest.py).

To point the app at a fake, override ``app_config`` in the test module::

    @pytest.fixture
    def app_config(app_config, fake_aliyun):
        return {**app_config, **fake_aliyun.settings()}
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
import redis

from tests.fakes.aliyun import FakeAliyunSms
from tests.fakes.servers import PrivatePostgres, PrivateRedis, postgres_bin
from tests.fakes.tencent import FakeTencentSms
from tests.fakes.wechat import FakeWeChat

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def fake_aliyun() -> Iterator[FakeAliyunSms]:
    with FakeAliyunSms() as fake:
        yield fake


@pytest.fixture
def fake_tencent() -> Iterator[FakeTencentSms]:
    with FakeTencentSms() as fake:
        yield fake


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChat]:
    with FakeWeChat() as fake:
        yield fake


@pytest.fixture(params=["memory", "redis"])
def ratelimit_backend(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Settings overrides for each rate-limit storage: in-process memory, and the real Redis.

    Redis keys carry a prefix unique to the test and are deleted afterwards (the
    Redis is shared: never FLUSHDB).
    """
    if request.param == "memory":
        yield {"ratelimit_storage_uri": "memory://"}
        return
    prefix = f"ruhui-test-{uuid.uuid4().hex[:12]}"
    yield {"ratelimit_storage_uri": REDIS_URL, "ratelimit_key_prefix": prefix}
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@dataclass
class Clock:
    """``time.time()`` plus an offset that only moves forward."""

    offset: float = 0.0

    def advance(self, seconds: float) -> None:
        assert seconds >= 0
        self.offset += seconds


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Move time forward for everything that reads ``time.time()``: the rate-limit storages
    (memory and Redis windows), ``app.db.utcnow`` (challenges, tokens) and the fake providers."""
    real_time = time.time
    moved = Clock()

    def moved_time() -> float:
        return real_time() + moved.offset

    with mock.patch("time.time", new=moved_time):
        yield moved


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running PostgreSQL cluster of this test's own (stop and start it at will)."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
    with PrivatePostgres(bindir) as cluster:
        cluster.start()
        yield cluster


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A running redis-server of this test's own (stop and start it at will)."""
    with PrivateRedis() as server:
        server.start()
        yield server
