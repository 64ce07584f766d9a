"""``GET /metrics`` for Prometheus, outside ``/api/v1`` and never public.

It is served only when ``METRICS_TOKEN`` is set, and only to a scraper that sends it as
``Authorization: Bearer <token>`` (Prometheus' ``authorization`` setting); without a token
configured the path is a 404, as if it did not exist.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, request

from app.config import Settings
from app.db import db
from app.errors import NotFound, Unauthorized
from app.metrics.service import render_metrics

bp = Blueprint("metrics", __name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _check_scraper(settings: Settings) -> None:
    if not settings.metrics_token:
        raise NotFound()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), settings.metrics_token.encode()):
        raise Unauthorized("需要指标采集令牌", code="metrics_token_required")


@bp.get("/metrics")
def metrics() -> Response:
    """The Prometheus text exposition of the app's counters and the database's figures."""
    settings: Settings = current_app.extensions["ruhui.settings"]
    _check_scraper(settings)
    body = render_metrics(db.session, multiprocess_dir=settings.prometheus_multiproc_dir)
    return Response(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
