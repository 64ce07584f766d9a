"""Signed values in cookies and forms (the session cookie, CSRF tokens), made with less work per request.

Both are itsdangerous' URL-safe timed signatures, as Flask and Flask-WTF make them, so what they
already check (Flask's session loading, Flask-WTF's ``validate_csrf``) reads them unchanged. Two
costs are taken out of every request that writes one:

- ``CompactSerializer`` tries zlib only on payloads long enough to gain from it: ``zlib.compress``
  sets up a fresh 256 KB state per call, which was a third of writing a session cookie of a few
  keys, to save nothing. Longer payloads are compressed as before (a leading ``.``), and either
  form loads.
- ``csrf_token`` keeps one serializer per app, where Flask-WTF's ``generate_csrf`` builds one per
  call (and signs a test value to learn its type).

The worker's pages sign their forms with ``DeviceTokens`` instead (bound to the device cookie, no
session); the console keeps the session's Flask-WTF tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import zlib
from typing import Any

from flask import current_app, g, session
from itsdangerous import Serializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

# Below this many bytes of JSON a payload is not worth trying zlib on (it is rarely shorter compressed).
COMPRESS_FROM = 256

# Flask-WTF's names, which ``validate_csrf`` reads (WTF_CSRF_SECRET_KEY and WTF_CSRF_FIELD_NAME are not set).
CSRF_FIELD = "csrf_token"
CSRF_SALT = "wtf-csrf-token"


class CompactSerializer(URLSafeTimedSerializer):
    """itsdangerous' ``URLSafeTimedSerializer``, trying zlib only from ``COMPRESS_FROM`` bytes of JSON."""

    def dump_payload(self, obj: Any) -> bytes:
        json = Serializer.dump_payload(self, obj)  # the JSON bytes, before the URL-safe mixin compresses them
        if len(json) >= COMPRESS_FROM:
            compressed = zlib.compress(json)
            if len(compressed) < len(json) - 1:
                return b"." + base64_encode(compressed)
        return base64_encode(json)


def csrf_token() -> str:
    """The CSRF token for this request's forms: Flask-WTF's ``generate_csrf``, with the app's serializer."""
    token: str | None = g.get(CSRF_FIELD)
    if token is None:
        if not isinstance(session.get(CSRF_FIELD), str):
            session[CSRF_FIELD] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324  # Flask-WTF's own token
        serializer: CompactSerializer | None = current_app.extensions.get("ruhui.csrf_serializer")
        if serializer is None:
            secret_key = current_app.secret_key
            assert secret_key, "SECRET_KEY is required (app.config refuses to start without one)"
            serializer = current_app.extensions["ruhui.csrf_serializer"] = CompactSerializer(secret_key, salt=CSRF_SALT)
        token = serializer.dumps(session[CSRF_FIELD])
        setattr(g, CSRF_FIELD, token)
    return token


class DeviceTokens:
    """The worker pages' CSRF tokens, bound to the browser's device cookie (a signed double-submit cookie).

    A token is the second it was issued and an HMAC of it with the device id, under a key derived from
    ``SECRET_KEY``: another site can neither read the cookie nor make the HMAC, and a token taken from
    one browser fails with any other device id. Unlike Flask-WTF's tokens it needs no session: the
    landing page, which every scan opens, writes no session cookie and signs nothing but this. Valid
    for ``max_age`` seconds (Flask-WTF's default hour).
    """

    def __init__(self, secret_key: str | bytes, *, max_age: int = 3600) -> None:
        key = secret_key.encode() if isinstance(secret_key, str) else secret_key
        self._key = hmac.digest(key, b"ruhui.web.csrf", "sha256")
        self.max_age = max_age

    def issue(self, device_id: str, now: float) -> str:
        stamp = f"{int(now):x}"
        # ``hmac.new``, not the one-shot ``hmac.digest``: that one lets go of the GIL for a few hundred
        # nanoseconds of hashing, and under gunicorn's threads every letting go is a thread switch.
        mac = hmac.new(self._key, f"{device_id}.{stamp}".encode(), "sha256").digest()
        return f"{stamp}.{base64.urlsafe_b64encode(mac[:18]).decode()}"

    def valid(self, device_id: str | None, token: str | None, now: float) -> bool:
        if not device_id or not token:
            return False
        stamp, _, _mac = token.partition(".")
        try:
            issued = int(stamp, 16)
        except ValueError:
            return False
        if not 0 <= now - issued <= self.max_age:
            return False
        return hmac.compare_digest(token, self.issue(device_id, issued))
