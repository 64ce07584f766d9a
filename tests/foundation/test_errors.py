"""Every error leaves as the contract's envelope, with a request id."""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask
from flask.views import MethodView
from flask_smorest import Blueprint

from app.extensions import api, limiter


class _EchoSchema(ma.Schema):
    phone = ma.fields.String(required=True, validate=ma.validate.Length(min=11, max=11))
    count = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=5))


@pytest.fixture
def app_with_probe(app: Flask) -> Flask:
    """The app plus a throwaway blueprint that can fail in every way a real one can."""
    blp = Blueprint("probe", __name__, url_prefix="/api/v1/probe")

    @blp.route("/echo")
    class Echo(MethodView):
        @blp.arguments(_EchoSchema)
        @blp.response(200)
        def post(self, body):
            """Echo a body."""
            return body

    @blp.route("/boom")
    class Boom(MethodView):
        def get(self):
            """Fail unexpectedly."""
            raise RuntimeError("SELECT secret FROM table -- should never reach the client")

    @blp.route("/limited")
    class Limited(MethodView):
        decorators = [limiter.limit("2/minute")]

        def get(self):
            """Allow two calls a minute."""
            return {"ok": True}

    api.register_blueprint(blp)
    return app


def _assert_envelope(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), "message must be Chinese"
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_unknown_route_is_404_envelope(client):
    response = client.get("/api/v1/nope")
    body = _assert_envelope(response, 404, "not_found")
    assert "errors" not in body
    assert body["message"] in response.get_data(as_text=True), "Chinese is sent as UTF-8, not escaped"


def test_wrong_method_is_405_envelope_with_allow(client):
    response = client.post("/healthz")
    _assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_client_request_id_is_echoed(client):
    response = client.get("/api/v1/nope", headers={"X-Request-ID": "abc-123.x"})
    assert response.headers["X-Request-ID"] == "abc-123.x"
    assert response.get_json()["request_id"] == "abc-123.x"


@pytest.mark.parametrize("bad", ["", "has space", "x" * 65, "<script>", "\u4e2d\u6587"])
def test_insane_request_id_is_replaced(client, bad):
    response = client.get("/healthz", headers={"X-Request-ID": bad})
    generated = response.headers["X-Request-ID"]
    assert generated != bad and len(generated) == 32


def test_success_responses_carry_a_request_id(client):
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32


def test_validation_error_lists_fields_in_chinese(app_with_probe):
    client = app_with_probe.test_client()
    response = client.post("/api/v1/probe/echo", json={"phone": "123", "count": 9, "extra": 1})
    body = _assert_envelope(response, 422, "validation_error")
    assert body["errors"] == {
        "phone": ["长度须在 11 到 11 之间"],
        "count": ["须在 1 到 5 之间"],
        "extra": ["不允许的字段"],
    }


def test_missing_field_is_named(app_with_probe):
    body = app_with_probe.test_client().post("/api/v1/probe/echo", json={}).get_json()
    assert body["errors"] == {"phone": ["此项为必填项"]}


def test_malformed_json_is_400_envelope(app_with_probe):
    response = app_with_probe.test_client().post(
        "/api/v1/probe/echo", data="{not json", content_type="application/json"
    )
    _assert_envelope(response, 400, "bad_request")


def test_unhandled_error_is_500_without_details(app_with_probe, caplog):
    with caplog.at_level(logging.ERROR, logger="ruhui.errors"):
        response = app_with_probe.test_client().get("/api/v1/probe/boom")
    body = _assert_envelope(response, 500, "internal_error")
    assert "SELECT" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert set(body) == {"code", "message", "request_id"}
    assert any(record.exc_info for record in caplog.records), "operators must get the traceback"


def test_rate_limit_is_429_envelope_with_retry_after(app_with_probe):
    client = app_with_probe.test_client()
    assert client.get("/api/v1/probe/limited").status_code == 200
    assert client.get("/api/v1/probe/limited").status_code == 200
    response = client.get("/api/v1/probe/limited")
    _assert_envelope(response, 429, "rate_limited")
    assert 0 < int(response.headers["Retry-After"]) <= 60
