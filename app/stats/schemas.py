"""Query and response shapes of ``/stats/coverage``, ``/stats/funnel`` and ``/stats/blind-spots``."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.directory.regions import display_name
from app.pagination import PageArgsSchema, page_schema
from app.schemas import EmployerRefSchema, UnionRefSchema
from app.stats.founding import FLAG_HEADCOUNT, FLAG_YEARS, FOUNDING_GROUPINGS
from app.stats.service import GROUPINGS

_ID = ma.validate.Length(min=1, max=40)


class PeriodArgsSchema(ma.Schema):
    since = ma.fields.AwareDateTime(
        load_default=None, metadata={"description": "Start of the period (inclusive), RFC 3339 with an offset"}
    )
    until = ma.fields.AwareDateTime(
        load_default=None, metadata={"description": "End of the period (exclusive), RFC 3339 with an offset"}
    )


class CoverageArgsSchema(PeriodArgsSchema, PageArgsSchema):
    by = ma.fields.String(required=True, validate=ma.validate.OneOf(GROUPINGS))
    union_id = ma.fields.String(
        load_default=None,
        validate=_ID,
        metadata={"description": "Narrow to this union's subtree (inside the officer's scope); default: the scope"},
    )


class FiguresSchema(ma.Schema):
    active_members = ma.fields.Integer(required=True)
    retained_members = ma.fields.Integer(
        required=True, metadata={"description": "保留会籍: counted with the union that holds them (above the old one)"}
    )
    withdrawn_members = ma.fields.Integer(required=True, metadata={"description": "退会, with the union they left"})
    removed_members = ma.fields.Integer(
        required=True, metadata={"description": "除名, with the union that removed them"}
    )
    pending = ma.fields.Integer(required=True)
    overdue = ma.fields.Integer(required=True, metadata={"description": "Pending and past the reply deadline"})
    approved = ma.fields.Integer(required=True, metadata={"description": "Approved within the period"})
    rejected = ma.fields.Integer(required=True, metadata={"description": "Rejected within the period"})
    median_days_to_decision = ma.fields.Float(
        allow_none=True, required=True, metadata={"description": "Over the period's approvals and rejections"}
    )


class CoverageRowSchema(ma.Schema):
    key = ma.fields.String(required=True, metadata={"description": "Occupation, region code, union or station id"})
    label = ma.fields.String(required=True)
    own = ma.fields.Boolean(
        metadata={"description": "by=union: the union's own figures (true) or a child's whole subtree (false)"}
    )
    figures = ma.fields.Nested(FiguresSchema, required=True)

    @ma.post_dump
    def _drop_unused_own(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data.get("own") is None:
            data.pop("own", None)
        return data


class CoverageSchema(ma.Schema):
    by = ma.fields.String(required=True)
    union = ma.fields.Nested(UnionRefSchema, required=True, metadata={"description": "The subtree these figures cover"})
    since = ma.fields.AwareDateTime(allow_none=True)
    until = ma.fields.AwareDateTime(allow_none=True)
    as_of = ma.fields.AwareDateTime(required=True)
    items = ma.fields.List(ma.fields.Nested(CoverageRowSchema), required=True)
    next_cursor = ma.fields.String(
        allow_none=True, required=True, metadata={"description": "by=station: the next page of stations, or null"}
    )
    total = ma.fields.Nested(
        FiguresSchema,
        required=True,
        metadata={"description": "The whole subtree: the sum of the items (of every page)"},
    )


class FunnelArgsSchema(PeriodArgsSchema):
    join_code_id = ma.fields.String(load_default=None, validate=_ID)
    station_id = ma.fields.String(load_default=None, validate=_ID)
    union_id = ma.fields.String(load_default=None, validate=_ID)
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class FunnelFiguresSchema(ma.Schema):
    scans = ma.fields.Integer(required=True)
    unique_devices = ma.fields.Integer(required=True)
    phones_proved = ma.fields.Integer(required=True)
    applications = ma.fields.Integer(required=True)
    approvals = ma.fields.Integer(required=True)
    conversion = ma.fields.Float(allow_none=True, required=True, metadata={"description": "approvals / scans"})


class FunnelRowSchema(ma.Schema):
    key = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    figures = ma.fields.Nested(FunnelFiguresSchema, required=True)


class FunnelSchema(ma.Schema):
    subject = ma.fields.String(required=True, metadata={"description": "join_code | station | union"})
    id = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    since = ma.fields.AwareDateTime(allow_none=True)
    until = ma.fields.AwareDateTime(allow_none=True)
    figures = ma.fields.Nested(FunnelFiguresSchema, required=True)
    items = ma.fields.List(ma.fields.Nested(FunnelRowSchema), required=True)


class BlindSpotArgsSchema(ma.Schema):
    union_id = ma.fields.String(load_default=None, validate=_ID)
    limit = ma.fields.Integer(load_default=200, validate=ma.validate.Range(min=1, max=1000))


class BlindStationPlaceSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    region_code = ma.fields.String(required=True)
    region_name = ma.fields.Function(
        lambda station: display_name(station.region_code), required=True, metadata={"type": "string"}
    )
    occupation = ma.fields.String(required=True)


class BlindStationSchema(ma.Schema):
    station = ma.fields.Nested(BlindStationPlaceSchema, required=True)
    employer = ma.fields.Nested(EmployerRefSchema, allow_none=True)
    occupations = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "Those only rule 5 takes"})
    fallback_union = ma.fields.Nested(UnionRefSchema, allow_none=True, required=True)
    scans = ma.fields.Integer(required=True)
    unique_devices = ma.fields.Integer(required=True)
    applicants = ma.fields.Integer(required=True)
    workers = ma.fields.Integer(required=True, metadata={"description": "max(unique_devices, applicants)"})


class BlindGroupSchema(ma.Schema):
    key = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    stations = ma.fields.Integer(required=True)
    workers = ma.fields.Integer(required=True)


class EmployerWithoutUnionSchema(ma.Schema):
    class _Employer(EmployerRefSchema):
        uscc = ma.fields.String(required=True)
        region_code = ma.fields.String(required=True)

    employer = ma.fields.Nested(_Employer, required=True)
    members = ma.fields.Integer(required=True)


class BlindSpotsSchema(ma.Schema):
    union = ma.fields.Nested(UnionRefSchema, required=True)
    stations = ma.fields.List(ma.fields.Nested(BlindStationSchema), required=True)
    regions = ma.fields.List(ma.fields.Nested(BlindGroupSchema), required=True)
    occupations = ma.fields.List(ma.fields.Nested(BlindGroupSchema), required=True)
    employers_without_union = ma.fields.List(ma.fields.Nested(EmployerWithoutUnionSchema), required=True)


# --- founding (建会) ---------------------------------------------------------------------------------------------


class FoundingArgsSchema(ma.Schema):
    by = ma.fields.String(required=True, validate=ma.validate.OneOf(FOUNDING_GROUPINGS))
    union_id = ma.fields.String(
        load_default=None,
        validate=_ID,
        metadata={"description": "Narrow to this union's subtree (inside the officer's scope); default: the scope"},
    )


class FoundingFiguresSchema(ma.Schema):
    targets = ma.fields.Integer(required=True, metadata={"description": "Units that should have a union (on a list)"})
    with_union = ma.fields.Integer(
        required=True, metadata={"description": "Of them, with an enterprise union or in a joint union"}
    )
    founding_rate = ma.fields.Float(
        allow_none=True,
        required=True,
        metadata={"description": "with_union / targets, 4 decimals; null without targets"},
    )
    in_progress = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        required=True,
        metadata={"description": "Open cases by stage (identified … registered, deferred), zeros included"},
    )
    in_progress_total = ma.fields.Integer(required=True, metadata={"description": "The sum of in_progress"})
    overdue = ma.fields.Integer(required=True, metadata={"description": "Open cases past their planned date"})


class FoundingRowSchema(ma.Schema):
    key = ma.fields.String(required=True, metadata={"description": "Region code, sector, source or union id"})
    label = ma.fields.String(required=True)
    own = ma.fields.Boolean(
        metadata={"description": "by=union: the union's own figures (true) or a child's whole subtree (false)"}
    )
    figures = ma.fields.Nested(FoundingFiguresSchema, required=True)

    @ma.post_dump
    def _drop_unused_own(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data.get("own") is None:
            data.pop("own", None)
        return data


class FoundingStatsSchema(ma.Schema):
    by = ma.fields.String(required=True)
    union = ma.fields.Nested(UnionRefSchema, required=True, metadata={"description": "The subtree these figures cover"})
    as_of = ma.fields.AwareDateTime(required=True)
    sectors = ma.fields.List(
        ma.fields.String(), allow_none=True, metadata={"description": "A liaison's sectors, the only ones counted"}
    )
    items = ma.fields.List(ma.fields.Nested(FoundingRowSchema), required=True)
    total = ma.fields.Nested(
        FoundingFiguresSchema, required=True, metadata={"description": "The whole subtree: the sum of the items"}
    )


class UnbuiltArgsSchema(PageArgsSchema):
    union_id = ma.fields.String(load_default=None, validate=_ID)


class UnbuiltUnitSchema(ma.Schema):
    """Dumps an ``UnbuiltUnit``: the target's fields, its flag, its age, its keeper and its open case."""

    id = ma.fields.String(attribute="target.id", required=True)
    uscc = ma.fields.String(attribute="target.uscc", allow_none=True, required=True)
    name = ma.fields.String(attribute="target.name", required=True)
    region_code = ma.fields.String(attribute="target.region_code", required=True)
    region_name = ma.fields.String()
    sector = ma.fields.String(attribute="target.sector", required=True)
    source = ma.fields.String(attribute="target.source")
    headcount = ma.fields.Integer(attribute="target.headcount", allow_none=True)
    founded_on = ma.fields.Date(attribute="target.founded_on", allow_none=True)
    years = ma.fields.Integer(allow_none=True, metadata={"description": "Whole years since it was founded"})
    flagged = ma.fields.Boolean(
        required=True, metadata={"description": f"{FLAG_HEADCOUNT}+ staff and {FLAG_YEARS}+ years old"}
    )
    union = ma.fields.Nested(
        ma.Schema.from_dict({"id": ma.fields.String(), "name": ma.fields.String()}, name="UnbuiltKeeper"),
        metadata={"description": "The union that keeps the record"},
    )
    case = ma.fields.Nested(
        ma.Schema.from_dict({"id": ma.fields.String(), "stage": ma.fields.String()}, name="UnbuiltCase"),
        allow_none=True,
        metadata={"description": "Its open founding case, if one is under way"},
    )


UnbuiltPageSchema = page_schema(UnbuiltUnitSchema, "UnbuiltPage")
