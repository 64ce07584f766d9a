"""The founding API (建会): the department import, targets, cases, stages and rehoming, within your subtree."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask import Request, request
from flask.views import MethodView
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from app.auth.access import admin_errors, current_actor, require_officer
from app.db import db, parse_id, utcnow
from app.errors import ErrorSchema, ValidationFailed
from app.founding import imports, service
from app.founding.schemas import (
    CaseCreateSchema,
    CasePageSchema,
    CaseQuerySchema,
    CaseSchema,
    RehomeResultSchema,
    RehomeSchema,
    StageChangeSchema,
    TargetImportResultSchema,
    TargetImportSchema,
    TargetPageSchema,
    TargetQuerySchema,
    TargetSchema,
)
from app.pagination import Page

# Who may change founding data; every officer may read it within the subtree, a liaison its sectors' only.
WRITERS = ("admin",)
READERS = ("admin", "reviewer", "viewer", "liaison")


class _FormAndFilesParser(FlaskParser):
    """Reads ``files`` arguments from the files and the form fields of a multipart body together.

    The department import sends one multipart body with a file and a ``source`` field; one schema
    describes both, so the OpenAPI document states both (a second ``arguments`` decorator would
    replace the first in the document: there is one requestBody).
    """

    def load_files(self, req: Request, schema: ma.Schema) -> Any:
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


founding_imports_blp = Blueprint(
    "founding_imports",
    __name__,
    description=(
        "A department's list of units that should have a union (应建单位), as CSV. All rows or none; rows are "
        "keyed by USCC within the source, and the answer is the difference from that source's previous list."
    ),
)
founding_imports_blp.ARGUMENTS_PARSER = _FormAndFilesParser()  # read by its ``arguments`` decorators
founding_blp = Blueprint(
    "founding",
    __name__,
    description=(
        "Union founding (建会): the targets' ledger and the cases that work each one through "
        "identified → contacted → preparing → recruiting → congress_held → election_approved → registered → active "
        "(exits: joined_joint_union, not_applicable, deferred). Reaching active creates the enterprise union, "
        "which routing's rule 2 uses at once."
    ),
)

BLUEPRINTS = ((founding_imports_blp, "/api/v1/imports"), (founding_blp, "/api/v1/founding"))

_IF_MATCH = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


def _expected_version() -> int | None:
    """The version in ``If-Match`` (``3``, ``"3"`` or ``W/"3"``); None when the header is absent or ``*``."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    match = _IF_MATCH.match(raw.strip())
    if match is None:
        raise ValidationFailed(errors={"If-Match": ["须为建会工作的 version，例如 3"]})
    return int(match.group(1))


def _etag(view: service.CaseView) -> dict[str, str]:
    return {"ETag": f'"{view.case.version}"'}


@founding_imports_blp.route("/founding-targets")
class TargetImport(MethodView):
    @require_officer(*WRITERS)
    @admin_errors(founding_imports_blp)
    @founding_imports_blp.arguments(TargetImportSchema, location="files")
    @founding_imports_blp.response(200, TargetImportResultSchema)
    @founding_imports_blp.alt_response(413, schema=ErrorSchema, description="`payload_too_large`")
    @founding_imports_blp.alt_response(
        422, schema=ErrorSchema, description='Bad rows: `errors` maps `"line N"` to that row\'s problems'
    )
    def post(self, body: dict[str, Any]) -> imports.FoundingImportResult:
        """Import a department's list of founding targets (CSV); report created, changed, gone, unchanged."""
        result = imports.import_targets(db.session, current_actor(), body["source"], body["file"].stream)
        db.session.commit()
        return result


@founding_blp.route("/targets")
class Targets(MethodView):
    @require_officer(*READERS)
    @founding_blp.arguments(TargetQuerySchema, location="query")
    @founding_blp.response(200, TargetPageSchema)
    def get(self, query: dict[str, Any]) -> Page:
        """List the founding targets kept in your subtree, newest first."""
        page = service.list_targets(db.session, current_actor(), **query)
        return Page(items=service.target_views(db.session, page.items), next_cursor=page.next_cursor)


@founding_blp.route("/targets/<target_id>")
class TargetById(MethodView):
    @require_officer(*READERS)
    @founding_blp.response(200, TargetSchema)
    @founding_blp.alt_response(404, schema=ErrorSchema, description="`target_not_found` (also outside your scope)")
    def get(self, target_id: str) -> service.TargetView:
        """Show one founding target, with its union when it has one."""
        target = service.get_target(db.session, current_actor(), parse_id(target_id))
        return service.target_views(db.session, [target])[0]


@founding_blp.route("/cases")
class Cases(MethodView):
    @require_officer(*READERS)
    @founding_blp.arguments(CaseQuerySchema, location="query")
    @founding_blp.response(200, CasePageSchema)
    def get(self, query: dict[str, Any]) -> Page:
        """List the founding cases of your subtree's unions (derived ones included), newest first."""
        return service.list_cases(db.session, current_actor(), now=utcnow(), **query)

    @require_officer(*WRITERS)
    @admin_errors(founding_blp)
    @founding_blp.arguments(CaseCreateSchema)
    @founding_blp.response(201, CaseSchema)
    @founding_blp.alt_response(404, schema=ErrorSchema, description="target / union / officer not in your scope")
    @founding_blp.alt_response(409, schema=ErrorSchema, description="`case_open`: the target has an open case")
    def post(self, body: dict[str, Any]) -> Any:
        """Open a founding case for a target, with the responsible union, an officer and a planned date."""
        view = service.create_case(db.session, current_actor(), now=utcnow(), **body)
        db.session.commit()
        return view, 201, _etag(view)


@founding_blp.route("/cases/<case_id>")
class CaseById(MethodView):
    @require_officer(*READERS)
    @founding_blp.response(200, CaseSchema)
    @founding_blp.alt_response(404, schema=ErrorSchema, description="`case_not_found` (also outside your scope)")
    def get(self, case_id: str) -> Any:
        """Show one founding case with its history; the ETag is its version."""
        view = service.get_case(db.session, current_actor(), parse_id(case_id), utcnow())
        return view, 200, _etag(view)


@founding_blp.route("/cases/<case_id>/stage")
class CaseStage(MethodView):
    @require_officer(*WRITERS)
    @admin_errors(founding_blp)
    @founding_blp.arguments(StageChangeSchema)
    @founding_blp.response(200, CaseSchema)
    @founding_blp.alt_response(404, schema=ErrorSchema, description="`case_not_found`")
    @founding_blp.alt_response(
        409, schema=ErrorSchema, description="`stale_version` (If-Match differs) / `invalid_transition`"
    )
    def post(self, body: dict[str, Any], case_id: str) -> Any:
        """Move a case to its next stage or an exit; send If-Match with the version you saw."""
        view = service.change_stage(
            db.session,
            current_actor(),
            parse_id(case_id),
            expected_version=_expected_version(),
            now=utcnow(),
            **body,
        )
        db.session.commit()
        return view, 200, _etag(view)


@founding_blp.route("/cases/<case_id>/rehome")
class CaseRehome(MethodView):
    @require_officer(*WRITERS)
    @admin_errors(founding_blp)
    @founding_blp.arguments(RehomeSchema)
    @founding_blp.response(200, RehomeResultSchema)
    @founding_blp.alt_response(404, schema=ErrorSchema, description="`case_not_found`")
    @founding_blp.alt_response(409, schema=ErrorSchema, description="`invalid_transition`: not active or joined")
    def post(self, body: dict[str, Any], case_id: str) -> dict[str, Any]:
        """Move the unit's pending applications and members into the union founded; `dry_run` only counts."""
        result = service.rehome(db.session, current_actor(), parse_id(case_id), dry_run=body["dry_run"], now=utcnow())
        if body["dry_run"]:
            db.session.rollback()
        else:
            db.session.commit()
        return {"applications": result.applications, "members": result.members, "dry_run": body["dry_run"]}
