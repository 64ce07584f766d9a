"""Access tokens: short-lived JWTs signed with a key that has an id (``kid``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from flask import current_app

from app.db import utcnow
from app.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "ruhui"
AUDIENCE = "ruhui-api"
ACCESS_TTL = {"worker": dt.timedelta(minutes=15), "officer": dt.timedelta(minutes=30)}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: bytes


def signing_key() -> SigningKey:
    """The key new tokens are signed with, derived from ``SECRET_KEY``."""
    secret_key: str = current_app.config["SECRET_KEY"]
    secret = hmac.new(secret_key.encode(), b"ruhui-jwt-v1", hashlib.sha256).digest()
    return SigningKey(kid=hashlib.sha256(secret).hexdigest()[:12], secret=secret)


def issue_access_token(kind: str, subject: int, now: dt.datetime | None = None) -> tuple[str, int]:
    """Sign a token for a ``worker`` or an ``officer``; returns it and its lifetime in seconds."""
    now = now or utcnow()
    ttl = ACCESS_TTL[kind]
    key = signing_key()
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(subject),
        "kind": kind,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})
    return token, int(ttl.total_seconds())


def decode_access_token(token: str) -> dict[str, Any]:
    """Verify signature, algorithm, issuer, audience and expiry; anything wrong is 401."""
    key = signing_key()
    try:
        header = jwt.get_unverified_header(token)
        if header.get("kid") != key.kid:
            raise jwt.InvalidTokenError("unknown kid")
        claims: dict[str, Any] = jwt.decode(
            token,
            key.secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("登录已失效，请重新登录") from exc
    if claims.get("kind") not in ACCESS_TTL:
        raise Unauthorized("登录已失效，请重新登录")
    return claims
