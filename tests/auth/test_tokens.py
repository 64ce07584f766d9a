"""Access tokens: only ours, only HS256, only for us, only while fresh; keys rotate without signing anyone out."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import warnings

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.utils import base64url_encode
from jwt.warnings import InsecureKeyLengthWarning

from app.auth.tokens import AUDIENCE, ISSUER, decode_access_token, issue_access_token, signing_key
from app.db import utcnow
from app.errors import Unauthorized

OFFICERS_URL = "/api/v1/officers"
NEW_KEY = ("2027-01", "n" * 40)
OLD_KEY = ("2026-06", "o" * 40)


def _claims(**changes):
    now = int(utcnow().timestamp())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "1", "kind": "officer", "iat": now, "exp": now + 600, "jti": "j1"}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _refused(app, token: str) -> bool:
    with app.test_request_context():
        try:
            decode_access_token(token)
        except Unauthorized:
            return True
    return False


def test_issued_token_carries_the_claims(app):
    with app.test_request_context():
        token, lifetime = issue_access_token("worker", 42)
        claims = decode_access_token(token)
        assert jwt.get_unverified_header(token)["kid"] == signing_key().kid
    assert lifetime == 900
    assert claims["sub"] == "42" and claims["kind"] == "worker"
    assert claims["iss"] == ISSUER and claims["aud"] == AUDIENCE
    assert claims["exp"] - claims["iat"] == 900 and len(claims["jti"]) == 32


@pytest.mark.parametrize(("kind", "minutes"), [("worker", 15), ("officer", 30)])
def test_tokens_expire(app, clock, kind, minutes):
    with app.test_request_context():
        token, _ = issue_access_token(kind, 1)
    clock.advance(minutes * 60 - 5)
    assert not _refused(app, token)
    clock.advance(10)
    assert _refused(app, token)


def test_token_from_the_future_is_refused(app):
    with app.test_request_context():
        token, _ = issue_access_token("worker", 1, now=utcnow() + dt.timedelta(minutes=5))
    assert _refused(app, token)


def _our_key(app) -> tuple[str, bytes]:
    with app.test_request_context():
        key = signing_key()
    return key.kid, key.secret


OURS = object()  # stands for our real secret / our real kid in the table below


@pytest.mark.parametrize(
    ("claims", "key", "algorithm", "kid"),
    [
        pytest.param({}, b"x" * 32, "HS256", OURS, id="wrong signature"),
        pytest.param({}, OURS, "HS512", OURS, id="alg swap to HS512"),
        pytest.param({}, OURS, "HS384", OURS, id="alg swap to HS384"),
        pytest.param({}, None, "none", OURS, id="alg none"),
        pytest.param({"aud": "other-api"}, OURS, "HS256", OURS, id="audience"),
        pytest.param({"iss": "someone"}, OURS, "HS256", OURS, id="issuer"),
        pytest.param({"exp": -1}, OURS, "HS256", OURS, id="expired"),
        pytest.param({"exp": None}, OURS, "HS256", OURS, id="no exp"),
        pytest.param({"exp": "later"}, OURS, "HS256", OURS, id="exp not a number"),
        pytest.param({"jti": None}, OURS, "HS256", OURS, id="no jti"),
        pytest.param({"kind": "admin"}, OURS, "HS256", OURS, id="unknown kind"),
        pytest.param({}, OURS, "HS256", "other", id="unknown kid"),
        pytest.param({}, OURS, "HS256", None, id="no kid"),
    ],
)
def test_forged_or_wrong_tokens_are_refused(app, claims, key, algorithm, kid):
    our_kid, our_secret = _our_key(app)
    if claims.get("exp") == -1:
        claims = {**claims, "exp": int(utcnow().timestamp()) - 1}
    headers = {"kid": our_kid if kid is OURS else kid} if kid is not None else None
    assert not _refused(app, jwt.encode(_claims(), our_secret, "HS256", {"kid": our_kid})), "the control must pass"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # a forger does not mind short keys
        forged = jwt.encode(_claims(**claims), our_secret if key is OURS else key, algorithm, headers)
    assert _refused(app, forged)


@pytest.mark.parametrize("token", ["not.a.jwt", "", "a.b", "eyJhbGciOiJIUzI1NiJ9..", "\u4e2d.\u6587.x"])
def test_garbage_tokens_are_refused(app, token):
    assert _refused(app, token)


def test_rs256_tokens_are_refused_however_they_are_signed(app):
    kid, _ = _our_key(app)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert _refused(app, jwt.encode(_claims(), private, "RS256", {"kid": kid}))
    # The classic confusion: a token that says RS256 but is HMAC-signed with the public key's bytes.
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = base64url_encode(json.dumps({"alg": "RS256", "kid": kid, "typ": "JWT"}).encode())
    payload = base64url_encode(json.dumps(_claims()).encode())
    signature = base64url_encode(hmac.new(pem, header + b"." + payload, hashlib.sha256).digest())
    assert _refused(app, (header + b"." + payload + b"." + signature).decode())


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        (None, 401, "unauthorized"),
        ("Bearer", 401, "unauthorized"),
        ("Basic dXNlcjpwYXNz", 401, "unauthorized"),
        ("Bearer not-a-token", 401, "unauthorized"),
    ],
)
def test_endpoints_refuse_missing_or_bad_tokens(client, header, status, code):
    response = client.get(OFFICERS_URL, headers={"Authorization": header} if header else {})
    assert response.status_code == status
    assert response.get_json()["code"] == code


def test_worker_token_on_an_officer_endpoint_is_forbidden(app, client, worker):
    _, headers = worker
    response = client.get(OFFICERS_URL, headers=headers)
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_a_worker_token_naming_nobody_is_unauthorized(app, client):
    """A token outlives its person only until the next request: an erased (or unknown) worker is signed out."""
    with app.test_request_context():
        token, _ = issue_access_token("worker", 1)
    response = client.get("/api/v1/me/applications", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


def test_key_rotation_keeps_everyone_signed_in(make_app, make_officer, province):
    officer, _ = make_officer(province, "admin")
    before = make_app(jwt_keys=(OLD_KEY,))
    with before.test_request_context():
        old_token, _ = issue_access_token("officer", officer.id)

    during = make_app(jwt_keys=(NEW_KEY, OLD_KEY))  # the new key signs, both verify
    with during.test_request_context():
        new_token, _ = issue_access_token("officer", officer.id)
    assert jwt.get_unverified_header(new_token)["kid"] == NEW_KEY[0]
    for token in (old_token, new_token):
        response = during.test_client().get(OFFICERS_URL, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.get_json()

    after = make_app(jwt_keys=(NEW_KEY,))  # the old key is retired
    client = after.test_client()
    assert client.get(OFFICERS_URL, headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    assert client.get(OFFICERS_URL, headers={"Authorization": f"Bearer {old_token}"}).status_code == 401


def test_default_key_is_derived_from_the_secret_key(make_app):
    one = make_app(secret_key="a" * 40)
    two = make_app(secret_key="b" * 40)
    with one.test_request_context():
        token, _ = issue_access_token("worker", 1)
    assert _refused(two, token)
    assert not _refused(one, token)
