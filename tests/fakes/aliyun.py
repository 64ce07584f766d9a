"""A fake Aliyun Dysmsapi: ``SendSms`` over RPC, checked the way Aliyun checks it.

It verifies the AccessKeyId, the timestamp (15 minutes), the nonce (never twice)
and the HMAC-SHA1 signature — computed here independently of the app's code — and
answers with Aliyun's JSON shapes: ``{"Code": "OK", "BizId", ...}`` on success,
business errors (``isv.*``) inside HTTP 200, request errors with HTTP 400/404. Like
Aliyun, some error messages echo the phone number or the string to sign (which
holds the code): the app must never log them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from tests.fakes.server import FakeServer


@dataclass(frozen=True)
class SentSms:
    phone: str
    template_code: str
    params: dict[str, str]


def _encode(value: str) -> str:
    return quote(value, safe="~-_.")


def _aliyun_json(payload: dict[str, Any], status: int = 200) -> Response:
    payload = {"RequestId": str(uuid.uuid4()).upper(), **payload}
    return Response(
        json.dumps(payload, ensure_ascii=False), status=status, content_type="application/json;charset=utf-8"
    )


class FakeAliyunSms(FakeServer):
    access_key_id = "LTAI5tFakeAccessKeyId01"
    access_key_secret = "fakeAliyunAccessKeySecret0123"
    sign_name = "入会"
    template_code = "SMS_460000001"
    # The decision notices (app/review), each its own approved template.
    notice_template_codes = {  # read-only class data
        "application_approved": "SMS_460000011",
        "application_rejected": "SMS_460000012",
        "application_returned": "SMS_460000013",
        "application_transferred": "SMS_460000014",
        "membership_status": "SMS_460000015",
        "membership_retain_declined": "SMS_460000016",
    }

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[SentSms] = []
        self.throttled: set[str] = set()
        self._nonces: set[str] = set()
        self.route("POST", "/")(self._rpc)
        self.route("GET", "/")(self._rpc)

    def settings(self) -> dict[str, Any]:
        """Settings overrides that point the app's Aliyun gateway here."""
        return {
            "sms_provider": "aliyun",
            "aliyun_sms_endpoint": self.url,
            "aliyun_access_key_id": self.access_key_id,
            "aliyun_access_key_secret": self.access_key_secret,
            "aliyun_sms_sign_name": self.sign_name,
            "aliyun_sms_template_code": self.template_code,
            "aliyun_sms_notice_template_codes": tuple(self.notice_template_codes.items()),
        }

    def _rpc(self, request: Request) -> Response:
        params = {**request.args.to_dict(), **request.form.to_dict()}
        for name in ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp", "Action", "Version"):
            if not params.get(name):
                return _aliyun_json({"Code": f"Missing{name}", "Message": f"{name} is mandatory for this action."}, 400)
        if params["AccessKeyId"] != self.access_key_id:
            return _aliyun_json(
                {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found."}, 404
            )
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            return _aliyun_json(
                {"Code": "InvalidSignatureMethod", "Message": "Specified signature method is not supported."}, 400
            )
        try:
            stamp = dt.datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            return _aliyun_json(
                {
                    "Code": "InvalidTimeStamp.Format",
                    "Message": "Specified time stamp or date value is not well formatted.",
                },
                400,
            )
        if abs(stamp.timestamp() - time.time()) > 15 * 60:
            return _aliyun_json(
                {"Code": "InvalidTimeStamp.Expired", "Message": "Specified time stamp or date value is expired."}, 400
            )
        canonical = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()) if k != "Signature")
        string_to_sign = f"{request.method}&{_encode('/')}&{_encode(canonical)}"
        expected = base64.b64encode(
            hmac.new(f"{self.access_key_secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
        ).decode()
        if not hmac.compare_digest(expected, params["Signature"]):
            return _aliyun_json(
                {
                    "Code": "SignatureDoesNotMatch",
                    "Message": "Specified signature does not match our calculation. "
                    f"server string to sign is:{string_to_sign}",
                    "Recommend": "https://api.aliyun.com/troubleshoot?q=SignatureDoesNotMatch&product=Dysmsapi",
                    "HostId": "dysmsapi.aliyuncs.com",
                },
                400,
            )
        if params["SignatureNonce"] in self._nonces:
            return _aliyun_json(
                {"Code": "SignatureNonceUsed", "Message": "Specified signature nonce was used already."}, 400
            )
        self._nonces.add(params["SignatureNonce"])
        if params["Action"] != "SendSms":
            return _aliyun_json(
                {
                    "Code": "InvalidAction.NotFound",
                    "Message": "Specified api is not found, please check your url and method.",
                },
                404,
            )
        if params["Version"] != "2017-05-25":
            return _aliyun_json({"Code": "InvalidVersion", "Message": "Specified parameter Version is not valid."}, 400)
        return self._send(params)

    def _send(self, params: dict[str, str]) -> Response:
        phone = params.get("PhoneNumbers", "")
        if params.get("SignName") != self.sign_name:
            return _aliyun_json({"Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "该账号下找不到对应签名"})
        if params.get("TemplateCode") not in {self.template_code, *self.notice_template_codes.values()}:
            return _aliyun_json({"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "该账号下找不到对应模板"})
        if not re.fullmatch(r"1[3-9][0-9]{9}", phone):
            return _aliyun_json({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": f"{phone}invalid mobile number"})
        try:
            template_params = json.loads(params.get("TemplateParam", "{}"))
        except ValueError:
            template_params = None
        if not isinstance(template_params, dict) or not all(isinstance(v, str) for v in template_params.values()):
            return _aliyun_json({"Code": "isv.INVALID_JSON_PARAM", "Message": "JSON参数不合法，只接受字符串值"})
        if phone in self.throttled:
            return _aliyun_json({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1"})
        with self._lock:
            self.sent.append(SentSms(phone, params["TemplateCode"], template_params))
        biz_id = f"{int(time.time() * 1000)}^0"
        return _aliyun_json({"Code": "OK", "Message": "OK", "BizId": biz_id})
