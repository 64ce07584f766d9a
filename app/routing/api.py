"""The routing API: explain a decision, and manage the admins' override rules."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth.access import admin_errors, current_actor, require_officer
from app.db import db, parse_id
from app.pagination import Page
from app.routing import service
from app.routing.models import RoutingRule
from app.routing.schemas import (
    ExplainQuerySchema,
    ExplanationSchema,
    RuleCreateSchema,
    RulePageSchema,
    RuleQuerySchema,
    RuleSchema,
)

routing_blp = Blueprint(
    "routing",
    __name__,
    description=(
        "Which union receives an application: override rules, then the enterprise union of the employer "
        "(or its HQ chain), then an industry union, then a regional union, then the district/city/province "
        "federation (a blind spot). Ties: the most specific region, then the union registered first."
    ),
)

BLUEPRINTS = ((routing_blp, "/api/v1/routing"),)


@routing_blp.route("/explain")
class Explain(MethodView):
    @require_officer("admin")
    @admin_errors(routing_blp)
    @routing_blp.arguments(ExplainQuerySchema, location="query")
    @routing_blp.response(200, ExplanationSchema)
    @routing_blp.alt_response(404, description="No such station in your scope")
    @routing_blp.alt_response(
        409, description="`no_union_available`: no federation of the place accepts (with `trace`)"
    )
    @routing_blp.alt_response(422, description="Bad occupation or employment form")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Explain which union an application from a station would go to, and why."""
        return service.explain_route(db.session, current_actor(), **args)


@routing_blp.route("/rules")
class Rules(MethodView):
    @require_officer("admin")
    @admin_errors(routing_blp)
    @routing_blp.arguments(RuleQuerySchema, location="query")
    @routing_blp.response(200, RulePageSchema)
    @routing_blp.alt_response(422, description="Bad filter or cursor")
    def get(self, args: dict[str, Any]) -> Page:
        """List the override rules that send applications to unions in your scope."""
        return service.list_rules(db.session, current_actor(), **args)

    @require_officer("admin")
    @admin_errors(routing_blp)
    @routing_blp.arguments(RuleCreateSchema)
    @routing_blp.response(201, RuleSchema)
    @routing_blp.alt_response(404, description="The union, station or employer does not exist in your scope")
    @routing_blp.alt_response(422, description="Not exactly one subject, or a region rule without an occupation")
    def post(self, body: dict[str, Any]) -> RoutingRule:
        """Add an override rule (a station, an employer, or a region with an occupation → a union)."""
        rule = service.create_rule(db.session, current_actor(), **body)
        db.session.commit()
        return rule


@routing_blp.route("/rules/<rule_id>")
class RuleById(MethodView):
    @require_officer("admin")
    @admin_errors(routing_blp)
    @routing_blp.response(200, RuleSchema)
    @routing_blp.alt_response(404, description="No such rule in your scope")
    def get(self, rule_id: str) -> RoutingRule:
        """Show an override rule."""
        return service.get_rule(db.session, current_actor(), parse_id(rule_id))

    @require_officer("admin")
    @admin_errors(routing_blp)
    @routing_blp.response(204)
    @routing_blp.alt_response(404, description="No such rule in your scope")
    def delete(self, rule_id: str) -> None:
        """Delete an override rule."""
        service.delete_rule(db.session, current_actor(), parse_id(rule_id))
        db.session.commit()
