"""Request and response shapes of the founding API (targets, the import, cases, stages, rehome)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest.fields import Upload

from app.directory.regions import display_name
from app.directory.schemas import IdField, Text, region_code_field
from app.founding.service import TargetView
from app.founding.vocabulary import CASE_SOURCES, IMPORT_SOURCES, SECTORS, STAGE_NAMES, STAGES, TARGET_SOURCES
from app.pagination import PageArgsSchema, page_schema
from app.schemas import UnionRefSchema

# --- the import -----------------------------------------------------------------------------------------------------


class TargetImportSchema(ma.Schema):
    """The multipart body: the CSV file and the form field naming its source."""

    file = Upload(required=True, metadata={"description": "CSV: UTF-8 (with or without BOM) or GB18030"})
    source = Text(
        required=True,
        validate=ma.validate.OneOf(list(IMPORT_SOURCES)),
        metadata={"description": "The department whose list this is"},
    )


class TargetImportResultSchema(ma.Schema):
    source = ma.fields.String(required=True)
    rows = ma.fields.Integer(required=True, metadata={"description": "Data rows in the file"})
    created = ma.fields.Integer(required=True, metadata={"description": "Units not on this source's previous list"})
    changed = ma.fields.Integer(required=True, metadata={"description": "On it, with other values"})
    gone = ma.fields.Integer(
        required=True, metadata={"description": "On the previous list, not on this one: marked gone, not deleted"}
    )
    unchanged = ma.fields.Integer(required=True)


def _union_or_none(union: Any) -> dict[str, str] | None:
    return None if union is None else {"id": str(union.id), "name": union.name, "kind": union.kind}


# --- targets --------------------------------------------------------------------------------------------------------


class TargetQuerySchema(PageArgsSchema):
    region_code = region_code_field(load_default=None, metadata={"description": "This region and those within it"})
    sector = Text(load_default=None, validate=ma.validate.OneOf(list(SECTORS)))
    source = Text(
        load_default=None,
        validate=ma.validate.OneOf(list(TARGET_SOURCES)),
        metadata={"description": "Listed (not gone) by this source"},
    )
    has_union = ma.fields.Boolean(load_default=None)
    min_headcount = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0, max=9_999_999))


def _of_target(name: str, field: type[ma.fields.Field[Any]] = ma.fields.String, **kwargs: Any) -> Any:
    return field(attribute=f"target.{name}", **kwargs)


class TargetSchema(ma.Schema):
    """Dumps a ``TargetView`` (the target and its union)."""

    id = IdField(attribute="target.id", dump_only=True)
    uscc = _of_target("uscc", allow_none=True, metadata={"description": "null: a blind-spot station's target"})
    name = _of_target("name", required=True)
    region_code = _of_target("region_code", required=True)
    region_name = ma.fields.Function(lambda v: display_name(v.target.region_code), metadata={"type": "string"})
    sector = _of_target("sector", required=True, metadata={"enum": list(SECTORS)})
    sector_name = ma.fields.Function(lambda v: SECTORS[v.target.sector], metadata={"type": "string"})
    industry_code = _of_target("industry_code", allow_none=True, metadata={"description": "GB/T 4754"})
    headcount = _of_target("headcount", ma.fields.Integer, allow_none=True)
    headcount_source = _of_target("headcount_source", allow_none=True, metadata={"enum": list(TARGET_SOURCES)})
    founded_on = _of_target("founded_on", ma.fields.Date, allow_none=True)
    address = _of_target("address")
    parent_uscc = _of_target("parent_uscc", allow_none=True, metadata={"description": "The HQ's USCC"})
    source = _of_target("source", required=True, metadata={"enum": list(TARGET_SOURCES), "description": "Latest list"})
    employer_id = IdField(attribute="target.employer_id", allow_none=True)
    station_id = IdField(attribute="target.station_id", allow_none=True)
    union = ma.fields.Function(
        lambda v: _union_or_none(v.union),
        metadata={
            "type": "object",
            "nullable": True,
            "description": "Its union ({id,name,kind}): the employer's enterprise union, or the joint union it joined",
        },
    )
    kept_by_union_id = IdField(attribute="target.union_id", metadata={"description": "The union keeping the record"})
    gone = _of_target("gone", ma.fields.Boolean, required=True, metadata={"description": "No list names it any more"})
    created_at = _of_target("created_at", ma.fields.AwareDateTime, dump_only=True)
    updated_at = _of_target("updated_at", ma.fields.AwareDateTime, dump_only=True)


TargetPageSchema = page_schema(TargetSchema, "FoundingTargetPage")


# --- cases ----------------------------------------------------------------------------------------------------------


class CaseCreateSchema(ma.Schema):
    target_id = IdField(required=True)
    union_id = IdField(required=True, metadata={"description": "The responsible union (in your subtree)"})
    officer_id = IdField(load_default=None, allow_none=True, metadata={"description": "The officer in charge"})
    planned_by = ma.fields.Date(load_default=None, allow_none=True, metadata={"description": "Founded by this date"})


class CaseQuerySchema(PageArgsSchema):
    stage = Text(load_default=None, validate=ma.validate.OneOf(list(STAGES)))
    source = Text(load_default=None, validate=ma.validate.OneOf(list(CASE_SOURCES)))
    target_id = IdField(load_default=None)
    overdue = ma.fields.Boolean(load_default=None)


class StageChangeSchema(ma.Schema):
    stage = Text(required=True, validate=ma.validate.OneOf(list(STAGES)))
    note = Text(load_default="", validate=ma.validate.Length(max=500))
    document_no = Text(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=64),
        metadata={"description": "An approval's document number; at `registered` the union's USCC (required)"},
    )
    joint_union_id = IdField(
        load_default=None, allow_none=True, metadata={"description": "At `joined_joint_union`: the union joined"}
    )


class StepSchema(ma.Schema):
    from_stage = ma.fields.String(allow_none=True, required=True)
    stage = ma.fields.String(required=True, metadata={"enum": list(STAGES)})
    stage_name = ma.fields.Function(lambda s: STAGE_NAMES[s.stage], metadata={"type": "string"})
    at = ma.fields.AwareDateTime(required=True)
    officer_id = IdField(allow_none=True, metadata={"description": "null: the system (a derived case)"})
    note = ma.fields.String(required=True)
    document_no = ma.fields.String(allow_none=True)
    joint_union_id = IdField(allow_none=True)


class CaseSchema(ma.Schema):
    id = IdField(attribute="case.id", dump_only=True)
    target = ma.fields.Method("_target", metadata={"type": "object", "description": "The target (FoundingTarget)"})
    union = ma.fields.Nested(UnionRefSchema, required=True, metadata={"description": "The responsible union"})
    officer_id = IdField(attribute="case.officer_id", allow_none=True)
    planned_by = ma.fields.Date(attribute="case.planned_by", allow_none=True)
    stage = ma.fields.String(attribute="case.stage", required=True, metadata={"enum": list(STAGES)})
    stage_name = ma.fields.Function(lambda v: STAGE_NAMES[v.case.stage], metadata={"type": "string"})
    source = ma.fields.String(attribute="case.source", metadata={"enum": list(CASE_SOURCES)})
    figures = ma.fields.Dict(
        attribute="case.figures", metadata={"description": "A derived case: the figures that opened it"}
    )
    registered_uscc = ma.fields.String(attribute="case.registered_uscc", allow_none=True)
    founded_union = ma.fields.Function(
        lambda v: _union_or_none(v.founded_union),
        metadata={"type": "object", "nullable": True, "description": "At `active`: the union founded or linked"},
    )
    joint_union = ma.fields.Function(
        lambda v: _union_or_none(v.joint_union),
        metadata={"type": "object", "nullable": True, "description": "At `joined_joint_union`: the union joined"},
    )
    history = ma.fields.List(ma.fields.Nested(StepSchema), required=True)
    overdue = ma.fields.Boolean(required=True, metadata={"description": "Past `planned_by` and not finished"})
    version = ma.fields.Integer(attribute="case.version", required=True, metadata={"description": "For If-Match"})
    created_at = ma.fields.AwareDateTime(attribute="case.created_at", dump_only=True)
    updated_at = ma.fields.AwareDateTime(attribute="case.updated_at", dump_only=True)

    def _target(self, view: Any) -> dict[str, Any]:
        dumped: dict[str, Any] = TargetSchema().dump(TargetView(view.target, view.target_union))
        return dumped


CasePageSchema = page_schema(CaseSchema, "FoundingCasePage")


class RehomeSchema(ma.Schema):
    dry_run = ma.fields.Boolean(required=True, metadata={"description": "true: count only, change nothing"})


class RehomeResultSchema(ma.Schema):
    applications = ma.fields.Integer(required=True, metadata={"description": "Pending applications moved"})
    members = ma.fields.Integer(required=True, metadata={"description": "Active members moved"})
    dry_run = ma.fields.Boolean(required=True)
