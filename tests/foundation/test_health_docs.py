"""Probes, the OpenAPI document and the offline docs page."""

from __future__ import annotations

import re
from typing import Any

from openapi_spec_validator import validate

from app import create_app


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_when_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}


def test_readyz_is_503_envelope_when_database_is_down(app_config):
    # Port 1 on loopback refuses at once: a database that is not there.
    app = create_app({**app_config, "database_url": "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5"
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_openapi_document_is_valid(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "Error" in spec["components"]["schemas"]


def test_docs_page_loads_every_asset_from_the_app(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the page must reference its JS and CSS"
    for asset in assets:
        assert asset.startswith("/"), f"{asset} would need the internet"
        with client.get(asset) as asset_response:
            assert asset_response.status_code == 200, asset
            assert asset_response.content_length and asset_response.content_length > 1000


_TYPED = ("type", "$ref", "allOf", "oneOf", "anyOf")


def _untyped(schema: dict[str, Any], where: str) -> list[str]:
    """Every property (or list item) below ``schema`` that says neither a type nor a reference.

    A map's values may be anything (``additionalProperties: {}``, as an audit event's ``details``): that says
    "any JSON value" on purpose; its own properties, if it has any, are still walked.
    """
    found: list[str] = []
    for key in ("allOf", "oneOf", "anyOf"):
        for number, part in enumerate(schema.get(key, [])):
            found += _untyped(part, f"{where}.{key}[{number}]")
    children = [(f"{where}.{name}", prop) for name, prop in schema.get("properties", {}).items()]
    if isinstance(schema.get("items"), dict):
        children.append((f"{where}[]", schema["items"]))
    if isinstance(schema.get("additionalProperties"), dict):
        found += _untyped(schema["additionalProperties"], f"{where}{{}}")
    for path, child in children:
        if not any(key in child for key in _TYPED):
            found.append(path)
        found += _untyped(child, path)
    return found


def test_every_response_property_has_a_type(client):
    spec = client.get("/api/openapi.json").get_json()
    untyped: list[str] = []
    for name, schema in spec["components"]["schemas"].items():
        untyped += _untyped(schema, name)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue  # shared by the path's operations; requests, not responses
            for status, response in operation.get("responses", {}).items():
                for media, content in response.get("content", {}).items():
                    untyped += _untyped(content.get("schema", {}), f"{method.upper()} {path} {status} {media}")
    assert "Application" in spec["components"]["schemas"]  # the walk reached the schemas this is about
    assert untyped == []
