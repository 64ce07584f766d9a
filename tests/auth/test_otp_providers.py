"""The whole SMS sign-in path through the real gateways, against the fake Aliyun and Tencent servers."""

from __future__ import annotations

import re
import socket

import pytest
import sqlalchemy as sa
from werkzeug.wrappers import Response

from app.auth.models import OtpChallenge
from tests.auth.support import request_code, verify

PHONE = "13812345678"


@pytest.fixture(params=["aliyun", "tencent"])
def provider(request, fake_aliyun, fake_tencent):
    return fake_aliyun if request.param == "aliyun" else fake_tencent


@pytest.fixture
def app_config(app_config, provider):
    return {**app_config, **provider.settings()}


def _code_sent(provider):
    message = provider.sent[-1]
    params = message.params
    code = params["code"] if isinstance(params, dict) else params[0]
    assert re.fullmatch(r"[0-9]{6}", code)
    return code


def test_code_goes_out_through_the_gateway_and_signs_in(client, provider):
    challenge = request_code(client, "+86 138 1234 5678")
    assert challenge.status_code == 202
    assert [m.phone for m in provider.sent] == [PHONE]
    response = verify(client, challenge.get_json()["challenge_id"], _code_sent(provider))
    assert response.status_code == 200
    assert response.get_json()["token_type"] == "Bearer"


def test_provider_frequency_control_is_otp_rate_limited(client, provider):
    provider.throttled.add(PHONE)
    response = request_code(client, PHONE)
    assert response.status_code == 429
    assert response.get_json()["code"] == "otp_rate_limited"
    assert int(response.headers["Retry-After"]) == 60


def test_gateway_refusing_our_credentials_is_sms_unavailable(app_config, provider, make_app):
    secret = "aliyun_access_key_secret" if app_config["sms_provider"] == "aliyun" else "tencent_secret_key"
    response = request_code(make_app(**{secret: "not-the-secret"}).test_client(), PHONE)
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "sms_unavailable"
    assert "Retry-After" in response.headers
    assert PHONE not in response.get_data(as_text=True)
    assert provider.sent == []


def test_gateway_down_is_sms_unavailable_and_no_challenge_is_left(app_config, make_app, session):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    key = "aliyun_sms_endpoint" if app_config["sms_provider"] == "aliyun" else "tencent_sms_endpoint"
    response = request_code(make_app(**{key: dead}).test_client(), PHONE)
    assert response.status_code == 503
    assert response.get_json()["code"] == "sms_unavailable"
    assert session.scalar(sa.select(sa.func.count()).select_from(OtpChallenge)) == 0


@pytest.mark.parametrize("failure", ["gateway_down", "provider_throttled"])
def test_a_failed_send_spends_no_limit(client, provider, session, failure):
    # One code a minute per number: had the failed send been counted, the retry would be a 429.
    if failure == "gateway_down":
        provider.answer_next("POST", "/", Response("upstream unavailable", status=503))
    else:
        provider.throttled.add(PHONE)
    refused = request_code(client, PHONE)
    assert refused.status_code in (429, 503)
    assert provider.sent == []
    assert session.scalar(sa.select(sa.func.count()).select_from(OtpChallenge)) == 0

    provider.throttled.clear()
    retried = request_code(client, PHONE)
    assert retried.status_code == 202, retried.get_json()
    assert [m.phone for m in provider.sent] == [PHONE]
    # The code that left belongs to a stored challenge, which signs in.
    assert verify(client, retried.get_json()["challenge_id"], _code_sent(provider)).status_code == 200
