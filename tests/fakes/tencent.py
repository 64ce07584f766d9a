"""A fake Tencent Cloud SMS: ``SendSms`` (API 3.0), checked the way Tencent checks it.

It parses the ``TC3-HMAC-SHA256`` Authorization header, checks the SecretId, the
timestamp (five minutes) and the signature over the signed headers — computed here
independently of the app's code — and answers, always with HTTP 200, with
``{"Response": {"SendStatusSet": [...], "RequestId"}}`` or
``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import FakeServer

_AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)/tc3_request, "
    r"SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class SentSms:
    phone: str
    template_id: str
    params: list[str]


def _tencent_json(body: dict[str, Any]) -> Response:
    payload = {"Response": {**body, "RequestId": str(uuid.uuid4())}}
    return Response(json.dumps(payload, ensure_ascii=False), status=200, content_type="application/json")


def _error(code: str, message: str) -> Response:
    return _tencent_json({"Error": {"Code": code, "Message": message}})


class FakeTencentSms(FakeServer):
    secret_id = "AKIDfakeTencentSecretId0123456789"
    secret_key = "fakeTencentSecretKey0123456789ab"
    sdk_app_id = "1400000001"
    sign_name = "入会"
    template_id = "1000001"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[SentSms] = []
        self.throttled: set[str] = set()
        self.blocked: set[str] = set()  # numbers on the do-not-disturb list
        self.route("POST", "/")(self._api)

    def settings(self) -> dict[str, str]:
        """Settings overrides that point the app's Tencent gateway here."""
        return {
            "sms_provider": "tencent",
            "tencent_sms_endpoint": self.url,
            "tencent_secret_id": self.secret_id,
            "tencent_secret_key": self.secret_key,
            "tencent_sms_sdk_app_id": self.sdk_app_id,
            "tencent_sms_sign_name": self.sign_name,
            "tencent_sms_template_id": self.template_id,
        }

    def _signature_problem(self, request: Request, body: bytes) -> Response | None:
        match = _AUTHORIZATION.match(request.headers.get("Authorization", ""))
        if match is None:
            return _error("AuthFailure.InvalidAuthorization", "Authorization header is not valid.")
        if match["id"] != self.secret_id:
            return _error(
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found, please ensure that your SecretId is correct.",
            )
        try:
            timestamp = int(request.headers.get("X-TC-Timestamp", ""))
        except ValueError:
            return _error("InvalidParameter", "X-TC-Timestamp is invalid.")
        if abs(timestamp - time.time()) > 300:
            return _error("AuthFailure.SignatureExpire", "Signature expire.")
        date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
        signed = match["headers"].split(";")
        if "host" not in signed or "content-type" not in signed:
            return _error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        # Tencent lower-cases and trims every signed header, name and value.
        canonical_headers = "".join(f"{name}:{request.headers.get(name, '').strip().lower()}\n" for name in signed)
        canonical_request = "\n".join(
            ["POST", "/", "", canonical_headers, match["headers"], hashlib.sha256(body).hexdigest()]
        )
        scope = f"{date}/{match['service']}/tc3_request"
        string_to_sign = (
            f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
        )
        key = f"TC3{self.secret_key}".encode()
        for part in (date, match["service"], "tc3_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if match["date"] != date or match["service"] != "sms" or not hmac.compare_digest(expected, match["signature"]):
            return _error(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )
        return None

    def _api(self, request: Request) -> Response:
        body = request.get_data(cache=True)
        problem = self._signature_problem(request, body)
        if problem is not None:
            return problem
        if request.headers.get("X-TC-Action") != "SendSms":
            return _error("InvalidAction", "The action does not exist.")
        if request.headers.get("X-TC-Version") != "2021-01-11":
            return _error("NoSuchVersion", "The version does not exist.")
        try:
            payload = json.loads(body)
        except ValueError:
            return _error("FailedOperation.FailResolvePacket", "Failed to resolve the request packet.")
        if payload.get("SmsSdkAppId") != self.sdk_app_id:
            return _error("InvalidParameterValue.SdkAppIdNotExist", "The SdkAppId does not exist.")
        if payload.get("SignName") != self.sign_name:
            return _error("FailedOperation.SignatureIncorrectOrUnapproved", "The signature is incorrect or unapproved.")
        if payload.get("TemplateId") != self.template_id:
            return _error("FailedOperation.TemplateIncorrectOrUnapproved", "The template is incorrect or unapproved.")
        params = payload.get("TemplateParamSet", [])
        statuses = []
        for number in payload.get("PhoneNumberSet", []):
            local = number.removeprefix("+86")
            status: dict[str, Any] = {"PhoneNumber": number, "SessionContext": "", "IsoCode": "CN", "Fee": 0}
            if not re.fullmatch(r"1[3-9][0-9]{9}", local):
                status.update(
                    SerialNo="", Code="InvalidParameterValue.IncorrectPhoneNumber", Message="incorrect phone number"
                )
            elif local in self.blocked:
                status.update(
                    SerialNo="", Code="FailedOperation.PhoneNumberInBlacklist", Message="phone number in blacklist"
                )
            elif local in self.throttled:
                status.update(
                    SerialNo="",
                    Code="LimitExceeded.PhoneNumberThirtySecondLimit",
                    Message="the number of sms messages sent from a single mobile number within 30 seconds "
                    "exceeds the upper limit",
                )
            else:
                with self._lock:
                    self.sent.append(SentSms(local, payload["TemplateId"], list(params)))
                status.update(SerialNo=f"2028:{uuid.uuid4().int % 10**20}", Code="Ok", Message="send success", Fee=1)
            statuses.append(status)
        return _tencent_json({"SendStatusSet": statuses})
