"""``GET /audit``: the audit trail of an admin's subtree."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from app.audit import service
from app.audit.schemas import AuditPageSchema, AuditQuerySchema
from app.auth.access import current_actor, require_officer
from app.db import db

blp = Blueprint("audit", __name__, description="The append-only audit trail")


@blp.route("")
class AuditEvents(MethodView):
    @require_officer("admin")
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, query: dict[str, Any]) -> Any:
        """List audit events in the admin's subtree, newest first."""
        principal = current_actor()
        assert principal.union_path is not None
        return service.list_events(db.session, scope_path=principal.union_path, **query)
