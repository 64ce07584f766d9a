"""Request and response shapes of the directory API (unions, employers, stations, imports)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest.fields import Upload

from app.db import parse_id
from app.directory.regions import all_regions, display_name, is_valid_region_code
from app.directory.uscc import normalise_uscc, uscc_problem
from app.directory.vocabulary import OCCUPATIONS, UNION_KINDS
from app.pagination import PageArgsSchema, page_schema


class IdField(ma.fields.Field[int]):
    """An id as the contract has it: dumped as a string; loaded from a string (or a JSON integer).

    A string that cannot be an id loads as ``NO_SUCH_ID``, so an unknown reference
    and a malformed one get the same "does not exist" answer.
    """

    default_error_messages = {"invalid": "编号须为字符串"}  # noqa: RUF012  # marshmallow reads this class attribute

    def __init__(self, **kwargs: Any) -> None:
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("type", "string")  # documented as the string the contract promises
        metadata.setdefault("description", "Opaque id (a string)")
        super().__init__(**kwargs)

    def _serialize(self, value: int | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.make_error("invalid")
        return parse_id(value.strip() if isinstance(value, str) else value)


# What Text refuses, said in the document: no C0 control character and no DEL. NON_BLANK adds that something
# other than white space (which Text strips) is left, for the fields that must not be empty.
NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"
NON_BLANK = r"^\s*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f]*$"
# The codes validate_region_code() takes, so that the document lists them (a few hundred at most).
REGION_CODES = sorted(all_regions())
# An 18-character code in the GB 32100 alphabet (no I, O, Z, S, V), digits 3-8 a region. The check character
# (a mod-31 sum) is checked too, and is beyond what a pattern can say: see the description.
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"


class Text(ma.fields.String):
    """A string with surrounding spaces removed and no control characters (PostgreSQL rejects NUL)."""

    def __init__(self, *, non_blank: bool = False, **kwargs: Any) -> None:
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("pattern", NON_BLANK if non_blank else NO_CONTROLS)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if any(ord(char) < 32 or ord(char) == 127 for char in text):
            raise ma.ValidationError("不能包含控制字符")
        return text


def validate_region_code(code: str) -> None:
    if not is_valid_region_code(code):
        raise ma.ValidationError("不是有效的行政区划代码（GB/T 2260）")


def validate_uscc(code: str) -> None:
    problem = uscc_problem(code)
    if problem:
        raise ma.ValidationError(problem)


class Uscc(Text):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return normalise_uscc(super()._deserialize(value, attr, data, **kwargs))


def _name(max_length: int, **kwargs: Any) -> Text:
    return Text(non_blank=True, validate=ma.validate.Length(min=1, max=max_length), **kwargs)


def region_code_field(**kwargs: Any) -> Text:
    """A GB/T 2260 code from the region list, documented with the list."""
    kwargs["metadata"] = {"description": "GB/T 2260 code, e.g. 320102", **kwargs.get("metadata", {})}
    kwargs["metadata"]["enum"] = REGION_CODES
    return Text(validate=validate_region_code, **kwargs)


def _uscc(**kwargs: Any) -> Uscc:
    metadata = {
        "pattern": USCC_PATTERN,
        "description": "Unified social credit code (GB 32100-2015), with a valid check character",
    }
    return Uscc(validate=validate_uscc, metadata=metadata, **kwargs)


def _occupation(**kwargs: Any) -> Text:
    return Text(validate=ma.validate.OneOf(list(OCCUPATIONS)), **kwargs)


def _external_code(**kwargs: Any) -> Text:
    return Text(
        non_blank=True,
        validate=ma.validate.Length(min=1, max=64),
        allow_none=True,
        metadata={"description": "Your own key for the record; CSV imports match rows by it"},
        **kwargs,
    )


class _Timestamps(ma.Schema):
    created_at = ma.fields.AwareDateTime(dump_only=True)
    updated_at = ma.fields.AwareDateTime(dump_only=True)


def _region_name(obj: Any) -> str:
    return display_name(obj.region_code)


def _region_name_field() -> ma.fields.Function:
    return ma.fields.Function(
        _region_name, dump_only=True, metadata={"type": "string", "description": "e.g. 南京市玄武区"}
    )


# --- unions ---------------------------------------------------------------------------------------------------------


class UnionSchema(_Timestamps):
    id = IdField(dump_only=True)
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": list(UNION_KINDS)})
    parent_id = IdField(allow_none=True)
    region_code = ma.fields.String()
    region_name = _region_name_field()
    occupations = ma.fields.List(ma.fields.String())
    employer_id = IdField(allow_none=True)
    accepting = ma.fields.Boolean()
    external_code = ma.fields.String(allow_none=True)


class UnionCreateSchema(ma.Schema):
    name = _name(100, required=True)
    kind = Text(required=True, validate=ma.validate.OneOf(UNION_KINDS))
    parent_id = IdField(required=True, metadata={"description": "A union in your scope"})
    region_code = region_code_field(required=True)
    occupations = ma.fields.List(_occupation(), load_default=list, validate=ma.validate.Length(max=len(OCCUPATIONS)))
    employer_id = IdField(load_default=None, allow_none=True, metadata={"description": "Required for enterprise"})
    accepting = ma.fields.Boolean(load_default=True)
    external_code = _external_code(load_default=None)


class UnionPatchSchema(ma.Schema):
    name = _name(100)
    kind = Text(validate=ma.validate.OneOf(UNION_KINDS))
    # Not nullable: every union but the root has a parent, and none may drop it (the message is the service's).
    parent_id = IdField(
        error_messages={"null": "须指定上级工会"}, metadata={"description": "Moves the union and its whole subtree"}
    )
    region_code = region_code_field()
    occupations = ma.fields.List(_occupation(), validate=ma.validate.Length(max=len(OCCUPATIONS)))
    employer_id = IdField(allow_none=True)
    accepting = ma.fields.Boolean()
    external_code = _external_code()


class UnionQuerySchema(PageArgsSchema):
    kind = Text(validate=ma.validate.OneOf(UNION_KINDS))
    parent_id = IdField()
    region_code = region_code_field(metadata={"description": "Unions whose region lies within this one"})
    occupation = _occupation()
    accepting = ma.fields.Boolean()
    q = Text(validate=ma.validate.Length(max=100), metadata={"description": "Part of the name"})


UnionPageSchema = page_schema(UnionSchema, "UnionPage")


# --- employers ------------------------------------------------------------------------------------------------------


class EmployerSchema(_Timestamps):
    id = IdField(dump_only=True)
    name = ma.fields.String()
    uscc = ma.fields.String(metadata={"description": "Unified social credit code (GB 32100-2015)"})
    parent_id = IdField(allow_none=True)
    region_code = ma.fields.String()
    region_name = _region_name_field()
    union_id = IdField(metadata={"description": "The union whose officers manage this record"})
    external_code = ma.fields.String(allow_none=True)


class EmployerCreateSchema(ma.Schema):
    name = _name(200, required=True)
    uscc = _uscc(required=True)
    parent_id = IdField(load_default=None, allow_none=True, metadata={"description": "The HQ of a branch"})
    region_code = region_code_field(required=True)
    union_id = IdField(load_default=None, allow_none=True, metadata={"description": "Default: your own union"})
    external_code = _external_code(load_default=None)


class EmployerPatchSchema(ma.Schema):
    name = _name(200)
    uscc = _uscc()
    parent_id = IdField(allow_none=True)
    region_code = region_code_field()
    union_id = IdField()
    external_code = _external_code()


class EmployerQuerySchema(PageArgsSchema):
    region_code = region_code_field(metadata={"description": "Employers whose region lies within this one"})
    parent_id = IdField()
    uscc = Uscc(validate=ma.validate.Length(max=18))
    q = Text(validate=ma.validate.Length(max=100), metadata={"description": "Part of the name"})


EmployerPageSchema = page_schema(EmployerSchema, "EmployerPage")


# --- stations -------------------------------------------------------------------------------------------------------


class StationSchema(_Timestamps):
    id = IdField(dump_only=True)
    name = ma.fields.String()
    employer_id = IdField(allow_none=True)
    region_code = ma.fields.String()
    region_name = _region_name_field()
    address = ma.fields.String()
    occupation = ma.fields.String(metadata={"description": "The default occupation of workers here"})
    union_id = IdField(metadata={"description": "The union whose officers manage this record"})
    external_code = ma.fields.String(allow_none=True)


class StationCreateSchema(ma.Schema):
    name = _name(200, required=True)
    employer_id = IdField(load_default=None, allow_none=True)
    region_code = region_code_field(required=True)
    address = Text(load_default="", validate=ma.validate.Length(max=300))
    occupation = _occupation(required=True)
    union_id = IdField(load_default=None, allow_none=True, metadata={"description": "Default: your own union"})
    external_code = _external_code(load_default=None)


class StationPatchSchema(ma.Schema):
    name = _name(200)
    employer_id = IdField(allow_none=True)
    region_code = region_code_field()
    address = Text(validate=ma.validate.Length(max=300))
    occupation = _occupation()
    union_id = IdField()
    external_code = _external_code()


class StationQuerySchema(PageArgsSchema):
    region_code = region_code_field(metadata={"description": "Stations whose region lies within this one"})
    employer_id = IdField()
    occupation = _occupation()
    q = Text(validate=ma.validate.Length(max=100), metadata={"description": "Part of the name or address"})


StationPageSchema = page_schema(StationSchema, "StationPage")


# --- imports --------------------------------------------------------------------------------------------------------


class ImportFileSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "CSV: UTF-8 (with or without BOM) or GB18030"})


class ImportResultSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "unions, employers or stations"})
    rows = ma.fields.Integer(required=True, metadata={"description": "Data rows in the file"})
    created = ma.fields.Integer(required=True)
    updated = ma.fields.Integer(required=True)
    unchanged = ma.fields.Integer(required=True, metadata={"description": "Rows identical to what is stored"})
