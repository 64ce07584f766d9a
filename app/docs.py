"""Serves Swagger UI's JS and CSS from the app itself: CDNs are often unreachable in China."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

SWAGGER_UI_STATIC = "/api/docs/static/"

bp = Blueprint("swagger_ui_static", __name__)


@bp.get(SWAGGER_UI_STATIC + "<path:filename>")
def swagger_ui_asset(filename: str) -> Response:
    response = send_from_directory(swagger_ui_path, filename, max_age=86400)
    return response
