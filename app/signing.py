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
"""

from __future__ import annotations

import hashlib
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
