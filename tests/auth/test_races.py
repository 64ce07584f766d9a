"""Parallel requests cannot beat the single-use and five-tries rules (on SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter

import sqlalchemy as sa

from app.auth.models import OtpChallenge, RefreshToken
from tests.auth.support import request_code, sign_in_by_sms, verify


def _in_parallel(app, count, call):
    """Run ``call(client)`` from ``count`` threads released together; returns the responses."""
    barrier = threading.Barrier(count)
    responses = [None] * count

    def run(index):
        client = app.test_client()
        barrier.wait()
        responses[index] = call(client)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


def test_parallel_wrong_codes_get_five_tries_at_most(app, client, inbox, session):
    challenge_id = request_code(client, "13912345678").get_json()["challenge_id"]
    right = inbox.code_for("13912345678")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    responses = _in_parallel(app, 12, lambda c: verify(c, challenge_id, wrong))
    codes = Counter(r.get_json()["code"] for r in responses)
    assert codes["otp_invalid"] == 5 and codes["otp_locked"] == 7, codes
    remaining = sorted(r.get_json()["remaining_attempts"] for r in responses if r.status_code == 400)
    assert remaining == [0, 1, 2, 3, 4]
    assert session.get(OtpChallenge, challenge_id).failed_attempts == 5


def test_parallel_use_of_one_code_signs_in_once(app, client, inbox, session):
    challenge_id = request_code(client, "13912345678").get_json()["challenge_id"]
    code = inbox.code_for("13912345678")
    responses = _in_parallel(app, 6, lambda c: verify(c, challenge_id, code))
    assert sorted(r.status_code for r in responses) == [200, 410, 410, 410, 410, 410]
    assert session.scalar(sa.select(sa.func.count()).select_from(RefreshToken)) == 1


def test_parallel_refresh_with_one_token_succeeds_once_and_revokes_the_family(app, client, inbox, session):
    token = sign_in_by_sms(client, inbox, "13912345678")["refresh_token"]
    responses = _in_parallel(app, 4, lambda c: c.post("/api/v1/auth/refresh", json={"refresh_token": token}))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 401, 401, 401]
    assert session.scalar(sa.select(sa.func.count()).where(RefreshToken.revoked_at.is_(None))) == 0
