"""``GET /exports/{members|applications}.{csv|xlsx}``: the officer's subtree as a spreadsheet, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import marshmallow as ma
from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session, sessionmaker

from app.auth.access import current_actor, require_officer
from app.db import db
from app.exports import service, writers
from app.privacy import keyring

blp = Blueprint("exports", __name__, description="Spreadsheet exports of members and applications")

_BINARY = {"type": "string", "format": "binary"}
_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _stream(export: service.Export, sessions: sessionmaker[Session]) -> Iterator[bytes]:
    """The file's bytes, read through a session of its own.

    The body is sent after the view has returned and Flask has closed the request's
    session, so the stream opens its own and closes it when the last byte is sent
    or the client goes away (``GeneratorExit`` leaves the ``with``).
    """
    with sessions() as session:
        rows = export.rows(session)
        if export.fmt == "csv":
            yield from writers.csv_chunks(export.header, rows)
        else:
            yield from writers.xlsx_chunks(export.header, rows, title=export.sheet_title)


class ExportArgsSchema(ma.Schema):
    unmasked = ma.fields.Boolean(
        load_default=False, metadata={"description": "Admins only: names and ID numbers in full (audited)"}
    )


@blp.route("/<any(members, applications):kind>.<any(csv, xlsx):fmt>")
class ExportView(MethodView):
    @require_officer()
    @blp.arguments(ExportArgsSchema, location="query")
    @blp.response(200, _BINARY, content_type=_CONTENT_TYPES["xlsx"])
    @blp.alt_response(401, description="Not signed in (`unauthorized`)")
    @blp.alt_response(403, description="`forbidden`: unmasked asked by an officer who is not an admin")
    def get(self, args: dict[str, Any], kind: str, fmt: str) -> Response:
        """Download the members or applications of the subtree as CSV (UTF-8 with BOM) or XLSX."""
        export = service.prepare_export(
            db.session,
            current_actor(),
            kind=kind,
            fmt=fmt,
            unmasked=args["unmasked"],
            keyring=keyring(),
        )
        db.session.commit()  # the audit event stands before the first byte leaves
        return Response(
            _stream(export, current_app.extensions["ruhui.sessionmaker"]),
            content_type=_CONTENT_TYPES[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="{export.filename}"',
                "Cache-Control": "no-store",
            },
        )
