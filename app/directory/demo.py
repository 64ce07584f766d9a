"""The demo directory loaded by ``seed-demo``: a fictional slice of Jiangsu."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.directory import service

DEMO_ADMIN_USERNAME = "demo-admin"
DEMO_ADMIN_PASSWORD = "demo-admin-2026"  # noqa: S105  # the documented demo login, seeded only by seed-demo


def load_demo(session: Session) -> dict[str, Any]:
    province = service.ensure_root_federation(session, name="江苏省总工会", region_code="320000")
    if auth_service.find_officer(session, DEMO_ADMIN_USERNAME) is None:
        auth_service.create_officer(
            session,
            username=DEMO_ADMIN_USERNAME,
            password=DEMO_ADMIN_PASSWORD,
            name="演示管理员",
            union_id=province.id,
            role="admin",
        )
    return {"root_union_id": str(province.id), "admin_username": DEMO_ADMIN_USERNAME}
