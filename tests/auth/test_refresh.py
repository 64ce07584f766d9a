"""Refresh tokens: opaque, stored hashed, single use, rotated; a replayed one revokes its whole family."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from app.auth.models import RefreshToken
from tests.auth.support import sign_in_by_sms

REFRESH_URL = "/api/v1/auth/refresh"
LOGIN_URL = "/api/v1/officers/login"


def refresh(client, token):
    return client.post(REFRESH_URL, json={"refresh_token": token})


def assert_token_invalid(response):
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_invalid"


def test_refresh_rotates_the_token(client, inbox, session):
    first = sign_in_by_sms(client, inbox, "13912345678")
    assert len(first["refresh_token"]) >= 43  # 256 bits, URL-safe base64
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200
    body = second.get_json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    stored = session.scalars(sa.select(RefreshToken.token_hash)).all()
    assert first["refresh_token"] not in stored and body["refresh_token"] not in stored
    assert hashlib.sha256(body["refresh_token"].encode()).hexdigest() in stored


def test_replayed_token_revokes_the_whole_family(client, inbox, session):
    stolen = sign_in_by_sms(client, inbox, "13912345678")["refresh_token"]
    legit = refresh(client, stolen).get_json()["refresh_token"]
    assert_token_invalid(refresh(client, stolen))  # the thief (or the victim) replays it
    assert_token_invalid(refresh(client, legit))  # … and the family is gone for everybody
    assert session.scalar(sa.select(sa.func.count()).where(RefreshToken.revoked_at.is_(None))) == 0


def test_other_sessions_survive_a_revoked_family(client, inbox, clock):
    phone = "13912345678"
    one = sign_in_by_sms(client, inbox, phone)["refresh_token"]
    clock.advance(61)
    two = sign_in_by_sms(client, inbox, phone)["refresh_token"]  # another device
    refresh(client, one)
    assert_token_invalid(refresh(client, one))
    assert refresh(client, two).status_code == 200


def test_unknown_token_is_invalid(client):
    assert_token_invalid(refresh(client, "x" * 43))


def test_worker_refresh_token_expires_after_thirty_days(client, inbox, clock):
    token = sign_in_by_sms(client, inbox, "13912345678")["refresh_token"]
    clock.advance(30 * 24 * 3600 + 1)
    assert_token_invalid(refresh(client, token))


def test_officer_refresh_gives_officer_tokens_and_stops_when_deactivated(client, session, province, make_officer):
    officer, _ = make_officer(province, "reviewer", password="correct-horse-battery")
    tokens = client.post(LOGIN_URL, json={"username": officer.username, "password": "correct-horse-battery"}).get_json()
    renewed = refresh(client, tokens["refresh_token"])
    assert renewed.status_code == 200
    assert renewed.get_json()["expires_in"] == 1800
    officer.active = False
    session.commit()
    assert_token_invalid(refresh(client, renewed.get_json()["refresh_token"]))


def test_officer_refresh_token_expires_after_twelve_hours(client, province, make_officer, clock):
    officer, _ = make_officer(province, "viewer", password="correct-horse-battery")
    tokens = client.post(LOGIN_URL, json={"username": officer.username, "password": "correct-horse-battery"}).get_json()
    clock.advance(12 * 3600 + 1)
    assert_token_invalid(refresh(client, tokens["refresh_token"]))


def test_expired_tokens_are_dropped_at_the_next_sign_in(client, inbox, session, clock):
    sign_in_by_sms(client, inbox, "13912345678")
    clock.advance(31 * 24 * 3600)
    sign_in_by_sms(client, inbox, "13912345678")
    assert session.scalar(sa.select(sa.func.count()).select_from(RefreshToken)) == 1
