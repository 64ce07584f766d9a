"""``GET /exports/{members|applications}.{csv|xlsx}`` and ``/exports/founding.xlsx``: the subtree as a spreadsheet."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth.access import current_actor, require_officer
from app.db import db, utcnow
from app.exports import founding, service
from app.privacy import keyring

blp = Blueprint("exports", __name__, description="Spreadsheet exports of members and applications")

_BINARY = {"type": "string", "format": "binary"}
_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportArgsSchema(ma.Schema):
    unmasked = ma.fields.Boolean(
        load_default=False, metadata={"description": "Admins only: names, ID numbers and phones in full (audited)"}
    )
    union_id = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "Narrow to this union's subtree (inside the officer's scope); default: the scope"},
    )


@blp.route("/<any(members, applications):kind>.<any(csv, xlsx):fmt>")
class ExportView(MethodView):
    @require_officer()
    @blp.arguments(ExportArgsSchema, location="query")
    @blp.response(200, _BINARY, content_type=_CONTENT_TYPES["xlsx"])
    @blp.alt_response(401, description="Not signed in (`unauthorized`)")
    @blp.alt_response(403, description="`forbidden`: unmasked asked by an officer who is not an admin")
    @blp.alt_response(404, description="`not_found`: `union_id` names no union inside the scope")
    def get(self, args: dict[str, Any], kind: str, fmt: str) -> Response:
        """Download the members or applications of the subtree as CSV (UTF-8 with BOM) or XLSX."""
        export = service.prepare_export(
            db.session,
            current_actor(),
            kind=kind,
            fmt=fmt,
            unmasked=args["unmasked"],
            keyring=keyring(),
            union_id=args["union_id"],
        )
        db.session.commit()  # the audit event stands before the first byte leaves
        return Response(
            service.export_bytes(export, db.read_sessionmaker),
            content_type=_CONTENT_TYPES[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="{export.filename}"',
                "Cache-Control": "no-store",
            },
        )


class FoundingReportArgsSchema(ma.Schema):
    month = ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(r"^[0-9]{4}-(0[1-9]|1[0-2])$", error="请按 年-月 填写，例如 2026-11"),
        metadata={"description": "YYYY-MM: the month whose progress is reported; default this month (China)"},
    )
    union_id = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "Narrow to this union's subtree (inside the officer's scope); default: the scope"},
    )


@blp.route("/founding.xlsx")
class FoundingReportView(MethodView):
    @require_officer("admin", "reviewer", "viewer", "liaison")
    @blp.arguments(FoundingReportArgsSchema, location="query")
    @blp.response(200, _BINARY, content_type=_CONTENT_TYPES["xlsx"])
    @blp.alt_response(401, description="Not signed in (`unauthorized`)")
    @blp.alt_response(403, description="`forbidden`: not an officer")
    @blp.alt_response(404, description="`not_found`: `union_id` names no union inside the scope")
    def get(self, args: dict[str, Any]) -> Response:
        """Download the monthly founding report (通报) of the subtree: figures, the month's progress, units unbuilt.

        It names organisations and unions, never a person; a liaison's report holds its sectors only.
        """
        actor = current_actor()
        report = founding.prepare_founding_report(db.session, actor, now=utcnow(), **args)
        return Response(
            founding.report_bytes(report, actor, db.read_sessionmaker),
            content_type=_CONTENT_TYPES["xlsx"],
            headers={
                "Content-Disposition": f'attachment; filename="{founding.FILENAME}"',
                "Cache-Control": "no-store",
            },
        )
