"""The WeChat mini-program server API: sign-in codes, phone numbers, and the access token.

``WeChatClient`` calls ``api.weixin.qq.com`` (``WECHAT_API_BASE``) with ``requests``:

- ``code_to_session(js_code)`` — ``sns/jscode2session``: openid (and unionid).
- ``get_phone_number(phone_code)`` — ``wxa/business/getuserphonenumber``.
- ``access_token()`` — a valid ``access_token`` from ``cgi-bin/stable_token``,
  cached in the database so every process shares one (``WeChatAccessToken``) and
  renewed five minutes before it expires (WeChat issues the next token then).
- ``call(method, path, json=…)`` — any API that takes ``?access_token=``; on
  40001/42001 (token invalid or expired) the token is renewed and the call is
  repeated once. New APIs (mini-program codes, subscribe messages) are one method
  over ``call``.

Errors are typed: ``WeChatCodeInvalid`` (a user's code is bad, used or blocked),
``WeChatUnavailable`` (WeChat is busy, over quota, unreachable or refuses our
credentials). ``wechat_client()`` raises ``WeChatNotConfigured`` without
``WECHAT_APP_ID``/``WECHAT_APP_SECRET``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import requests
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Engine

from app.db import conflict_insert, db, utcnow
from app.notify.models import WeChatAccessToken
from app.notify.outbound import TIMEOUT, never_reached_server
from app.privacy import DecryptionError, Keyring, keyring

log = logging.getLogger("ruhui.wechat")

# WeChat hands out the next token in the last five minutes of the current one.
RENEW_BEFORE_EXPIRY = dt.timedelta(minutes=5)
TOKEN_REJECTED = frozenset({40001, 42001})  # invalid credential / access_token expired
# A user's code: invalid (40029), already used (40163), user blocked as high-risk (40226).
CODE_REJECTED = frozenset({40029, 40163, 40226})


class WeChatError(Exception):
    def __init__(self, errcode: int, errmsg: str = "") -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")


class WeChatCodeInvalid(WeChatError):
    """The code the mini-program sent is invalid, expired, used, or its user is blocked."""


class WeChatUnavailable(WeChatError):
    """WeChat is busy, over quota, unreachable, or refuses our credentials."""


class WeChatTokenRejected(WeChatError):
    """Our access token was refused (40001/42001); ``call`` renews and retries once."""


class WeChatNotConfigured(Exception):
    """``WECHAT_APP_ID``/``WECHAT_APP_SECRET`` are not set."""


@dataclass(frozen=True)
class WeChatLogin:
    openid: str
    unionid: str | None
    session_key: str


@dataclass(frozen=True)
class WeChatPhone:
    phone_number: str
    pure_phone_number: str
    country_code: str


@dataclass(frozen=True)
class WeChatReply:
    """A successful answer: JSON (``data``) or, for image APIs, raw bytes (``content``)."""

    content_type: str
    content: bytes
    data: dict[str, Any] | None


def _error_for(errcode: int, errmsg: str) -> WeChatError:
    if errcode in TOKEN_REJECTED:
        return WeChatTokenRejected(errcode, errmsg)
    if errcode in CODE_REJECTED:
        return WeChatCodeInvalid(errcode, errmsg)
    return WeChatUnavailable(errcode, errmsg)


@dataclass(frozen=True)
class CachedToken:
    access_token: str
    expires_at: dt.datetime


class DatabaseTokenStore:
    """The shared token cache: one row per app id, written on its own connection.

    Its own short transaction (not the request's session) so that a token fetched
    during a request that later fails is still kept for everybody else.
    """

    def __init__(self, engine: Engine, cipher: Keyring) -> None:
        self.engine = engine
        self.cipher = cipher

    def load(self, app_id: str) -> CachedToken | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(WeChatAccessToken.access_token_sealed, WeChatAccessToken.expires_at).where(
                    WeChatAccessToken.app_id == app_id
                )
            ).first()
        if row is None:
            return None
        try:
            return CachedToken(self.cipher.decrypt(row[0], "wechat.access_token"), row[1])
        except DecryptionError:
            return None  # written under another SECRET_KEY: fetch a new one

    def save(self, app_id: str, token: str, expires_at: dt.datetime) -> None:
        values = {
            "app_id": app_id,
            "access_token_sealed": self.cipher.encrypt(token, "wechat.access_token"),
            "expires_at": expires_at,
            "updated_at": utcnow(),
        }
        insert = conflict_insert(self.engine.dialect)
        statement = insert(WeChatAccessToken).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[WeChatAccessToken.app_id],
            set_={k: statement.excluded[k] for k in ("access_token_sealed", "expires_at", "updated_at")},
        )
        with self.engine.begin() as connection:
            connection.execute(statement)


class WeChatClient:
    def __init__(self, *, app_id: str, app_secret: str, api_base: str, token_store: DatabaseTokenStore) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.api_base = api_base.rstrip("/")
        self.token_store = token_store

    # -- plumbing ---------------------------------------------------------

    def _request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, json: Any = None
    ) -> WeChatReply:
        """One HTTP exchange; a JSON body with a non-zero ``errcode`` raises its typed error."""
        url = f"{self.api_base}/{path.lstrip('/')}"
        for tries_left in (1, 0):
            try:
                response = requests.request(method, url, params=params, json=json, timeout=TIMEOUT)
                break
            except requests.RequestException as exc:
                if tries_left and never_reached_server(exc):
                    log.warning("WeChat unreachable; retrying once", extra={"path": path})
                    continue
                log.error("WeChat request failed", extra={"path": path, "error": type(exc).__name__})
                raise WeChatUnavailable(-1, type(exc).__name__) from exc
        content_type = response.headers.get("Content-Type", "")
        if response.status_code != 200:
            log.error("WeChat answered with an HTTP error", extra={"path": path, "status": response.status_code})
            raise WeChatUnavailable(-1, f"HTTP {response.status_code}")
        data: dict[str, Any] | None = None
        if "json" in content_type or "text/plain" in content_type or response.content[:1] == b"{":
            try:
                parsed = response.json()
            except ValueError as exc:
                raise WeChatUnavailable(-1, "unreadable JSON") from exc
            if not isinstance(parsed, dict):
                raise WeChatUnavailable(-1, "unexpected JSON")
            data = parsed
            errcode = data.get("errcode", 0)
            if errcode not in (0, None):
                error = _error_for(int(errcode) if isinstance(errcode, int) else -1, str(data.get("errmsg", "")))
                level = logging.ERROR if isinstance(error, WeChatUnavailable) else logging.INFO
                log.log(level, "WeChat refused a call", extra={"path": path, "errcode": error.errcode})
                raise error
        return WeChatReply(content_type=content_type, content=response.content, data=data)

    # -- the access token -------------------------------------------------

    def _fetch_token(self, *, force_refresh: bool) -> str:
        reply = self._request(
            "POST",
            "cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.app_id,
                "secret": self.app_secret,
                "force_refresh": force_refresh,
            },
        )
        data = reply.data or {}
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise WeChatUnavailable(-1, "stable_token answered without a token")
        self.token_store.save(self.app_id, token, utcnow() + dt.timedelta(seconds=expires_in))
        log.info("WeChat access token fetched", extra={"force_refresh": force_refresh, "expires_in": expires_in})
        return token

    def access_token(self) -> str:
        """A token valid for at least five more minutes, from the shared cache when possible."""
        cached = self.token_store.load(self.app_id)
        if cached is not None and cached.expires_at - utcnow() > RENEW_BEFORE_EXPIRY:
            return cached.access_token
        return self._fetch_token(force_refresh=False)

    def _renew_rejected(self, rejected: str) -> str:
        cached = self.token_store.load(self.app_id)
        if (
            cached is not None
            and cached.access_token != rejected
            and cached.expires_at - utcnow() > RENEW_BEFORE_EXPIRY
        ):
            return cached.access_token  # another process renewed it already
        token = self._fetch_token(force_refresh=False)
        if token == rejected:
            # WeChat still hands out the token it just refused: only a forced refresh helps
            # (it invalidates the old token everywhere, so it is the last resort).
            token = self._fetch_token(force_refresh=True)
        return token

    def call(self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None) -> WeChatReply:
        """Call an API that takes ``?access_token=``; renew the token and retry once when it is refused."""
        token = self.access_token()
        try:
            return self._request(method, path, params={**(params or {}), "access_token": token}, json=json)
        except WeChatTokenRejected:
            token = self._renew_rejected(token)
        try:
            return self._request(method, path, params={**(params or {}), "access_token": token}, json=json)
        except WeChatTokenRejected as exc:
            raise WeChatUnavailable(exc.errcode, exc.errmsg) from exc

    # -- the APIs ---------------------------------------------------------

    def code_to_session(self, js_code: str) -> WeChatLogin:
        """Exchange a ``wx.login`` code for the user's openid (and unionid, when the app has one)."""
        reply = self._request(
            "GET",
            "sns/jscode2session",
            params={
                "appid": self.app_id,
                "secret": self.app_secret,
                "js_code": js_code,
                "grant_type": "authorization_code",
            },
        )
        data = reply.data or {}
        openid = data.get("openid")
        if not isinstance(openid, str) or not openid:
            raise WeChatUnavailable(-1, "jscode2session answered without an openid")
        unionid = data.get("unionid")
        return WeChatLogin(
            openid=openid,
            unionid=unionid if isinstance(unionid, str) and unionid else None,
            session_key=str(data.get("session_key", "")),
        )

    def get_phone_number(self, phone_code: str) -> WeChatPhone:
        """Exchange a ``getPhoneNumber`` button code for the number WeChat verified."""
        reply = self.call("POST", "wxa/business/getuserphonenumber", json={"code": phone_code})
        info = (reply.data or {}).get("phone_info")
        if not isinstance(info, dict) or not info.get("purePhoneNumber"):
            raise WeChatUnavailable(-1, "getuserphonenumber answered without phone_info")
        return WeChatPhone(
            phone_number=str(info.get("phoneNumber", "")),
            pure_phone_number=str(info["purePhoneNumber"]),
            country_code=str(info.get("countryCode", "")),
        )


def wechat_client() -> WeChatClient:
    """The current app's client; raises ``WeChatNotConfigured`` when WeChat is not set up."""
    settings = current_app.extensions["ruhui.settings"]
    if not settings.wechat_configured:
        raise WeChatNotConfigured()
    client = current_app.extensions.get("ruhui.wechat_client")
    if client is None:
        client = WeChatClient(
            app_id=settings.wechat_app_id,
            app_secret=settings.wechat_app_secret,
            api_base=settings.wechat_api_base,
            token_store=DatabaseTokenStore(db.engine, keyring()),
        )
        current_app.extensions["ruhui.wechat_client"] = client
    assert isinstance(client, WeChatClient)
    return client
