"""Liveness and readiness probes, outside ``/api/v1`` so load balancers need no token."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint

from app.db import db
from app.ratelimits import RateLimitStoreDown, rate_limits

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> dict[str, str]:
    """The process can serve: its database answers, and so does the shared rate-limit storage.

    A failure is the 503 that ``app.errors`` renders for any request while that
    dependency is down (``database_unavailable`` or ``ratelimit_unavailable``).
    """
    db.session.execute(sa.text("SELECT 1"))
    limits = rate_limits()
    if limits.shared and not limits.reachable():
        raise RateLimitStoreDown("the rate-limit storage did not answer a ping")
    return {"status": "ready"}
