"""Whatever a client sends to the sign-in endpoints, the answer is the contract's envelope, never a 500."""

from __future__ import annotations

import json

import pytest

ENDPOINTS = [
    "/api/v1/auth/otp",
    "/api/v1/auth/otp/verify",
    "/api/v1/auth/wechat",
    "/api/v1/auth/refresh",
    "/api/v1/officers/login",
]

HOSTILE_VALUES = [
    None,
    0,
    -1,
    10**40,
    1.5,
    True,
    [],
    {},
    ["13812345678"],
    {"$ne": ""},
    "",
    " ",
    "x" * 100_000,
    "\u0000",
    "138\u00001234567",
    "\ud800",  # a lone surrogate
    "😀" * 20,
    "'; DROP TABLE persons; --",
    "../../etc/passwd",
    "١٣٨١٢٣٤٥٦٧٨",  # Arabic-Indic digits
]
FIELDS = ["phone", "challenge_id", "code", "phone_code", "refresh_token", "username", "password"]


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda v: repr(v)[:20])
def test_hostile_field_values(client, url, value):
    body = dict.fromkeys(FIELDS, value)
    # Serialised here with escapes, as a hostile client would send a lone surrogate.
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code in (400, 401, 409, 410, 422, 429, 501, 503), response.get_json()
    envelope = response.get_json()
    assert envelope["code"] and envelope["message"] and envelope["request_id"]


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("[]", "application/json"),
        ('"string"', "application/json"),
        ("null", "application/json"),
        ("phone=13812345678", "application/x-www-form-urlencoded"),
        ("", "application/json"),
        (b"\xff\xfe\x00", "application/json"),
    ],
)
def test_malformed_bodies(client, url, data, content_type):
    response = client.post(url, data=data, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert response.get_json()["code"]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_wrong_method_is_405(client, url):
    response = client.get(url)
    assert response.status_code == 405
    assert response.get_json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda v: repr(v)[:20])
def test_hostile_officer_accounts(client, province, make_officer, value):
    _, headers = make_officer(province, "admin")
    body = dict.fromkeys(["username", "password", "union_id", "role", "name"], value)
    response = client.post("/api/v1/officers", data=json.dumps(body), content_type="application/json", headers=headers)
    assert response.status_code == 422, response.get_json()
    if value == "\ud800":
        return  # no HTTP client can put a lone surrogate into a URL
    listed = client.get("/api/v1/officers", query_string={"cursor": value, "limit": value}, headers=headers)
    assert listed.status_code in (200, 422)


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/auth/otp/verify", {"challenge_id": "abcdefgh", "code": "123456\n"}, "code"),
        ("/api/v1/auth/otp/verify", {"challenge_id": "abcdefgh\n", "code": "123456"}, "challenge_id"),
    ],
)
def test_a_trailing_newline_does_not_pass_a_whole_value_pattern(client, url, body, field):
    # The documented patterns end in $, which in Python also matches before a final newline.
    response = client.post(url, json=body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_a_username_with_a_trailing_newline_is_refused(client, province, make_officer):
    _, headers = make_officer(province, "admin")
    body = {
        "username": "reviewer1\n",
        "password": "correct-horse-battery",
        "union_id": str(province.id),
        "role": "viewer",
    }
    response = client.post("/api/v1/officers", json=body, headers=headers)
    assert response.status_code == 422
    assert "username" in response.get_json()["errors"]
