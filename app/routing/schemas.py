"""Request and response shapes of the routing API (explain and override rules)."""

from __future__ import annotations

import marshmallow as ma

from app.directory.schemas import IdField, Text, region_code_field
from app.directory.vocabulary import EMPLOYMENT_FORMS, OCCUPATIONS
from app.pagination import PageArgsSchema, page_schema
from app.routing.engine import OUTCOMES, RULES
from app.schemas import UnionRefSchema


class ExplainQuerySchema(ma.Schema):
    station_id = IdField(required=True)
    occupation = Text(required=True, validate=ma.validate.OneOf(list(OCCUPATIONS)))
    employment_form = Text(load_default=None, validate=ma.validate.OneOf(list(EMPLOYMENT_FORMS)))


class TraceStepSchema(ma.Schema):
    rule = ma.fields.String(required=True, metadata={"enum": list(RULES)})
    union = ma.fields.Nested(
        UnionRefSchema,
        allow_none=True,
        required=True,
        metadata={"description": "null: the rule had no candidate, or the step counts candidates left out"},
    )
    outcome = ma.fields.String(
        required=True,
        metadata={
            "enum": list(OUTCOMES),
            "description": "chosen: receives the application; passed_over: a candidate that was not taken "
            "(paused, region does not contain the station, or outranked); not_applicable: the rule had no candidate",
        },
    )
    reason = ma.fields.String(required=True, metadata={"description": "Why, as a sentence in Chinese"})
    override_rule_id = IdField(metadata={"description": "The override rule of this step (rule = override)"})


class StationRefSchema(ma.Schema):
    id = IdField(required=True)
    name = ma.fields.String(required=True)
    region_code = ma.fields.String(required=True)
    region_name = ma.fields.String(required=True)


class ExplanationSchema(ma.Schema):
    union = ma.fields.Nested(UnionRefSchema, required=True, metadata={"description": "The union that receives it"})
    rule = ma.fields.String(required=True, metadata={"enum": list(RULES), "description": "The rule that fired"})
    blind_spot = ma.fields.Boolean(required=True, metadata={"description": "Only a fallback federation could take it"})
    reasons = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "The trace's sentences"})
    trace = ma.fields.List(
        ma.fields.Nested(TraceStepSchema),
        required=True,
        metadata={"description": "Every candidate considered, rule by rule, in the order tried"},
    )
    station = ma.fields.Nested(StationRefSchema, required=True)
    occupation = ma.fields.String(required=True)
    employment_form = ma.fields.String(allow_none=True, required=True)


class RuleSchema(ma.Schema):
    id = IdField(dump_only=True)
    union_id = IdField()
    union = ma.fields.Nested(UnionRefSchema, dump_only=True)
    priority = ma.fields.Integer()
    station_id = IdField(allow_none=True)
    employer_id = IdField(allow_none=True)
    region_code = ma.fields.String(allow_none=True)
    occupation = ma.fields.String(allow_none=True)
    note = ma.fields.String()
    created_at = ma.fields.AwareDateTime(dump_only=True)


class RuleCreateSchema(ma.Schema):
    union_id = IdField(required=True, metadata={"description": "Where matching applications go"})
    priority = ma.fields.Integer(
        load_default=0, validate=ma.validate.Range(min=0, max=10_000), metadata={"description": "Higher wins"}
    )
    station_id = IdField(load_default=None, allow_none=True)
    employer_id = IdField(
        load_default=None, allow_none=True, metadata={"description": "Also matches the employer's branches"}
    )
    region_code = region_code_field(
        load_default=None,
        allow_none=True,
        metadata={"description": "Matches stations within this region; needs an occupation"},
    )
    occupation = Text(load_default=None, allow_none=True, validate=ma.validate.OneOf(list(OCCUPATIONS)))
    note = Text(load_default="", validate=ma.validate.Length(max=200), metadata={"description": "Shown in the trace"})


class RuleQuerySchema(PageArgsSchema):
    union_id = IdField()
    station_id = IdField()
    employer_id = IdField()
    region_code = region_code_field()
    occupation = Text(validate=ma.validate.OneOf(list(OCCUPATIONS)))


RulePageSchema = page_schema(RuleSchema, "RoutingRulePage")
