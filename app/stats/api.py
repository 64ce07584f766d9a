"""``/stats/coverage``, ``/funnel``, ``/blind-spots`` and ``/founding``: officers' figures within their subtree."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth.access import current_actor, require_officer
from app.db import db, utcnow
from app.pagination import Page
from app.stats import founding, service
from app.stats.schemas import (
    BlindSpotArgsSchema,
    BlindSpotsSchema,
    CoverageArgsSchema,
    CoverageSchema,
    FoundingArgsSchema,
    FoundingStatsSchema,
    FunnelArgsSchema,
    FunnelSchema,
    UnbuiltArgsSchema,
    UnbuiltPageSchema,
)

# The founding figures are read by union officers of every role and by a sector's liaison.
FOUNDING_READERS = ("admin", "reviewer", "viewer", "liaison")

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


@blp.route("/founding")
class FoundingStatsView(MethodView):
    @require_officer(*FOUNDING_READERS)
    @blp.arguments(FoundingArgsSchema, location="query")
    @blp.response(200, FoundingStatsSchema)
    @_errors
    def get(self, args: dict[str, Any]) -> Any:
        """Show the founding ledger's figures of the subtree grouped by region, sector, source or union.

        Targets, those with a union, the founding rate, cases in progress by stage and overdue
        cases; the items add up to `total`. A liaison sees its sectors only.
        """
        return founding.founding_stats(db.read_session, current_actor(), now=utcnow(), **args)


@blp.route("/founding/unbuilt")
class UnbuiltView(MethodView):
    @require_officer(*FOUNDING_READERS)
    @blp.arguments(UnbuiltArgsSchema, location="query")
    @blp.response(200, UnbuiltPageSchema)
    @_errors
    def get(self, args: dict[str, Any]) -> Page:
        """List the units of the subtree that should have a union and have none, largest first.

        `flagged` marks those with 50 or more staff founded 5 or more years ago.
        """
        return founding.unbuilt(db.read_session, current_actor(), now=utcnow(), **args)
