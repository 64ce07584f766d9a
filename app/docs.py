"""Serves Swagger UI's JS and CSS from the app itself: CDNs are often unreachable in China."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

SWAGGER_UI_STATIC = "/api/docs/static/"

bp = Blueprint("swagger_ui_static", __name__)


@bp.get(SWAGGER_UI_STATIC + "<path:filename>")
def swagger_ui_asset(filename: str) -> Response:
    response = send_from_directory(swagger_ui_path, filename, max_age=86400)
    return response


def _ecma_pattern(_converter: Any, _field: Any, ret: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """Publish regex patterns in the dialect OpenAPI clients speak (ECMA-262), not Python's.

    Our validators anchor with ``\\Z`` (Python's "end of string", which ``$`` is not);
    in ECMA-262 ``$`` without the multiline flag means exactly that, and ``\\Z`` is an error.
    """
    pattern = ret.get("pattern")
    if not isinstance(pattern, str):
        return {}
    if pattern.startswith("\\A"):
        pattern = "^" + pattern[2:]
    if pattern.endswith("\\Z") and not pattern.endswith("\\\\Z"):
        pattern = pattern[:-2] + "$"
    return {"pattern": pattern}


# What app/inputs.py refuses in every string, written as the document's patterns (ECMA-262), so
# that a client or a fuzzer reading the document knows it: body text may span lines, a query
# parameter may not.
TEXT_PATTERN = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"
LINE_PATTERN = "^[^\\x00-\\x1f\\x7f]*$"


def _plain_string(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" and not {"enum", "format"} & schema.keys()


def _text_pattern(_converter: Any, _field: Any, ret: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    if _plain_string(ret) and "pattern" not in ret:
        return {"pattern": TEXT_PATTERN}
    return {}


def _line_pattern(_converter: Any, _field: Any, ret: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    schema = ret.get("schema")
    if isinstance(schema, dict) and _plain_string(schema) and schema.get("pattern", TEXT_PATTERN) == TEXT_PATTERN:
        return {"schema": {**schema, "pattern": LINE_PATTERN}}
    return {}


def init_spec(api: Any) -> None:
    """Adjust how flask-smorest turns schemas into the OpenAPI document (after ``api.init_app``)."""
    api.ma_plugin.converter.add_attribute_function(_ecma_pattern)
    api.ma_plugin.converter.add_attribute_function(_text_pattern)
    api.ma_plugin.converter.add_parameter_attribute_function(_line_pattern)
