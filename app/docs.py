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


def init_spec(api: Any) -> None:
    """Adjust how flask-smorest turns schemas into the OpenAPI document (after ``api.init_app``)."""
    api.ma_plugin.converter.add_attribute_function(_ecma_pattern)
