"""The worker's web pages: any phone browser goes from a scanned poster to an application and a member card.

A second door onto the same services as the JSON API (``pages.py``), with its
templates beside it and one base template. ``init_app`` wires the door into the app:
the session cookie, the blueprint and the consent text in force.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer

from app.config import Settings
from app.consent import consent_text
from app.signing import CompactSerializer


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed session cookie, ``Secure`` whenever the request came over https.

    ``SESSION_COOKIE_SECURE`` is one value for the process; behind a TLS proxy (with
    ``TRUSTED_PROXY_HOPS``) and on a plain-http development server alike, the request
    itself says whether the browser will send the cookie back over a secure channel.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's serializer (the same keys, salt and signer), built once per set of keys, not per request."""
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)  # the current key last, as Flask
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = CompactSerializer(
                list(keys),
                salt=self.salt,
                serializer=self.serializer,
                signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
            )
        return serializer

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # Without the session cookie there is nothing to verify (and without any cookie, no header to parse).
        # (``in``: ``cookies.get`` of a missing cookie raises and catches a BadRequestKeyError, an HTTPException.)
        name = self.get_cookie_name(app)
        if app.secret_key and (
            not request.environ.get("HTTP_COOKIE") or name not in request.cookies or not request.cookies[name]
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        # An empty session that no view changed: Flask would only add ``Vary: Cookie`` when a view looked at it,
        # after reading seven settings and parsing the answer's ``Vary`` into a set (a landing page's every scan).
        if not session and not session.modified:
            if session.accessed:
                # (Not ``"Vary" in headers``: a missing header is looked up by raising a BadRequestKeyError.)
                if any(key.lower() == "vary" for key, _ in response.headers):
                    response.vary.add("Cookie")
                else:
                    response.headers.add("Vary", "Cookie")
            return
        super().save_session(app, session, response)


def init_app(app: Flask, settings: Settings) -> None:
    from app.web import pages

    consent_text(settings.consent_version)  # refuse to start with a version whose words we do not have
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.session_interface = SessionCookie()
    app.register_blueprint(pages.bp)
