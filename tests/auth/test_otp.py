"""Phone sign-in: challenge → code from the console log → tokens, and every way a code is refused."""

from __future__ import annotations

import sqlalchemy as sa

from app.auth.models import OtpChallenge, Person, RefreshToken
from app.auth.tokens import decode_access_token
from tests.auth.support import OTP_URL, request_code, sign_in_by_sms, verify

PHONE = "13912345678"


def test_phone_goes_challenge_code_tokens(app, client, inbox, session):
    challenge = request_code(client, "+86 139-1234-5678")
    assert challenge.status_code == 202
    body = challenge.get_json()
    assert set(body) == {"challenge_id", "expires_in", "resend_after"}
    assert body["expires_in"] == 300 and body["resend_after"] == 60

    code = inbox.code_for(PHONE)  # what a developer reads in the log
    response = verify(client, body["challenge_id"], code)
    assert response.status_code == 200
    tokens = response.get_json()
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 15 * 60

    person = session.scalars(sa.select(Person)).one()
    assert person.phone_masked == "139****5678"
    with app.test_request_context():
        claims = decode_access_token(tokens["access_token"])
    assert claims["kind"] == "worker" and claims["sub"] == str(person.id)


def test_the_phone_is_not_stored_readable(client, inbox, session):
    sign_in_by_sms(client, inbox, PHONE)
    for table in ("persons", "otp_challenges"):
        rows = session.execute(sa.text(f"SELECT * FROM {table}")).all()  # noqa: S608  # fixed table names
        assert rows and PHONE not in repr(rows)


def test_a_second_sign_in_finds_the_same_person(client, inbox, session, clock):
    sign_in_by_sms(client, inbox, PHONE)
    clock.advance(61)
    sign_in_by_sms(client, inbox, "+8613912345678")
    assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(RefreshToken)) == 2


def test_wrong_code_counts_down_then_locks_the_challenge(client, inbox, session):
    challenge_id = request_code(client, PHONE).get_json()["challenge_id"]
    right = inbox.code_for(PHONE)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for remaining in (4, 3, 2, 1, 0):
        response = verify(client, challenge_id, wrong)
        assert response.status_code == 400
        body = response.get_json()
        assert body["code"] == "otp_invalid" and body["remaining_attempts"] == remaining
    locked = verify(client, challenge_id, right)  # even the right code: the challenge is dead
    assert locked.status_code == 429
    assert locked.get_json()["code"] == "otp_locked"
    assert int(locked.headers["Retry-After"]) > 0
    assert session.get(OtpChallenge, challenge_id).failed_attempts == 5
    assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


def test_a_code_is_single_use(client, inbox):
    challenge_id = request_code(client, PHONE).get_json()["challenge_id"]
    code = inbox.code_for(PHONE)
    assert verify(client, challenge_id, code).status_code == 200
    again = verify(client, challenge_id, code)
    assert again.status_code == 410
    assert again.get_json()["code"] == "otp_expired"


def test_a_code_expires_after_five_minutes(client, inbox, clock):
    first = request_code(client, PHONE).get_json()["challenge_id"]
    first_code = inbox.code_for(PHONE)
    clock.advance(299)
    assert verify(client, first, f"{(int(first_code) + 1) % 1_000_000:06d}").status_code == 400  # still alive
    clock.advance(2)
    expired = verify(client, first, first_code)
    assert expired.status_code == 410
    assert expired.get_json()["code"] == "otp_expired"


def test_a_code_is_bound_to_its_own_challenge(client, inbox, clock):
    first = request_code(client, PHONE).get_json()["challenge_id"]
    first_code = inbox.code_for(PHONE)
    clock.advance(61)
    other = request_code(client, "13712345678").get_json()["challenge_id"]
    other_code = inbox.code_for("13712345678")
    if other_code != first_code:  # one in a million they coincide
        assert verify(client, first, other_code).status_code == 400
    assert verify(client, other, other_code).status_code == 200


def test_unknown_challenge_is_expired(client):
    response = verify(client, "no-such-challenge", "123456")
    assert response.status_code == 410
    assert response.get_json()["code"] == "otp_expired"


def test_answer_does_not_say_whether_a_phone_is_known(client, inbox, clock):
    sign_in_by_sms(client, inbox, PHONE)
    clock.advance(61)
    known = request_code(client, PHONE)
    unknown = request_code(client, "13612345678")
    assert known.status_code == unknown.status_code == 202
    assert set(known.get_json()) == set(unknown.get_json())
    assert {k: v for k, v in known.get_json().items() if k != "challenge_id"} == {
        k: v for k, v in unknown.get_json().items() if k != "challenge_id"
    }


def test_codes_are_six_digits_and_vary(client, inbox, clock):
    codes = set()
    for n in range(8):
        phone = f"1361234{n:04d}"
        request_code(client, phone)
        codes.add(inbox.code_for(phone))
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 1


def test_invalid_phone_is_422_and_sends_nothing(client, inbox):
    for phone in ("12345", "14012345678", "+85212345678", "１３８１２３４５６７８"):
        response = client.post(OTP_URL, json={"phone": phone})
        assert response.status_code == 422, phone
        assert response.get_json()["errors"] == {"phone": ["请输入正确的中国大陆手机号"]}
    assert inbox.read() == []


def test_expired_challenges_are_cleaned_up(client, inbox, session, clock):
    request_code(client, PHONE)
    clock.advance(2 * 24 * 3600)
    request_code(client, "13712345678")
    assert session.scalar(sa.select(sa.func.count()).select_from(OtpChallenge)) == 1


def test_number_on_tencents_do_not_disturb_list_is_422(fake_tencent, make_app):
    fake_tencent.blocked.add(PHONE)
    response = request_code(make_app(**fake_tencent.settings()).test_client(), PHONE)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"phone": ["无法向该号码发送短信，请换一个号码"]}
