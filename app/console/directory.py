"""Directory and rules: unions, employers and stations (list, search, create, edit), CSV imports, override rules
and the routing "explain" tool. Forms are read with the API's own schemas, so both doors accept the same values."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from flask import Response, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as Redirect

from app.actors import Actor
from app.console import bp
from app.console.session import require_role, scope
from app.db import db
from app.directory import imports, service
from app.directory import schemas as directory_schemas
from app.directory.models import EMPLOYMENT_FORMS, OCCUPATIONS, UNION_KINDS
from app.directory.vocabulary import UNION_KIND_NAMES
from app.errors import AppError, ValidationFailed, flatten_field_errors
from app.routing import schemas as routing_schemas
from app.routing import service as routing
from app.routing.engine import RULES

ADMIN = ("admin",)
IMPORT_NAMES = {"unions": "工会", "employers": "用人单位", "stations": "站点"}


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # text | select | multi | check | textarea
    options: tuple[tuple[str, str], ...] = ()
    hint: str = ""


def _choices(names: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(names.items())


_OCCUPATION_CHOICES = _choices(OCCUPATIONS)
_KIND_CHOICES = tuple((kind, UNION_KIND_NAMES[kind]) for kind in UNION_KINDS)


@dataclass(frozen=True)
class Entity:
    """One kind of directory record as the console shows and edits it."""

    key: str
    title: str
    fields: tuple[FormField, ...]
    columns: tuple[tuple[str, str], ...]
    create_schema: type[ma.Schema]
    patch_schema: type[ma.Schema]
    lister: Callable[..., Any]
    getter: Callable[[Any, Actor, int], Any]
    creator: Callable[..., Any]
    updater: Callable[[Any, Actor, int, Any], Any]


ENTITIES = {
    "unions": Entity(
        key="unions",
        title="工会",
        fields=(
            FormField("name", "名称"),
            FormField("kind", "类型", "select", _KIND_CHOICES),
            FormField("parent_id", "上级工会编号"),
            FormField("region_code", "行政区划代码", hint="6 位数字，例如 320102（南京市玄武区）"),
            FormField("occupations", "覆盖职业（行业工会）", "multi", _OCCUPATION_CHOICES),
            FormField("employer_id", "用人单位编号（企业工会必填）"),
            FormField("accepting", "受理入会申请", "check"),
            FormField("external_code", "外部编码"),
        ),
        columns=(("id", "编号"), ("name", "名称"), ("kind", "类型"), ("region_code", "区划"), ("accepting", "受理")),
        create_schema=directory_schemas.UnionCreateSchema,
        patch_schema=directory_schemas.UnionPatchSchema,
        lister=service.list_unions,
        getter=service.get_union,
        creator=service.create_union,
        updater=service.update_union,
    ),
    "employers": Entity(
        key="employers",
        title="用人单位",
        fields=(
            FormField("name", "名称"),
            FormField("uscc", "统一社会信用代码"),
            FormField("parent_id", "总部单位编号（分支机构填写）"),
            FormField("region_code", "行政区划代码", hint="6 位数字"),
            FormField("union_id", "管理工会编号（不填为本工会）"),
            FormField("external_code", "外部编码"),
        ),
        columns=(("id", "编号"), ("name", "名称"), ("uscc", "统一社会信用代码"), ("region_code", "区划")),
        create_schema=directory_schemas.EmployerCreateSchema,
        patch_schema=directory_schemas.EmployerPatchSchema,
        lister=service.list_employers,
        getter=service.get_employer,
        creator=service.create_employer,
        updater=service.update_employer,
    ),
    "stations": Entity(
        key="stations",
        title="站点",
        fields=(
            FormField("name", "名称"),
            FormField("occupation", "职业", "select", _OCCUPATION_CHOICES),
            FormField("region_code", "行政区划代码", hint="6 位数字"),
            FormField("address", "地址"),
            FormField("employer_id", "用人单位编号"),
            FormField("union_id", "管理工会编号（不填为本工会）"),
            FormField("external_code", "外部编码"),
        ),
        columns=(
            ("id", "编号"),
            ("name", "名称"),
            ("occupation", "职业"),
            ("region_code", "区划"),
            ("address", "地址"),
        ),
        create_schema=directory_schemas.StationCreateSchema,
        patch_schema=directory_schemas.StationPatchSchema,
        lister=service.list_stations,
        getter=service.get_station,
        creator=service.create_station,
        updater=service.update_station,
    ),
}


def _entity(kind: str) -> Entity:
    if kind not in ENTITIES:
        raise AppError("没有这类记录", code="not_found", status=404)
    return ENTITIES[kind]


def _form_data(entity: Entity, form: MultiDict[str, str], *, patch: bool) -> dict[str, Any]:
    """The form as the API's JSON body: empty optional fields absent (create) or null (edit)."""
    data: dict[str, Any] = {}
    for field in entity.fields:
        if field.kind == "multi":
            data[field.name] = form.getlist(field.name)
        elif field.kind == "check":
            data[field.name] = form.get(field.name) == "on"
        else:
            value = form.get(field.name, "").strip()
            if value:
                data[field.name] = value
            elif patch and field.name in ("parent_id", "employer_id") and entity.key != "unions":
                data[field.name] = None
    return data


def _load(schema: type[ma.Schema], data: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema().load(data)
    except ma.ValidationError as error:
        raise ValidationFailed(errors=flatten_field_errors(error.messages)) from None
    return loaded


def _values(record: Any, entity: Entity) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in entity.fields:
        value = getattr(record, field.name, None)
        values[field.name] = value if field.kind in ("multi", "check") else ("" if value is None else str(value))
    return values


@bp.get("/directory/<kind>")
@require_role(*ADMIN)
def directory_list(kind: str) -> Any:
    """The unions, employers or stations of the scope, with a search box."""
    entity = _entity(kind)
    q = request.args.get("q", "").strip()[:100]
    page = entity.lister(db.session, scope(), limit=50, cursor=request.args.get("cursor") or None, q=q or None)
    return render_template("console/directory.html", active="directory", entity=entity, page=page, q=q)


@bp.get("/directory")
@require_role(*ADMIN)
def unions() -> Redirect:
    return redirect(url_for("console.directory_list", kind="unions"))


def _render_form(entity: Entity, record_id: int | None, values: dict[str, Any], errors: dict[str, list[str]]) -> Any:
    html = render_template(
        "console/record_form.html",
        active="directory",
        entity=entity,
        record_id=record_id,
        values=values,
        errors=errors,
        names={f.name: f.label for f in entity.fields},
    )
    return html, 422 if errors else 200


@bp.route("/directory/<kind>/new", methods=["GET", "POST"])
@require_role(*ADMIN)
def directory_create(kind: str) -> Any:
    """Create a union, an employer or a station in the scope."""
    entity = _entity(kind)
    if request.method == "GET":
        return _render_form(entity, None, {"accepting": True, "occupations": []}, {})
    data = _form_data(entity, request.form, patch=False)
    try:
        record = entity.creator(db.session, scope(), **_load(entity.create_schema, data))
        db.session.commit()
    except AppError as error:
        db.session.rollback()
        return _render_form(entity, None, {**data}, error.errors or {"_schema": [error.message]})
    flash(f"已创建{entity.title}「{record.name}」。", "success")
    return redirect(url_for("console.directory_list", kind=kind), 303)


@bp.route("/directory/<kind>/<int:record_id>", methods=["GET", "POST"])
@require_role(*ADMIN)
def directory_edit(kind: str, record_id: int) -> Any:
    """Edit a record of the scope (what is outside it is not found)."""
    entity = _entity(kind)
    if request.method == "GET":
        return _render_form(entity, record_id, _values(entity.getter(db.session, scope(), record_id), entity), {})
    data = _form_data(entity, request.form, patch=True)
    try:
        record = entity.updater(db.session, scope(), record_id, _load(entity.patch_schema, data))
        db.session.commit()
    except AppError as error:
        db.session.rollback()
        if error.status == 404 and not error.errors:
            raise
        return _render_form(entity, record_id, data, error.errors or {"_schema": [error.message]})
    flash(f"已保存{entity.title}「{record.name}」。", "success")
    return redirect(url_for("console.directory_list", kind=kind), 303)


# ---------------------------------------------------------------- CSV imports


@bp.get("/imports")
@require_role(*ADMIN)
def imports_page() -> Any:
    """Upload a CSV of unions, employers or stations."""
    return render_template("console/imports.html", active="imports", names=IMPORT_NAMES, result=None, errors={})


@bp.get("/imports/<kind>/template.csv")
@require_role(*ADMIN)
def import_template(kind: str) -> Response:
    """A header row to fill in (UTF-8 with BOM, so that Excel opens it in Chinese)."""
    if kind not in imports.COLUMNS:
        raise AppError("没有这类导入", code="not_found", status=404)
    buffer = io.StringIO()
    csv.writer(buffer).writerow([column.aliases[0] for column in imports.COLUMNS[kind]])
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{kind}-template.csv"'},
    )


@bp.post("/imports")
@require_role(*ADMIN)
def import_upload() -> Any:
    """Import a whole file or nothing; every bad row is listed with its line number."""
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    errors: dict[str, list[str]] = {}
    result = None
    if kind not in imports.COLUMNS:
        errors["kind"] = ["请选择导入的类别"]
    if upload is None or not upload.filename:
        errors["file"] = ["请选择要上传的 CSV 文件"]
    if not errors:
        assert upload is not None
        try:
            result = imports.import_csv(db.session, scope(), kind, upload.stream)
            db.session.commit()
        except AppError as error:
            db.session.rollback()
            errors = error.errors or {"file": [error.message]}
            errors.setdefault("_summary", [error.message])
    html = render_template(
        "console/imports.html", active="imports", names=IMPORT_NAMES, result=result, errors=errors, kind=kind
    )
    return html, 422 if errors else 200


# ---------------------------------------------------------------- override rules and "explain"


@bp.get("/rules")
@require_role(*ADMIN)
def rules() -> Any:
    """The override rules of the scope, the form for a new one, and the explain tool."""
    page = routing.list_rules(db.session, scope(), limit=100, cursor=request.args.get("cursor") or None)
    return _rules_page(page=page)


def _rules_page(**context: Any) -> Any:
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("explained", None)
    return render_template(
        "console/rules.html",
        active="rules",
        occupations=OCCUPATIONS,
        employment_forms=EMPLOYMENT_FORMS,
        rule_names=RULES,
        **context,
    )


@bp.post("/rules")
@require_role(*ADMIN)
def create_rule() -> Any:
    """Add an override rule."""
    data = {k: v.strip() for k, v in request.form.items() if k != "csrf_token" and v.strip()}
    try:
        routing.create_rule(db.session, scope(), **_load(routing_schemas.RuleCreateSchema, data))
        db.session.commit()
    except AppError as error:
        db.session.rollback()
        page = routing.list_rules(db.session, scope(), limit=100)
        errors = error.errors or {"_schema": [error.message]}
        return _rules_page(page=page, errors=errors, values=data), 422
    flash("已添加覆盖规则。", "success")
    return redirect(url_for("console.rules"), 303)


@bp.post("/rules/<int:rule_id>/delete")
@require_role(*ADMIN)
def delete_rule(rule_id: int) -> Redirect:
    """Remove an override rule."""
    routing.delete_rule(db.session, scope(), rule_id)
    db.session.commit()
    flash("已删除覆盖规则。", "success")
    return redirect(url_for("console.rules"), 303)


@bp.get("/rules/explain")
@require_role(*ADMIN)
def explain() -> Any:
    """Which union a station and an occupation reach, and why."""
    data = {k: v.strip() for k, v in request.args.items() if v.strip()}
    page = routing.list_rules(db.session, scope(), limit=100)
    try:
        args = _load(routing_schemas.ExplainQuerySchema, data)
        explained = routing.explain_route(db.session, scope(), **args)
    except AppError as error:
        if error.status == 404:
            return _rules_page(page=page, errors={"station_id": ["站点不存在或不在管辖范围内"]}, values=data), 404
        return _rules_page(page=page, errors=error.errors or {"_schema": [error.message]}, values=data), 422
    return _rules_page(page=page, explained=explained, values=data)
