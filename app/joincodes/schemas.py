"""Request and response shapes for join codes, the scan resolve and the print bundle."""

from __future__ import annotations

import marshmallow as ma

from app.directory.models import OCCUPATIONS
from app.directory.regions import full_name
from app.directory.schemas import REGION_CODES
from app.joincodes import qr
from app.schemas import EmployerRefSchema, UnionRefSchema


class JoinCodeCreateSchema(ma.Schema):
    expires_at = ma.fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        metadata={"description": "RFC 3339 with an offset; in the future, at most ten years ahead"},
    )


class ScanStatsSchema(ma.Schema):
    total = ma.fields.Integer(attribute="scans", required=True)
    unique_devices = ma.fields.Integer(
        required=True,
        metadata={"description": "Distinct devices among scans that sent X-Device-Id (or the web cookie)"},
    )
    first_at = ma.fields.DateTime(attribute="first_scan_at", allow_none=True)
    last_at = ma.fields.DateTime(attribute="last_scan_at", allow_none=True)
    by_channel = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": "Scans per channel: miniprogram (GET /join/{token}) and web (the /j/{token} page)"},
    )


class JoinCodeSchema(ma.Schema):
    id = ma.fields.String(attribute="code.id", required=True)
    token = ma.fields.String(attribute="code.token", required=True)
    url = ma.fields.String(required=True, metadata={"description": "{PUBLIC_BASE_URL}/j/{token}, what the QR holds"})
    expires_at = ma.fields.DateTime(attribute="code.expires_at", allow_none=True, required=True)
    status = ma.fields.String(required=True, metadata={"description": "active | revoked | expired"})
    station_id = ma.fields.String(attribute="code.station_id", required=True)
    created_at = ma.fields.DateTime(attribute="code.created_at", required=True)
    created_by_id = ma.fields.String(attribute="code.created_by_id", allow_none=True)
    revoked_at = ma.fields.DateTime(attribute="code.revoked_at", allow_none=True)
    revoked_by_id = ma.fields.String(attribute="code.revoked_by_id", allow_none=True)
    replaced_by_id = ma.fields.String(
        attribute="code.replaced_by_id", allow_none=True, metadata={"description": "Set when rotated"}
    )
    scans = ma.fields.Nested(ScanStatsSchema, attribute="stats", required=True)


class QrArgsSchema(ma.Schema):
    size = ma.fields.Integer(
        load_default=qr.DEFAULT_SIZE,
        validate=ma.validate.Range(min=qr.MIN_SIZE, max=qr.MAX_SIZE),
        metadata={"description": f"Width and height in pixels, {qr.MIN_SIZE}–{qr.MAX_SIZE}"},
    )


class BundleArgsSchema(QrArgsSchema):
    employer_id = ma.fields.String(load_default=None, metadata={"description": "Stations of this employer"})
    region_code = ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(r"^\d{6}$"),
        metadata={"description": "Stations within this GB/T 2260 region", "enum": REGION_CODES},
    )
    union_id = ma.fields.String(load_default=None, metadata={"description": "Stations managed within this union"})


class LabelSchema(ma.Schema):
    code = ma.fields.String(required=True)
    label = ma.fields.String(required=True)


class JoinCodeBriefSchema(ma.Schema):
    id = ma.fields.String(required=True)
    token = ma.fields.String(required=True)
    url = ma.fields.String(required=True)
    expires_at = ma.fields.DateTime(allow_none=True, required=True)


class StationBriefSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    region_code = ma.fields.String(required=True)
    region_name = ma.fields.Function(
        lambda station: full_name(station.region_code),
        metadata={"type": "string", "description": "e.g. 江苏省南京市玄武区"},
    )
    address = ma.fields.String(required=True)
    occupation = ma.fields.String(required=True, metadata={"description": "The station's default occupation"})
    occupation_label = ma.fields.Function(
        lambda station: OCCUPATIONS.get(station.occupation, station.occupation), metadata={"type": "string"}
    )


class UnionPreviewSchema(UnionRefSchema):
    rule = ma.fields.String(
        metadata={"description": "The routing rule that chose it: override, enterprise, industry, regional, fallback"}
    )


class ConsentSchema(ma.Schema):
    version = ma.fields.String(required=True, metadata={"description": "Send back as consent_version"})


class JoinScreenSchema(ma.Schema):
    """Everything the mini-program's first screen needs, in one round trip."""

    join_code = ma.fields.Nested(JoinCodeBriefSchema, required=True)
    station = ma.fields.Nested(StationBriefSchema, required=True)
    employer = ma.fields.Nested(EmployerRefSchema, allow_none=True, required=True)
    union_preview = ma.fields.Nested(
        UnionPreviewSchema,
        attribute="union",
        allow_none=True,
        required=True,
        metadata={"description": "The union the routing engine picks for the station's default occupation"},
    )
    occupations = ma.fields.List(ma.fields.Nested(LabelSchema), required=True)
    employment_forms = ma.fields.List(ma.fields.Nested(LabelSchema), required=True)
    consent = ma.fields.Nested(ConsentSchema, required=True)
