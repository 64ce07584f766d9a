"""No input is a 500: absurdly deep JSON is 400, and a surrogate or control character anywhere is 422.

The checks live in one place (``app/inputs.py``); these tests go through the real
endpoints where each hole was found, on whichever database the suite runs.
"""

from __future__ import annotations

import json

import pytest
from flask import Flask

from tests.conftest import form

DEEP_JSON = "[" * 1000 + "]" * 1000  # 2 KB, no sign-in needed


def _json_endpoints(app: Flask) -> list[tuple[str, str]]:
    """Every route that takes a body, its path parameters filled with an id that may not exist."""
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH"}):
            path = rule.rule
            for argument in rule.arguments:
                path = path.replace(f"<{argument}>", "1")
            path = path.replace("<any(unions, employers, stations):kind>", "unions")
            routes.append((method, path))
    return routes


def _send_raw(client, method: str, path: str, text: str, headers=None):
    return client.open(path, method=method, data=text, content_type="application/json", headers=headers or {})


def _assert_bad_character(response, field: str) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert field in body["errors"], body


def test_deep_json_is_400_on_every_json_endpoint(app, client):
    routes = _json_endpoints(app)
    assert len(routes) > 20
    for method, path in routes:
        response = _send_raw(client, method, path, DEEP_JSON)
        assert response.status_code == 400, (method, path, response.status_code)
        if path.startswith("/api/"):  # the pages answer with a page of their own, the API with the envelope
            assert response.get_json()["code"] == "bad_request"


def test_json_nested_past_the_limit_but_within_the_parser_is_400(client):
    body = {"phone": json.loads("[" * 50 + "]" * 50)}
    response = client.post("/api/v1/auth/otp", json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request"


@pytest.mark.parametrize("value", ["\ud800", "张\udfff三", "张\x00三", "张\x1b三"], ids=repr)
def test_a_bad_character_in_an_application_is_422_naming_the_field(client, nanjing, worker, value):
    _, headers = worker
    text = json.dumps(form(nanjing, full_name=value))  # escaped, as a hostile client would send it
    _assert_bad_character(_send_raw(client, "POST", "/api/v1/applications", text, headers), "full_name")


def test_a_bad_character_in_a_directory_patch_is_422_naming_the_field(client, nanjing, make_officer):
    _, headers = make_officer(nanjing.province)
    targets = [
        (f"/api/v1/unions/{nanjing.city.id}", "name"),
        (f"/api/v1/stations/{nanjing.depot.id}", "address"),
        (f"/api/v1/employers/{nanjing.depot.employer_id}", "name"),
    ]
    for path, field in targets:
        for value in ("\ud800", "x\x00y"):
            text = json.dumps({field: value})
            _assert_bad_character(_send_raw(client, "PATCH", path, text, headers), field)


def test_a_bad_character_in_a_transfer_reason_is_422(client, nanjing, make_officer, apply):
    application = apply()
    _, headers = make_officer(nanjing.province, role="reviewer")
    path = f"/api/v1/review/applications/{application['id']}/transfer"
    for reason in ("\ud800", "转\x00给"):
        text = json.dumps({"union_id": str(nanjing.express.id), "reason": reason})
        _assert_bad_character(_send_raw(client, "POST", path, text, headers), "reason")


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/review/applications", "q"),
        ("/api/v1/audit", "action"),
        ("/api/v1/audit", "object_id"),
    ],
)
@pytest.mark.parametrize("value", ["\x00", "a\x00b", "\x1b[31m", "a\nb"], ids=repr)
def test_a_control_character_in_a_query_parameter_is_422_naming_it(
    client, province, make_officer, path, parameter, value
):
    _, headers = make_officer(province)
    response = client.get(path, query_string={parameter: value}, headers=headers)
    _assert_bad_character(response, parameter)


def test_nested_and_listed_strings_are_named_by_their_path(client, province, make_officer):
    _, headers = make_officer(province)
    text = json.dumps({"ids": ["1", "2\ud800"], "action": "approve", "reason": "ok"})
    _assert_bad_character(_send_raw(client, "POST", "/api/v1/review/bulk-decision", text, headers), "ids.1")


def test_line_breaks_and_tabs_pass_in_free_text(client, nanjing, make_officer, apply):
    application = apply()
    _, headers = make_officer(nanjing.province, role="reviewer")
    response = client.post(
        f"/api/v1/review/applications/{application['id']}/transfer",
        json={"union_id": str(nanjing.xuanwu.id), "reason": "该站点在玄武区：\n\t转玄武区总工会"},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
