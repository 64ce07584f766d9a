"""``/stats/coverage``, ``/stats/funnel`` and ``/stats/blind-spots``: officers' figures within their subtree."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth.access import current_actor, require_officer
from app.db import db, utcnow
from app.stats import service
from app.stats.schemas import (
    BlindSpotArgsSchema,
    BlindSpotsSchema,
    CoverageArgsSchema,
    CoverageSchema,
    FunnelArgsSchema,
    FunnelSchema,
)

blp = Blueprint("stats", __name__, description="Coverage statistics, the join funnel and blind spots")


def _errors(view: Any) -> Any:
    view = blp.alt_response(401, description="Not signed in (`unauthorized`)")(view)
    view = blp.alt_response(403, description="Not an officer (`forbidden`)")(view)
    return blp.alt_response(404, description="A union, station or join code outside the scope")(view)


@blp.route("/coverage")
class CoverageView(MethodView):
    @require_officer()
    @blp.arguments(CoverageArgsSchema, location="query")
    @blp.response(200, CoverageSchema)
    @_errors
    def get(self, args: dict[str, Any]) -> Any:
        """Show coverage figures of the subtree grouped by occupation, region, union, station or employment form.

        `by=station` pages its items like every list (`limit`, `cursor`; stations in id order,
        `next_cursor` null on the last page); `total` is always the whole subtree's. The other
        groupings are bounded and come whole.
        """
        return service.coverage(db.read_session, current_actor(), now=utcnow(), **args)


@blp.route("/funnel")
class FunnelView(MethodView):
    @require_officer()
    @blp.arguments(FunnelArgsSchema, location="query")
    @blp.response(200, FunnelSchema)
    @_errors
    def get(self, args: dict[str, Any]) -> Any:
        """Show scans → phones proved → applications → approvals of a join code, a station or a union."""
        return service.funnel(db.read_session, current_actor(), **args)


@blp.route("/blind-spots")
class BlindSpotsView(MethodView):
    @require_officer()
    @blp.arguments(BlindSpotArgsSchema, location="query")
    @blp.response(200, BlindSpotsSchema)
    @_errors
    def get(self, args: dict[str, Any]) -> Any:
        """List stations whose workers only a fallback federation takes, and employers with members but no union."""
        return service.blind_spots(db.read_session, current_actor(), **args)
