"""The SMS gateways against local fake Aliyun and Tencent servers that check signatures like the real ones."""

from __future__ import annotations

import json
import logging
import socket

import pytest

from app.config import Settings
from app.notify import sms
from app.notify.sms import (
    AliyunGateway,
    ConsoleGateway,
    SmsRecipientRejected,
    SmsThrottled,
    SmsUnavailable,
    TencentGateway,
)
from tests.fakes.aliyun import FakeAliyunSms
from tests.fakes.tencent import FakeTencentSms

PHONE = "13812345678"
CODE = "246810"
OTP_PARAMS = {"code": CODE, "minutes": "5"}


def aliyun(fake: FakeAliyunSms, **changes: str) -> AliyunGateway:
    options = {
        "endpoint": fake.url,
        "access_key_id": fake.access_key_id,
        "access_key_secret": fake.access_key_secret,
        "sign_name": fake.sign_name,
        **changes,
    }
    return AliyunGateway(**options, template_ids={"otp": fake.template_code})


def tencent(fake: FakeTencentSms, **changes: str) -> TencentGateway:
    options = {
        "endpoint": fake.url,
        "region": "ap-guangzhou",
        "secret_id": fake.secret_id,
        "secret_key": fake.secret_key,
        "sdk_app_id": fake.sdk_app_id,
        "sign_name": fake.sign_name,
        **changes,
    }
    return TencentGateway(**options, template_ids={"otp": fake.template_id})


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_nothing_personal_logged(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        text = json.dumps(record.__dict__, default=str, ensure_ascii=False)
        assert PHONE not in text and CODE not in text, record.getMessage()


# --- Aliyun -------------------------------------------------------------------


def test_aliyun_sends_a_signed_request_and_returns_the_biz_id(fake_aliyun):
    receipt = aliyun(fake_aliyun).send(PHONE, "otp", OTP_PARAMS)
    assert receipt.provider == "aliyun" and receipt.message_id.endswith("^0")
    assert [(m.phone, m.template_code, m.params) for m in fake_aliyun.sent] == [
        (PHONE, fake_aliyun.template_code, OTP_PARAMS)
    ]


def test_aliyun_sign_name_in_chinese_survives_encoding(fake_aliyun):
    # The fake re-signs what it received; a wrongly encoded 入会 would not verify.
    aliyun(fake_aliyun).send(PHONE, "otp", OTP_PARAMS)
    assert len(fake_aliyun.sent) == 1


@pytest.mark.parametrize(
    ("change", "provider_code"),
    [
        ({"access_key_secret": "wrong-secret"}, "SignatureDoesNotMatch"),
        ({"access_key_id": "LTAIunknown"}, "InvalidAccessKeyId.NotFound"),
        ({"sign_name": "别的签名"}, "isv.SMS_SIGNATURE_ILLEGAL"),
    ],
)
def test_aliyun_refusals_of_our_request_are_unavailable(fake_aliyun, caplog, change, provider_code):
    with caplog.at_level(logging.INFO, logger="ruhui.sms"), pytest.raises(SmsUnavailable) as refused:
        aliyun(fake_aliyun, **change).send(PHONE, "otp", OTP_PARAMS)
    assert refused.value.code == provider_code
    assert fake_aliyun.sent == []
    # Aliyun's SignatureDoesNotMatch message echoes the string to sign: number and code.
    assert_nothing_personal_logged(caplog)
    assert any(getattr(r, "provider_code", None) == provider_code for r in caplog.records)


def test_aliyun_business_limit_inside_http_200_is_throttled(fake_aliyun, caplog):
    fake_aliyun.throttled.add(PHONE)
    with caplog.at_level(logging.INFO, logger="ruhui.sms"), pytest.raises(SmsThrottled) as refused:
        aliyun(fake_aliyun).send(PHONE, "otp", OTP_PARAMS)
    assert refused.value.code == "isv.BUSINESS_LIMIT_CONTROL"
    assert refused.value.request_id
    assert_nothing_personal_logged(caplog)


def test_aliyun_illegal_number_is_rejected_without_logging_it(fake_aliyun, caplog):
    with caplog.at_level(logging.INFO, logger="ruhui.sms"), pytest.raises(SmsRecipientRejected):
        aliyun(fake_aliyun).send("12345678901", "otp", OTP_PARAMS)
    for record in caplog.records:
        assert "12345678901" not in json.dumps(record.__dict__, default=str)


def test_aliyun_system_error_is_retried_once(fake_aliyun):
    from werkzeug.wrappers import Response

    busy = json.dumps({"Code": "isp.SYSTEM_ERROR", "Message": "System error", "RequestId": "R1"})
    fake_aliyun.answer_next("POST", "/", Response(busy, content_type="application/json"))
    aliyun(fake_aliyun).send(PHONE, "otp", OTP_PARAMS)
    assert len(fake_aliyun.calls("/")) == 2 and len(fake_aliyun.sent) == 1


def test_aliyun_server_error_is_not_retried(fake_aliyun):
    from werkzeug.wrappers import Response

    fake_aliyun.answer_next("POST", "/", Response("<html>bad gateway</html>", status=502))
    with pytest.raises(SmsUnavailable):
        aliyun(fake_aliyun).send(PHONE, "otp", OTP_PARAMS)
    assert len(fake_aliyun.calls("/")) == 1  # the message may have gone out: never send twice


# --- Tencent ------------------------------------------------------------------


def test_tencent_sends_a_signed_request_and_returns_the_serial_no(fake_tencent):
    receipt = tencent(fake_tencent).send(PHONE, "otp", OTP_PARAMS)
    assert receipt.provider == "tencent" and receipt.message_id.startswith("2028:")
    assert [(m.phone, m.template_id, m.params) for m in fake_tencent.sent] == [
        (PHONE, fake_tencent.template_id, [CODE, "5"])  # TemplateParamSet is positional: code, minutes
    ]
    request = fake_tencent.calls("/")[0]
    assert json.loads(request.body)["PhoneNumberSet"] == [f"+86{PHONE}"]
    assert request.headers["X-Tc-Action"] == "SendSms"


@pytest.mark.parametrize(
    ("change", "provider_code"),
    [
        ({"secret_key": "wrong-key"}, "AuthFailure.SignatureFailure"),
        ({"secret_id": "AKIDunknown"}, "AuthFailure.SecretIdNotFound"),
        ({"sdk_app_id": "1400999999"}, "InvalidParameterValue.SdkAppIdNotExist"),
    ],
)
def test_tencent_refusals_of_our_request_are_unavailable(fake_tencent, caplog, change, provider_code):
    with caplog.at_level(logging.INFO, logger="ruhui.sms"), pytest.raises(SmsUnavailable) as refused:
        tencent(fake_tencent, **change).send(PHONE, "otp", OTP_PARAMS)
    assert refused.value.code == provider_code
    assert fake_tencent.sent == []
    assert_nothing_personal_logged(caplog)


def test_tencent_per_number_limit_in_send_status_set_is_throttled(fake_tencent, caplog):
    fake_tencent.throttled.add(PHONE)
    with caplog.at_level(logging.INFO, logger="ruhui.sms"), pytest.raises(SmsThrottled) as refused:
        tencent(fake_tencent).send(PHONE, "otp", OTP_PARAMS)
    assert refused.value.code == "LimitExceeded.PhoneNumberThirtySecondLimit"
    assert_nothing_personal_logged(caplog)


def test_tencent_incorrect_number_is_rejected(fake_tencent):
    with pytest.raises(SmsRecipientRejected):
        tencent(fake_tencent).send("12345678901", "otp", OTP_PARAMS)


def test_tencent_signature_expires_with_the_clock(fake_tencent, clock):
    gateway = tencent(fake_tencent)
    gateway.send(PHONE, "otp", OTP_PARAMS)
    clock.advance(3600)  # both sides move: a fresh timestamp is signed each time
    gateway.send(PHONE, "otp", OTP_PARAMS)
    assert len(fake_tencent.sent) == 2


# --- either gateway -----------------------------------------------------------


@pytest.mark.parametrize("build", [aliyun, tencent])
def test_unreachable_gateway_is_unavailable_after_one_retry(build, fake_aliyun, fake_tencent, caplog):
    fake = fake_aliyun if build is aliyun else fake_tencent
    gateway = build(fake, endpoint=f"http://127.0.0.1:{_unused_port()}")
    with caplog.at_level(logging.WARNING, logger="ruhui.sms"), pytest.raises(SmsUnavailable):
        gateway.send(PHONE, "otp", OTP_PARAMS)
    assert [r.getMessage() for r in caplog.records].count("SMS gateway unreachable; retrying once") == 1


@pytest.mark.parametrize("build", [aliyun, tencent])
def test_unknown_template_or_wrong_params_never_reach_the_gateway(build, fake_aliyun, fake_tencent):
    fake = fake_aliyun if build is aliyun else fake_tencent
    with pytest.raises(ValueError, match="template"):
        build(fake).send(PHONE, "otp", {"code": CODE})
    with pytest.raises(ValueError, match="template"):
        build(fake).send(PHONE, "welcome", {})
    assert fake.requests == []


def test_console_gateway_writes_the_full_number_and_text(app, capsys):
    gateway = ConsoleGateway(Settings(env="development"))
    gateway.send(PHONE, "otp", OTP_PARAMS)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if '"ruhui.sms.console"' in line]
    assert len(lines) == 1
    assert lines[0]["phone"] == PHONE and CODE in lines[0]["text"]
    assert "ruhui_unredacted" not in lines[0]


def test_console_gateway_cannot_exist_in_production():
    with pytest.raises(RuntimeError, match="production"):
        ConsoleGateway(Settings(env="production"))
    with pytest.raises(RuntimeError, match="production"):
        sms.build_sms_gateway(Settings(env="production", sms_provider="console"))


@pytest.mark.parametrize(
    ("provider", "kind"), [("console", ConsoleGateway), ("aliyun", AliyunGateway), ("tencent", TencentGateway)]
)
def test_sms_provider_chooses_the_gateway(provider, kind):
    assert isinstance(sms.build_sms_gateway(Settings(env="test", sms_provider=provider)), kind)
