"""The directory API: unions, employers, stations and CSV imports, for admins within their scope."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth.access import admin_errors, current_actor, require_officer
from app.db import db, parse_id
from app.directory import imports, service
from app.directory.models import Employer, Station, Union
from app.directory.schemas import (
    EmployerCreateSchema,
    EmployerPageSchema,
    EmployerPatchSchema,
    EmployerQuerySchema,
    EmployerSchema,
    ImportFileSchema,
    ImportResultSchema,
    StationCreateSchema,
    StationPageSchema,
    StationPatchSchema,
    StationQuerySchema,
    StationSchema,
    UnionCreateSchema,
    UnionPageSchema,
    UnionPatchSchema,
    UnionQuerySchema,
    UnionSchema,
)
from app.pagination import Page

unions_blp = Blueprint("unions", __name__, description="Unions (工会组织): a tree; your scope is your union's subtree")
employers_blp = Blueprint("employers", __name__, description="Employers (用人单位) with their USCC")
stations_blp = Blueprint("stations", __name__, description="Stations (站点/网点/点部/驿站) where workers scan")
imports_blp = Blueprint(
    "imports",
    __name__,
    description=(
        "CSV imports. All rows or none: a file with any bad row changes nothing and the 422 lists every bad "
        'row in `errors`, keyed `"line N"` (the header is line 1). Rows are matched by `external_code`, so '
        "importing the same file again changes nothing."
    ),
)

BLUEPRINTS = (
    (unions_blp, "/api/v1/unions"),
    (employers_blp, "/api/v1/employers"),
    (stations_blp, "/api/v1/stations"),
    (imports_blp, "/api/v1/imports"),
)


@unions_blp.route("")
class Unions(MethodView):
    @require_officer("admin")
    @admin_errors(unions_blp)
    @unions_blp.arguments(UnionQuerySchema, location="query")
    @unions_blp.response(200, UnionPageSchema)
    @unions_blp.alt_response(422, description="Bad filter or cursor")
    def get(self, args: dict[str, Any]) -> Page:
        """List the unions in your scope."""
        return service.list_unions(db.session, current_actor(), **args)

    @require_officer("admin")
    @admin_errors(unions_blp)
    @unions_blp.arguments(UnionCreateSchema)
    @unions_blp.response(201, UnionSchema)
    @unions_blp.alt_response(404, description="The parent or employer does not exist in your scope")
    @unions_blp.alt_response(409, description="`external_code_taken`")
    @unions_blp.alt_response(422, description="Invalid fields")
    def post(self, body: dict[str, Any]) -> Union:
        """Create a union under a parent in your scope."""
        union = service.create_union(db.session, current_actor(), **body)
        db.session.commit()
        return union


@unions_blp.route("/<union_id>")
class UnionById(MethodView):
    @require_officer("admin")
    @admin_errors(unions_blp)
    @unions_blp.response(200, UnionSchema)
    @unions_blp.alt_response(404, description="No such union in your scope")
    def get(self, union_id: str) -> Union:
        """Show a union."""
        return service.get_union(db.session, current_actor(), parse_id(union_id))

    @require_officer("admin")
    @admin_errors(unions_blp)
    @unions_blp.arguments(UnionPatchSchema)
    @unions_blp.response(200, UnionSchema)
    @unions_blp.alt_response(404, description="No such union (or new parent, employer) in your scope")
    @unions_blp.alt_response(409, description="`external_code_taken`")
    @unions_blp.alt_response(422, description="Invalid fields, or a move under its own subtree")
    def patch(self, body: dict[str, Any], union_id: str) -> Union:
        """Change a union; a new parent moves its whole subtree."""
        union = service.update_union(db.session, current_actor(), parse_id(union_id), body)
        db.session.commit()
        return union


@employers_blp.route("")
class Employers(MethodView):
    @require_officer("admin")
    @admin_errors(employers_blp)
    @employers_blp.arguments(EmployerQuerySchema, location="query")
    @employers_blp.response(200, EmployerPageSchema)
    @employers_blp.alt_response(422, description="Bad filter or cursor")
    def get(self, args: dict[str, Any]) -> Page:
        """List the employers managed in your scope."""
        return service.list_employers(db.session, current_actor(), **args)

    @require_officer("admin")
    @admin_errors(employers_blp)
    @employers_blp.arguments(EmployerCreateSchema)
    @employers_blp.response(201, EmployerSchema)
    @employers_blp.alt_response(404, description="The HQ or managing union does not exist in your scope")
    @employers_blp.alt_response(409, description="`uscc_taken` or `external_code_taken`")
    @employers_blp.alt_response(422, description="Invalid fields (a USCC is checked per GB 32100-2015)")
    def post(self, body: dict[str, Any]) -> Employer:
        """Register an employer."""
        employer = service.create_employer(db.session, current_actor(), **body)
        db.session.commit()
        return employer


@employers_blp.route("/<employer_id>")
class EmployerById(MethodView):
    @require_officer("admin")
    @admin_errors(employers_blp)
    @employers_blp.response(200, EmployerSchema)
    @employers_blp.alt_response(404, description="No such employer in your scope")
    def get(self, employer_id: str) -> Employer:
        """Show an employer."""
        return service.get_employer(db.session, current_actor(), parse_id(employer_id))

    @require_officer("admin")
    @admin_errors(employers_blp)
    @employers_blp.arguments(EmployerPatchSchema)
    @employers_blp.response(200, EmployerSchema)
    @employers_blp.alt_response(404, description="No such employer (or HQ, union) in your scope")
    @employers_blp.alt_response(409, description="`uscc_taken` or `external_code_taken`")
    @employers_blp.alt_response(422, description="Invalid fields, or an HQ loop")
    def patch(self, body: dict[str, Any], employer_id: str) -> Employer:
        """Change an employer."""
        employer = service.update_employer(db.session, current_actor(), parse_id(employer_id), body)
        db.session.commit()
        return employer


@stations_blp.route("")
class Stations(MethodView):
    @require_officer("admin")
    @admin_errors(stations_blp)
    @stations_blp.arguments(StationQuerySchema, location="query")
    @stations_blp.response(200, StationPageSchema)
    @stations_blp.alt_response(422, description="Bad filter or cursor")
    def get(self, args: dict[str, Any]) -> Page:
        """List the stations managed in your scope."""
        return service.list_stations(db.session, current_actor(), **args)

    @require_officer("admin")
    @admin_errors(stations_blp)
    @stations_blp.arguments(StationCreateSchema)
    @stations_blp.response(201, StationSchema)
    @stations_blp.alt_response(404, description="The employer or managing union does not exist in your scope")
    @stations_blp.alt_response(409, description="`external_code_taken`")
    @stations_blp.alt_response(422, description="Invalid fields")
    def post(self, body: dict[str, Any]) -> Station:
        """Register a station."""
        station = service.create_station(db.session, current_actor(), **body)
        db.session.commit()
        return station


@stations_blp.route("/<station_id>")
class StationById(MethodView):
    @require_officer("admin")
    @admin_errors(stations_blp)
    @stations_blp.response(200, StationSchema)
    @stations_blp.alt_response(404, description="No such station in your scope")
    def get(self, station_id: str) -> Station:
        """Show a station."""
        return service.get_station(db.session, current_actor(), parse_id(station_id))

    @require_officer("admin")
    @admin_errors(stations_blp)
    @stations_blp.arguments(StationPatchSchema)
    @stations_blp.response(200, StationSchema)
    @stations_blp.alt_response(404, description="No such station (or employer, union) in your scope")
    @stations_blp.alt_response(409, description="`external_code_taken`")
    @stations_blp.alt_response(422, description="Invalid fields")
    def patch(self, body: dict[str, Any], station_id: str) -> Station:
        """Change a station."""
        station = service.update_station(db.session, current_actor(), parse_id(station_id), body)
        db.session.commit()
        return station


@imports_blp.route("/<any(unions, employers, stations):kind>")
class Import(MethodView):
    @require_officer("admin")
    @admin_errors(imports_blp)
    @imports_blp.arguments(ImportFileSchema, location="files")
    @imports_blp.response(200, ImportResultSchema)
    @imports_blp.alt_response(413, description="`payload_too_large`: the file is over the import limit")
    @imports_blp.alt_response(422, description='Bad rows: `errors` maps `"line N"` to that row\'s problems')
    def post(self, files: dict[str, Any], kind: str) -> imports.ImportResult:
        """Import a CSV file of unions, employers or stations (all rows or none)."""
        result = imports.import_csv(db.session, current_actor(), kind, files["file"].stream)
        db.session.commit()
        return result
