"""SMS gateways: one small interface, three implementations chosen by ``SMS_PROVIDER``.

``send(phone, template, params)`` sends one templated message to one mainland
number. Templates are named here (``TEMPLATES``) with the text the console gateway
prints; each real provider maps a template name to the id of the template approved
in its console (``template_ids``). A feature that needs a new message adds a
``SmsTemplate`` and its provider ids; nothing else changes.

- ``console``: development only. Writes the full number and text to the log
  (logger ``ruhui.sms.console``), so a developer can read the code. It refuses to
  exist in production.
- ``aliyun``: Dysmsapi ``SendSms`` (RPC style, HMAC-SHA1 signature).
- ``tencent``: SMS ``SendSms`` API 3.0 (TC3-HMAC-SHA256 signature).

Provider errors become ``SmsThrottled`` (the provider's own per-number limit),
``SmsRecipientRejected`` (a number it will not deliver to) or ``SmsUnavailable``
(anything else). Logs carry the provider's error code and request id, never its
message or body: Aliyun echoes the number and the code in them.

Retries: a send is not idempotent, so a request is only repeated when it never
reached the provider (the connection was not established) or when the provider
documents the error as safe to retry (Aliyun ``isp.SYSTEM_ERROR``, Tencent
``InternalError.Timeout``); once, never more.
"""

from __future__ import annotations

import abc
import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from flask import current_app

from app import metrics
from app.config import Settings
from app.notify.outbound import TIMEOUT, never_reached_server
from app.observability import UNREDACTED

log = logging.getLogger("ruhui.sms")
console_log = logging.getLogger("ruhui.sms.console")


@dataclass(frozen=True)
class SmsTemplate:
    """A message kind. ``params`` are ordered: Tencent takes values by position, Aliyun by name."""

    name: str
    text: str
    params: tuple[str, ...]

    def render(self, params: Mapping[str, str]) -> str:
        return self.text.format(**params)


OTP = SmsTemplate(
    name="otp",
    text="您的入会验证码是{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。",
    params=("code", "minutes"),
)

# Decision notices (app/review): short, no personal data, the details are in the mini-program.
APPLICATION_APPROVED = SmsTemplate(
    name="application_approved",
    text="您的入会申请已通过，欢迎加入{union}！会员号{member_no}，可在小程序中查看电子会员卡。",
    params=("union", "member_no"),
)
APPLICATION_REJECTED = SmsTemplate(
    name="application_rejected",
    text="您向{union}提交的入会申请未获通过，原因请在小程序中查看。",
    params=("union",),
)
APPLICATION_RETURNED = SmsTemplate(
    name="application_returned",
    text="{union}退回了您的入会申请，请在小程序中查看原因，补充后重新提交。",
    params=("union",),
)
APPLICATION_TRANSFERRED = SmsTemplate(
    name="application_transferred",
    text="您的入会申请已转至{union}办理，请留意后续通知。",
    params=("union",),
)

# Membership notices (app.enrollment.memberships): every change of status, and a declined request to retain.
MEMBERSHIP_STATUS = SmsTemplate(
    name="membership_status",
    text="您的工会会籍状态已变更为“{status}”（{union}），详情请在小程序中查看。",
    params=("union", "status"),
)
MEMBERSHIP_RETAIN_DECLINED = SmsTemplate(
    name="membership_retain_declined",
    text="{union}未同意您的保留会籍申请，原因请在小程序中查看。",
    params=("union",),
)

TEMPLATES: dict[str, SmsTemplate] = {
    t.name: t
    for t in (
        OTP,
        APPLICATION_APPROVED,
        APPLICATION_REJECTED,
        APPLICATION_RETURNED,
        APPLICATION_TRANSFERRED,
        MEMBERSHIP_STATUS,
        MEMBERSHIP_RETAIN_DECLINED,
    )
}


@dataclass(frozen=True)
class SmsReceipt:
    provider: str
    message_id: str


class SmsError(Exception):
    """A message was not accepted. ``code`` is the provider's error code (safe to log)."""

    def __init__(self, provider: str, code: str, request_id: str = "") -> None:
        self.provider = provider
        self.code = code
        self.request_id = request_id
        super().__init__(f"{provider}: {code}")


class SmsUnavailable(SmsError):
    """The gateway is down, misconfigured, out of credit or refused us."""


class SmsThrottled(SmsError):
    """The provider's own frequency control for this number said no; try later."""


class SmsRecipientRejected(SmsError):
    """The provider will not deliver to this number (invalid, or on a do-not-disturb list)."""


class SmsGateway(abc.ABC):
    name: str

    @abc.abstractmethod
    def send(self, phone: str, template: str, params: Mapping[str, str]) -> SmsReceipt:
        """Send ``template`` with ``params`` to ``phone`` (11 digits, already normalised)."""

    def _template(self, name: str, params: Mapping[str, str]) -> SmsTemplate:
        template = TEMPLATES.get(name)
        if template is None or set(params) != set(template.params):
            raise ValueError(f"SMS template {name!r} takes {template.params if template else 'nothing'}")
        return template


class ConsoleGateway(SmsGateway):
    """Development: the message goes to the log, full number and all."""

    name = "console"

    def __init__(self, settings: Settings) -> None:
        if settings.is_production:
            raise RuntimeError("the console SMS gateway cannot run in production")

    def send(self, phone: str, template: str, params: Mapping[str, str]) -> SmsReceipt:
        text = self._template(template, params).render(params)
        message_id = uuid.uuid4().hex
        console_log.info(
            "SMS (console gateway, not sent)",
            extra={UNREDACTED: True, "phone": phone, "template": template, "text": text, "message_id": message_id},
        )
        return SmsReceipt(self.name, message_id)


def _send_with_retry(provider: str, attempt: Callable[[], SmsReceipt], retriable_codes: frozenset[str]) -> SmsReceipt:
    for tries_left in (1, 0):
        try:
            return attempt()
        except requests.RequestException as exc:
            if tries_left and never_reached_server(exc):
                log.warning("SMS gateway unreachable; retrying once", extra={"provider": provider})
                continue
            log.error("SMS gateway request failed", extra={"provider": provider, "error": type(exc).__name__})
            raise SmsUnavailable(provider, type(exc).__name__) from exc
        except SmsUnavailable as exc:
            if tries_left and exc.code in retriable_codes:
                log.warning("SMS gateway asked for a retry", extra={"provider": provider, "provider_code": exc.code})
                continue
            raise
    raise AssertionError("unreachable")  # the loop returns or raises


def _log_refusal(error: SmsError) -> None:
    level = logging.ERROR if isinstance(error, SmsUnavailable) else logging.WARNING
    log.log(
        level,
        "SMS gateway refused the message",
        extra={"provider": error.provider, "provider_code": error.code, "provider_request_id": error.request_id},
    )


# ---------------------------------------------------------------------------
# Aliyun (Alibaba Cloud) Dysmsapi SendSms, RPC style, signature version 1.0.


def aliyun_percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun's signature wants it: space is %20, ``~`` stays."""
    return urllib.parse.quote(value, safe="-_.~")


def aliyun_canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in sorted(params.items()) if k != "Signature"
    )


def aliyun_signature(method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    """Base64(HMAC-SHA1(secret + "&", METHOD&%2F&encode(canonical query)))."""
    string_to_sign = "&".join(
        [method.upper(), aliyun_percent_encode("/"), aliyun_percent_encode(aliyun_canonical_query(params))]
    )
    digest = hmac.new(f"{access_key_secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


_ALIYUN_THROTTLED = frozenset({"isv.BUSINESS_LIMIT_CONTROL"})
_ALIYUN_REJECTED = frozenset({"isv.MOBILE_NUMBER_ILLEGAL"})
_ALIYUN_RETRIABLE = frozenset({"isp.SYSTEM_ERROR"})


class AliyunGateway(SmsGateway):
    name = "aliyun"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_ids: Mapping[str, str],
    ) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.template_ids = dict(template_ids)

    def signed_params(self, phone: str, template_code: str, params: Mapping[str, str]) -> dict[str, str]:
        request = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": "cn-hangzhou",
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": dt.datetime.fromtimestamp(time.time(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        request["Signature"] = aliyun_signature("POST", request, self.access_key_secret)
        return request

    def send(self, phone: str, template: str, params: Mapping[str, str]) -> SmsReceipt:
        self._template(template, params)
        template_code = self.template_ids.get(template)
        if not template_code:
            raise SmsUnavailable(self.name, f"template {template!r} not configured")

        def attempt() -> SmsReceipt:
            body = "&".join(
                f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}"
                for k, v in self.signed_params(phone, template_code, params).items()
            )
            response = requests.post(
                self.endpoint,
                data=body.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                timeout=TIMEOUT,
            )
            return self._receipt(response)

        return _send_with_retry(self.name, attempt, _ALIYUN_RETRIABLE)

    def _receipt(self, response: requests.Response) -> SmsReceipt:
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            error: SmsError = SmsUnavailable(self.name, f"HTTP {response.status_code} without JSON")
            _log_refusal(error)
            raise error
        code = str(payload.get("Code", f"HTTP {response.status_code}"))
        request_id = str(payload.get("RequestId", ""))
        if response.status_code == 200 and code == "OK":
            return SmsReceipt(self.name, str(payload.get("BizId", "")))
        if code in _ALIYUN_THROTTLED:
            error = SmsThrottled(self.name, code, request_id)
        elif code in _ALIYUN_REJECTED:
            error = SmsRecipientRejected(self.name, code, request_id)
        else:
            error = SmsUnavailable(self.name, code, request_id)
        _log_refusal(error)
        raise error


# ---------------------------------------------------------------------------
# Tencent Cloud SMS SendSms, API 3.0, TC3-HMAC-SHA256.

TENCENT_CONTENT_TYPE = "application/json; charset=utf-8"


def tc3_signature(
    *,
    secret_key: str,
    service: str,
    host: str,
    timestamp: int,
    payload: bytes,
    method: str = "POST",
    content_type: str = TENCENT_CONTENT_TYPE,
) -> str:
    """The hex signature of a request signed over ``content-type;host`` (API 3.0, v3)."""
    canonical_request = "\n".join(
        [
            method,
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            f"{date}/{service}/tc3_request",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )

    def sign(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    signing_key = sign(sign(sign(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_authorization(
    *, secret_id: str, secret_key: str, service: str, host: str, timestamp: int, payload: bytes
) -> str:
    signature = tc3_signature(secret_key=secret_key, service=service, host=host, timestamp=timestamp, payload=payload)
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/{service}/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


def _tencent_error(provider: str, code: str, request_id: str) -> SmsError:
    if code.startswith("LimitExceeded.PhoneNumber") or code == "LimitExceeded.DeliveryFrequencyLimit":
        return SmsThrottled(provider, code, request_id)
    if code in ("InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist"):
        return SmsRecipientRejected(provider, code, request_id)
    return SmsUnavailable(provider, code, request_id)


class TencentGateway(SmsGateway):
    name = "tencent"

    def __init__(
        self,
        *,
        endpoint: str,
        region: str,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        template_ids: Mapping[str, str],
    ) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"
        self.host = urllib.parse.urlsplit(self.endpoint).netloc
        self.region = region
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.template_ids = dict(template_ids)

    def send(self, phone: str, template: str, params: Mapping[str, str]) -> SmsReceipt:
        definition = self._template(template, params)
        template_id = self.template_ids.get(template)
        if not template_id:
            raise SmsUnavailable(self.name, f"template {template!r} not configured")
        payload = json.dumps(
            {
                "PhoneNumberSet": [f"+86{phone}"],
                "SmsSdkAppId": self.sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": template_id,
                "TemplateParamSet": [params[name] for name in definition.params],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()

        def attempt() -> SmsReceipt:
            timestamp = int(time.time())
            headers = {
                "Authorization": tc3_authorization(
                    secret_id=self.secret_id,
                    secret_key=self.secret_key,
                    service="sms",
                    host=self.host,
                    timestamp=timestamp,
                    payload=payload,
                ),
                "Content-Type": TENCENT_CONTENT_TYPE,
                "Host": self.host,
                "X-TC-Action": "SendSms",
                "X-TC-Version": "2021-01-11",
                "X-TC-Timestamp": str(timestamp),
                "X-TC-Region": self.region,
            }
            response = requests.post(self.endpoint, data=payload, headers=headers, timeout=TIMEOUT)
            return self._receipt(response)

        return _send_with_retry(self.name, attempt, frozenset({"InternalError.Timeout"}))

    def _receipt(self, response: requests.Response) -> SmsReceipt:
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        body = payload.get("Response") if isinstance(payload, dict) else None
        if not isinstance(body, dict):
            error: SmsError = SmsUnavailable(self.name, f"HTTP {response.status_code} without a Response")
            _log_refusal(error)
            raise error
        request_id = str(body.get("RequestId", ""))
        failure = body.get("Error")
        statuses = body.get("SendStatusSet")
        if isinstance(failure, dict):
            error = _tencent_error(self.name, str(failure.get("Code", "Error")), request_id)
        elif isinstance(statuses, list) and len(statuses) == 1 and isinstance(statuses[0], dict):
            status = statuses[0]
            code = str(status.get("Code", ""))
            if code == "Ok":
                return SmsReceipt(self.name, str(status.get("SerialNo", "")))
            error = _tencent_error(self.name, code, request_id)
        else:
            error = SmsUnavailable(self.name, "unexpected response shape", request_id)
        _log_refusal(error)
        raise error


def build_sms_gateway(settings: Settings) -> SmsGateway:
    """The gateway ``SMS_PROVIDER`` names, configured from the settings."""
    if settings.sms_provider == "aliyun":
        return AliyunGateway(
            endpoint=settings.aliyun_sms_endpoint,
            access_key_id=settings.aliyun_access_key_id,
            access_key_secret=settings.aliyun_access_key_secret,
            sign_name=settings.aliyun_sms_sign_name,
            template_ids={
                OTP.name: settings.aliyun_sms_template_code,
                **dict(settings.aliyun_sms_notice_template_codes),
            },
        )
    if settings.sms_provider == "tencent":
        return TencentGateway(
            endpoint=settings.tencent_sms_endpoint,
            region=settings.tencent_sms_region,
            secret_id=settings.tencent_secret_id,
            secret_key=settings.tencent_secret_key,
            sdk_app_id=settings.tencent_sms_sdk_app_id,
            sign_name=settings.tencent_sms_sign_name,
            template_ids={
                OTP.name: settings.tencent_sms_template_id,
                **dict(settings.tencent_sms_notice_template_ids),
            },
        )
    return ConsoleGateway(settings)


def sms_gateway() -> SmsGateway:
    """The current app's gateway (built on first use)."""
    gateway = current_app.extensions.get("ruhui.sms_gateway")
    if gateway is None:
        gateway = build_sms_gateway(current_app.extensions["ruhui.settings"])
        current_app.extensions["ruhui.sms_gateway"] = gateway
    assert isinstance(gateway, SmsGateway)
    return gateway


_REFUSAL_REASONS: dict[type[SmsError], str] = {
    SmsThrottled: "throttled",
    SmsRecipientRejected: "recipient_rejected",
    SmsUnavailable: "unavailable",
}


def send_sms(phone: str, template: str, params: Mapping[str, str]) -> SmsReceipt:
    """Send one templated SMS through the configured gateway; raises an ``SmsError``."""
    gateway = sms_gateway()
    try:
        receipt = gateway.send(phone, template, params)
    except SmsError as error:
        metrics.SMS_REFUSED.labels(_REFUSAL_REASONS.get(type(error), "unavailable")).inc()
        raise
    metrics.SMS_SENT.labels(gateway.name, template).inc()
    return receipt
