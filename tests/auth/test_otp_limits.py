"""The SMS-pumping defences, each proved on in-process memory and on the real Redis."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from app import create_app
from app.db import utcnow
from app.ratelimits import Limit
from tests.auth.support import request_code

PHONE = "13912345678"


@pytest.fixture
def sms_budget() -> int:
    return 1000


@pytest.fixture
def app_config(app_config, ratelimit_backend, sms_budget):
    return {**app_config, **ratelimit_backend, "sms_daily_budget": sms_budget}


def assert_rate_limited(response, *, at_most: int, more_than: int = 0) -> int:
    assert response.status_code == 429, response.get_json()
    assert response.get_json()["code"] == "otp_rate_limited"
    retry_after = int(response.headers["Retry-After"])
    assert more_than < retry_after <= at_most
    return retry_after


def test_one_code_per_number_per_minute(client, clock):
    assert request_code(client, PHONE).status_code == 202
    assert_rate_limited(request_code(client, PHONE), at_most=60, more_than=55)
    clock.advance(59)
    assert_rate_limited(request_code(client, PHONE), at_most=1)
    clock.advance(2)
    assert request_code(client, PHONE).status_code == 202


def test_five_codes_per_number_per_hour(client, clock):
    for _ in range(5):
        assert request_code(client, PHONE).status_code == 202
        clock.advance(61)
    retry_after = assert_rate_limited(request_code(client, PHONE), at_most=3600 - 5 * 61 + 1, more_than=3000)
    clock.advance(retry_after + 1)
    assert request_code(client, PHONE).status_code == 202


def test_ten_codes_per_number_per_day(client, clock):
    for _ in range(2):
        for _ in range(5):
            assert request_code(client, PHONE).status_code == 202
            clock.advance(61)
        clock.advance(3600)
    retry_after = assert_rate_limited(request_code(client, PHONE), at_most=24 * 3600, more_than=20 * 3600)
    clock.advance(retry_after + 1)
    assert request_code(client, PHONE).status_code == 202


def test_twenty_codes_per_client_ip_per_hour(client, clock):
    for n in range(20):
        assert request_code(client, f"1371234{n:04d}", ip="203.0.113.7").status_code == 202
    assert_rate_limited(request_code(client, "13799990000", ip="203.0.113.7"), at_most=3600, more_than=3500)
    assert request_code(client, "13799990000", ip="203.0.113.8").status_code == 202  # another address
    clock.advance(3601)
    assert request_code(client, "13799990001", ip="203.0.113.7").status_code == 202


def test_a_refusal_does_not_spend_the_other_limits(client):
    ip = "198.51.100.1"
    for n in range(19):
        assert request_code(client, f"1371234{n:04d}", ip=ip).status_code == 202
    for _ in range(5):  # refused by the number's one-per-minute limit: must not eat the address's allowance
        assert request_code(client, "13712340000", ip=ip).status_code == 429
    assert request_code(client, "13712349999", ip=ip).status_code == 202


@pytest.mark.parametrize("sms_budget", [3])
def test_daily_sms_budget_then_503_for_everybody(client, clock, caplog):
    for n in range(3):
        assert request_code(client, f"1361234{n:04d}", ip=f"192.0.2.{n}").status_code == 202
    with caplog.at_level(logging.ERROR, logger="ruhui.auth"):
        refused = request_code(client, "13612349999", ip="192.0.2.99")
    assert refused.status_code == 503
    assert refused.get_json()["code"] == "sms_unavailable"
    local = utcnow().astimezone(ZoneInfo("Asia/Shanghai"))  # the real zone, to check the fixed offset
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), local.tzinfo)
    to_midnight = (midnight - local).total_seconds()
    assert abs(int(refused.headers["Retry-After"]) - to_midnight) <= 2
    assert any(r.levelno == logging.ERROR and "budget" in r.getMessage() for r in caplog.records)
    clock.advance(to_midnight + 1)  # a new day in China
    assert request_code(client, "13612349999", ip="192.0.2.99").status_code == 202


@pytest.mark.parametrize("ratelimit_backend", ["redis"], indirect=True)
def test_limits_hold_across_app_processes(app_config, client):
    """Two app instances on the same Redis see each other's counts (memory:// cannot, so production refuses it)."""
    other = create_app(app_config)
    try:
        assert request_code(client, PHONE).status_code == 202
        assert_rate_limited(request_code(other.test_client(), PHONE), at_most=60)
    finally:
        other.extensions["ruhui.rate_limits"].close()
        other.extensions["ruhui.engine"].dispose()


def test_a_released_hit_is_handed_back_in_moving_and_fixed_windows(app):
    # What issue_otp does when the gateway fails after the limits were counted.
    limits = app.extensions["ruhui.rate_limits"]
    checks = [(Limit("test-minute", "1/minute"), PHONE), (Limit("test-budget", "1/day", fixed=True), "today")]
    assert limits.acquire(checks) is None
    assert limits.acquire(checks) is not None
    limits.release(checks)
    assert limits.acquire(checks) is None
    assert limits.acquire(checks) is not None
