"""Response headers every page and every API answer carries, set once here for all of them.

- Every HTML page (``text/html``, whatever view rendered it): a Content-Security-Policy
  that allows only this app's own scripts, styles (inline ``<style>`` blocks too),
  images and fonts, and ``frame-ancestors 'self'`` (no other site may frame a page;
  the officer console may, to print a poster). A page that sets its own stricter
  policy keeps it, with ``frame-ancestors`` added when it lacks one.
- Every response: ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy``
  (``same-origin``: a join-code URL never leaves in a Referer to another site).
- ``Cache-Control: no-store`` on every API response (``/api/v1/…``: tokens, personal
  data, card checks) and on any response to a request that carried credentials (a
  bearer token or the app's session cookie), so no browser or proxy keeps them;
  unless the view chose ``private``/``no-cache`` itself for content holding no
  personal data (a code's QR image).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, request

API_PATH_PREFIX = "/api/v1/"
_KEPT_DIRECTIVES = ("private", "no-store", "no-cache")  # a view's own Cache-Control with one of these stays

PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)


def _carries_credentials(environ: dict[str, Any], cookie_name: str) -> bool:
    # From the WSGI environ: a missing header looked up through ``request.headers`` raises and catches a KeyError.
    if environ.get("HTTP_AUTHORIZATION"):
        return True
    cookies = environ.get("HTTP_COOKIE")
    return bool(cookies) and cookie_name in request.cookies


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    # What the view set, read once: werkzeug's ``Headers`` looks a missing header up by raising and catching a
    # ``BadRequestKeyError`` (an HTTPException built each time), and most of these are missing.
    present = {key.lower(): value for key, value in headers}
    if "x-content-type-options" not in present:
        headers.add("X-Content-Type-Options", "nosniff")
    if "referrer-policy" not in present:
        headers.add("Referrer-Policy", "same-origin")
    if present.get("content-type", "").startswith("text/html"):
        policy = present.get("content-security-policy")
        if not policy:
            headers["Content-Security-Policy"] = PAGE_CSP
        elif "frame-ancestors" not in policy:
            headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'self'"
    environ = request.environ
    if environ.get("PATH_INFO", "").startswith(API_PATH_PREFIX) or _carries_credentials(
        environ, current_app.config.get("SESSION_COOKIE_NAME", "session")
    ):
        chosen = present.get("cache-control", "").lower()
        # A view that chose private caching itself (a QR image holds only the code's URL) keeps it.
        if chosen and any(directive in chosen for directive in _KEPT_DIRECTIVES):
            return response
        headers["Cache-Control"] = "no-store"
        if "expires" in present:
            del headers["Expires"]
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
