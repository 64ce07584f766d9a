"""A fake WeChat server API: ``jscode2session``, ``stable_token``, ``getuserphonenumber``, ``getwxacodeunlimit``.

It behaves like api.weixin.qq.com where the app can tell: codes are single use
(40029 unknown, 40163 used), app id and secret are checked (40013, 40125),
``stable_token`` returns the same token while it has more than five minutes left
and a new one inside the last five, a forced refresh invalidates the old token,
and APIs refuse missing (41001), unknown (40001) or expired (42001) tokens.

Add an endpoint with ``@fake.token_route("POST", "/wxa/path")``: the handler runs only
for a valid access token.

``wxa/getwxacodeunlimit`` checks the body as WeChat does (JSON, ``scene`` of at most 32
allowed characters: 40169/40129; ``page`` published when ``check_path``: 41030; the
per-minute quota: 45009) and answers with an image: JPEG labelled ``image/jpeg``, or PNG
with ``is_hyaline``. A mini-program code cannot be drawn here, so the image is an
ordinary QR code of ``wxacode|<scene>|<page>|<env_version>|<width>``: a test decodes it to
see what was asked for.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

import qrcode
import qrcode.constants
from werkzeug.wrappers import Request, Response

from tests.fakes.server import FakeServer, Handler

TOKEN_LIFETIME = 7200
RENEWAL_WINDOW = 300
WXACODE_SCENE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]+$")


def wechat_json(payload: dict[str, Any], *, content_type: str = "application/json; encoding=utf-8") -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=200, content_type=content_type)


def wechat_error(errcode: int, errmsg: str) -> Response:
    """WeChat's error shape (always HTTP 200): ``{"errcode": N, "errmsg": "... rid: ..."}``."""
    return wechat_json({"errcode": errcode, "errmsg": f"{errmsg} rid: {uuid.uuid4().hex[:24]}"})


class FakeWeChat(FakeServer):
    app_id = "wx0123456789abcdef"
    app_secret = "fake-wechat-app-secret-0123456789"

    def __init__(self) -> None:
        super().__init__()
        self.login_codes: dict[str, tuple[str, str | None]] = {}
        self.phone_codes: dict[str, tuple[str, str]] = {}
        self.used_codes: set[str] = set()
        self.tokens: dict[str, float] = {}  # valid access tokens → expiry (epoch seconds)
        self.current_token: str | None = None
        self.refused_tokens: set[str] = set()
        self.last_forced_refresh = 0.0
        self.forced_refreshes = 0
        self.route("GET", "/sns/jscode2session")(self._jscode2session)
        self.route("POST", "/cgi-bin/stable_token")(self._stable_token)
        self.token_route("POST", "/wxa/business/getuserphonenumber")(self._getuserphonenumber)
        self.published_pages: set[str] = {"pages/join/index", "pages/index/index"}
        self.wxacode_quota_per_minute = 5000
        self._wxacode_minute: tuple[int, int] = (0, 0)  # (minute, calls in it)
        self.token_route("POST", "/wxa/getwxacodeunlimit")(self._getwxacodeunlimit)

    # -- arranging --------------------------------------------------------

    def settings(self) -> dict[str, str]:
        """Settings overrides that point the app's WeChat client here."""
        return {"wechat_app_id": self.app_id, "wechat_app_secret": self.app_secret, "wechat_api_base": self.url}

    def login_code(self, openid: str | None = None, unionid: str | None = None) -> str:
        """A fresh ``wx.login`` code for a user (a new openid unless given)."""
        code = secrets.token_hex(16)
        self.login_codes[code] = (openid or f"o{secrets.token_urlsafe(20)}", unionid)
        return code

    def phone_code(self, phone: str, country_code: str = "86") -> str:
        """A fresh ``getPhoneNumber`` code that proves ``phone``."""
        code = secrets.token_hex(32)
        self.phone_codes[code] = (phone, country_code)
        return code

    def revoke_tokens(self) -> None:
        """Make every issued token invalid (as if force-refreshed elsewhere): APIs answer 40001."""
        self.tokens.clear()

    def refuse_current_token(self) -> None:
        """APIs answer 40001 for the current token while stable_token (normal mode) still hands it
        out — the state only a forced refresh gets out of."""
        assert self.current_token is not None
        self.refused_tokens.add(self.current_token)

    def expire_tokens(self) -> None:
        """Make every issued token expired: APIs answer 42001; stable_token issues a new one."""
        self.tokens = dict.fromkeys(self.tokens, time.time() - 1)

    @property
    def stable_token_calls(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.calls("/cgi-bin/stable_token")]

    def token_route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        """Register a handler that only runs when the request carries a valid ``access_token``."""

        def register(handler: Handler) -> Handler:
            def guarded(request: Request) -> Response:
                token = request.args.get("access_token")
                if not token:
                    return wechat_error(41001, "access_token missing")
                expiry = self.tokens.get(token)
                if expiry is None or token in self.refused_tokens:
                    return wechat_error(
                        40001,
                        "invalid credential, access_token is invalid or not latest, "
                        "could get access_token by getStableAccessToken",
                    )
                if expiry <= time.time():
                    return wechat_error(42001, "access_token expired")
                return handler(request)

            self.route(method, path)(guarded)
            return handler

        return register

    # -- the endpoints ----------------------------------------------------

    def _credentials_problem(self, app_id: str | None, secret: str | None) -> Response | None:
        if app_id != self.app_id:
            return wechat_error(40013, "invalid appid")
        if secret != self.app_secret:
            return wechat_error(40125, "invalid appsecret")
        return None

    def _jscode2session(self, request: Request) -> Response:
        args = request.args
        problem = self._credentials_problem(args.get("appid"), args.get("secret"))
        if problem is not None:
            return problem
        if args.get("grant_type") != "authorization_code":
            return wechat_error(40002, "invalid grant_type")
        code = args.get("js_code")
        if not code:
            return wechat_error(41008, "missing code")
        if code in self.used_codes:
            return wechat_error(40163, "code been used")
        if code not in self.login_codes:
            return wechat_error(40029, "invalid code")
        self.used_codes.add(code)
        openid, unionid = self.login_codes.pop(code)
        payload: dict[str, Any] = {"session_key": base64.b64encode(os.urandom(16)).decode(), "openid": openid}
        if unionid:
            payload["unionid"] = unionid
        return wechat_json(payload, content_type="text/plain")  # sns APIs answer JSON labelled text/plain

    def _new_token(self) -> str:
        token = f"86_{secrets.token_urlsafe(96)}"
        self.tokens[token] = time.time() + TOKEN_LIFETIME
        self.current_token = token
        return token

    def _stable_token(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data())
        except ValueError:
            return wechat_error(47001, "data format error")
        problem = self._credentials_problem(body.get("appid"), body.get("secret"))
        if problem is not None:
            return problem
        if body.get("grant_type") != "client_credential":
            return wechat_error(40002, "invalid grant_type")
        now = time.time()
        current = self.current_token
        expiry = self.tokens.get(current or "", 0.0)
        if body.get("force_refresh") is True and now - self.last_forced_refresh >= 30:
            if self.forced_refreshes >= 20:
                return wechat_error(45009, "reach max api daily quota limit")
            self.forced_refreshes += 1
            self.last_forced_refresh = now
            self.tokens.clear()  # a forced refresh invalidates the previous token at once
            current = self._new_token()
        elif current is None or expiry - now <= RENEWAL_WINDOW:
            current = self._new_token()  # the old token stays valid until it expires
        return wechat_json({"access_token": current, "expires_in": int(self.tokens[current] - now)})

    def _getuserphonenumber(self, request: Request) -> Response:
        try:
            code = json.loads(request.get_data()).get("code")
        except (ValueError, AttributeError):
            return wechat_error(47001, "data format error")
        if not code or code in self.used_codes or code not in self.phone_codes:
            return wechat_error(40029, "invalid code")
        self.used_codes.add(code)
        phone, country_code = self.phone_codes.pop(code)
        shown = phone if country_code == "86" else f"+{country_code}{phone}"
        return wechat_json(
            {
                "errcode": 0,
                "errmsg": "ok",
                "phone_info": {
                    "phoneNumber": shown,
                    "purePhoneNumber": phone,
                    "countryCode": country_code,
                    "watermark": {"timestamp": int(time.time()), "appid": self.app_id},
                },
            }
        )

    def _getwxacodeunlimit(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data())
        except ValueError:
            body = None
        scene = body.get("scene") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(scene, str) or not 0 < len(scene) <= 32:
            return wechat_error(40169, "invalid length for scene, or the data is not json string")
        if not WXACODE_SCENE.match(scene):
            return wechat_error(40129, "invalid scene")
        page = body.get("page", "")
        env_version = body.get("env_version", "release")
        if env_version not in ("release", "trial", "develop"):
            return wechat_error(40097, "invalid args")
        if page and (page.startswith("/") or (body.get("check_path", True) and page not in self.published_pages)):
            return wechat_error(41030, "invalid page")
        minute, calls = self._wxacode_minute
        now_minute = int(time.time() // 60)
        calls = calls + 1 if minute == now_minute else 1
        self._wxacode_minute = (now_minute, calls)
        if calls > self.wxacode_quota_per_minute:
            return wechat_error(45009, "reach max api minute quota limit")
        width = min(1280, max(280, int(body.get("width", 430))))
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
        code.add_data(f"wxacode|{scene}|{page}|{env_version}|{width}")
        image = code.make_image().get_image().convert("RGB").resize((width, width))
        out = io.BytesIO()
        if body.get("is_hyaline"):
            image.save(out, format="PNG")
            return Response(out.getvalue(), status=200, content_type="image/png")
        image.save(out, format="JPEG", quality=90)
        return Response(out.getvalue(), status=200, content_type="image/jpeg")
