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

from flask import Flask, Response, current_app, request

API_PATH_PREFIX = "/api/v1/"

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


def _carries_credentials() -> bool:
    if request.headers.get("Authorization"):
        return True
    return current_app.config.get("SESSION_COOKIE_NAME", "session") in request.cookies


def add_security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        policy = response.headers.get("Content-Security-Policy")
        if not policy:
            response.headers["Content-Security-Policy"] = PAGE_CSP
        elif "frame-ancestors" not in policy:
            response.headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'self'"
    if request.path.startswith(API_PATH_PREFIX) or _carries_credentials():
        chosen = response.cache_control
        # A view that chose private caching itself (a QR image holds only the code's URL) keeps it.
        if not (chosen.private or chosen.no_store or chosen.no_cache):
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
