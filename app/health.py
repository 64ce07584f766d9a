"""Liveness and readiness probes, outside ``/api/v1`` so load balancers need no token."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from app.db import db
from app.errors import ServiceUnavailable

bp = Blueprint("health", __name__)
log = logging.getLogger("ruhui.health")


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> dict[str, str]:
    """The process can serve: its database answers."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.error("database not ready: %s", type(exc).__name__)
        raise ServiceUnavailable("数据库暂时不可用", code="database_unavailable", retry_after=5) from exc
    return {"status": "ready"}
