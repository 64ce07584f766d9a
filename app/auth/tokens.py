"""Access tokens: short-lived JWTs (HS256) signed with a key that has an id (``kid``).

``JWT_KEYS`` lists ``kid:secret`` pairs, newest first: the first signs, every one
verifies. Rotating is adding a new key in front, waiting one token lifetime (30
minutes), then dropping the old one — nobody is signed out. Without ``JWT_KEYS``
one key is derived from ``SECRET_KEY``.

Only HS256 is accepted: a token that names another algorithm (``none``, ``RS256``
with the secret passed off as a public key, ``HS512``) is refused before any
signature check, as is a token whose ``kid`` is not configured.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from flask import current_app

from app.db import utcnow
from app.errors import Unauthorized
from app.privacy import derive_key

ALGORITHM = "HS256"
ISSUER = "ruhui"
AUDIENCE = "ruhui-api"
ACCESS_TTL = {"worker": dt.timedelta(minutes=15), "officer": dt.timedelta(minutes=30)}
CLOCK_SKEW = 30  # seconds a token's iat may lie in the future (another server's clock)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: bytes


def _derived_key(secret_key: str) -> SigningKey:
    secret = derive_key(secret_key, "jwt")
    return SigningKey(kid=hashlib.sha256(secret).hexdigest()[:12], secret=secret)


def signing_keys() -> tuple[SigningKey, ...]:
    """Every key that verifies, the signing key first (cached per app)."""
    keys: tuple[SigningKey, ...] | None = current_app.extensions.get("ruhui.jwt_keys")
    if keys is None:
        settings = current_app.extensions["ruhui.settings"]
        if settings.jwt_keys:
            keys = tuple(SigningKey(kid=kid, secret=secret.encode()) for kid, secret in settings.jwt_keys)
        else:
            keys = (_derived_key(settings.secret_key),)
        current_app.extensions["ruhui.jwt_keys"] = keys
    return keys


def signing_key() -> SigningKey:
    """The key new tokens are signed with."""
    return signing_keys()[0]


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
    """Verify algorithm, key id, signature, issuer, audience and expiry; anything wrong is 401."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise jwt.InvalidAlgorithmError("algorithm not allowed")
        key = next((k for k in signing_keys() if k.kid == header.get("kid")), None)
        if key is None:
            raise jwt.InvalidTokenError("unknown kid")
        claims: dict[str, Any] = jwt.decode(
            token,
            key.secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            # Expiry is checked below against the app's clock (app.db.utcnow), the one every
            # other time limit uses, so tests can move time for all of them at once.
            options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("登录已失效，请重新登录") from exc
    now = utcnow().timestamp()
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float) or isinstance(exp, bool):
        raise Unauthorized("登录已失效，请重新登录")
    if exp <= now or iat > now + CLOCK_SKEW:
        raise Unauthorized("登录已失效，请重新登录")
    if claims.get("kind") not in ACCESS_TTL or not isinstance(claims.get("sub"), str):
        raise Unauthorized("登录已失效，请重新登录")
    return claims
