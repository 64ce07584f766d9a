"""An identity (ID number) is bound to the phone that first proved it: no takeover, no oracle (issue 13, item 2)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.db import utcnow
from app.enrollment import service as enrollment_service
from app.enrollment.models import Application, Identity, Membership
from tests.auth.support import ConsoleInbox, request_code
from tests.conftest import VALID_ID, form, id_number

APPLY = "/api/v1/applications"
REBIND = "/api/v1/me/identity/rebind"
IN_USE = "该身份证号码已登记，请使用原登记手机号办理，或到工会现场核验"
OWNER, OTHER = "13900000011", "13900000022"


@pytest.fixture
def inbox(capsys):
    return ConsoleInbox(capsys)


@pytest.fixture
def member(app, client, session, nanjing, make_worker):
    """The owner's phone filed first and was approved: a member of 南京市快递行业工会联合会."""
    _, headers = make_worker(OWNER)
    created = client.post(APPLY, json=form(nanjing), headers=headers)
    assert created.status_code == 201, created.get_json()
    with app.app_context():
        application = session.get(Application, int(created.get_json()["id"]))
        application.status = "approved"
        enrollment_service.grant_membership(session, application, utcnow())
        session.commit()
    return headers


def _assert_reveals_nothing(response) -> None:
    assert response.status_code == 409, response.get_json()
    body = response.get_json()
    assert set(body) == {"code", "message", "request_id"}
    assert (body["code"], body["message"]) == ("identity_in_use", IN_USE)


@pytest.mark.parametrize(
    "changes",
    [{"transfer": True}, {}, {"full_name": "李四"}, {"id_number": VALID_ID.lower(), "transfer": True}],
    ids=["transfer", "plain", "wrong-name", "lower-case-x"],
)
def test_another_phone_with_name_and_id_gets_identity_in_use(client, session, nanjing, make_worker, member, changes):
    _, other = make_worker(OTHER)
    response = client.post(APPLY, json=form(nanjing, join_token=nanjing.suzhou_code.token, **changes), headers=other)
    _assert_reveals_nothing(response)
    assert session.scalar(sa.select(sa.func.count()).select_from(Application)) == 1
    assert client.get("/api/v1/me/membership", headers=other).status_code == 404


def test_an_open_application_is_not_revealed_to_another_phone(client, session, nanjing, make_worker):
    assert client.post(APPLY, json=form(nanjing), headers=make_worker(OWNER)[1]).status_code == 201
    _assert_reveals_nothing(client.post(APPLY, json=form(nanjing), headers=make_worker(OTHER)[1]))
    _assert_reveals_nothing(client.post(APPLY, json=form(nanjing, full_name="王五"), headers=make_worker(OTHER)[1]))


def test_already_member_and_application_open_answer_the_bound_phone(client, nanjing, member):
    again = client.post(APPLY, json=form(nanjing), headers=member)
    assert again.status_code == 409
    assert again.get_json()["code"] == "already_member"
    assert again.get_json()["union"]["name"] == "南京市快递行业工会联合会"
    # The bound phone may still move its own membership (a transfer application).
    moved = client.post(APPLY, json=form(nanjing, join_token=nanjing.suzhou_code.token, transfer=True), headers=member)
    assert moved.status_code == 201
    assert client.post(APPLY, json=form(nanjing), headers=member).get_json()["code"] == "application_open"


def test_one_phone_tries_at_most_three_id_numbers_a_day(client, session, nanjing, make_worker):
    owners = [make_worker(f"1380000{n:04d}")[1] for n in range(5)]
    numbers = [id_number(n) for n in range(5)]
    for headers, number in zip(owners, numbers, strict=True):
        assert client.post(APPLY, json=form(nanjing, id_number=number), headers=headers).status_code == 201
    _, prober = make_worker(OTHER)
    for number in numbers[:3]:
        _assert_reveals_nothing(client.post(APPLY, json=form(nanjing, id_number=number), headers=prober))
    # The same number again is not a new attempt.
    _assert_reveals_nothing(client.post(APPLY, json=form(nanjing, id_number=numbers[0]), headers=prober))
    refused = client.post(APPLY, json=form(nanjing, id_number=numbers[3]), headers=prober)
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "identity_attempts_exceeded"
    assert int(refused.headers["Retry-After"]) > 3600
    # A malformed number is not an attempt; other phones are not affected.
    assert client.post(APPLY, json=form(nanjing, id_number="123"), headers=owners[0]).status_code == 422
    assert session.scalar(sa.select(sa.func.count()).select_from(Identity)) == 5


@pytest.mark.parametrize("ratelimit_backend", ["redis"], indirect=True)
def test_the_attempt_limit_holds_across_processes(nanjing, make_worker, make_app, ratelimit_backend):
    """Two app processes on the shared (Redis) storage count one phone's attempts together."""
    first, second = (make_app(**ratelimit_backend).test_client() for _ in range(2))
    _, prober = make_worker(OTHER)
    for index, number in enumerate(id_number(n) for n in range(10, 13)):
        response = (first if index % 2 else second).post(APPLY, json=form(nanjing, id_number=number), headers=prober)
        assert response.status_code == 201, response.get_json()
    refused = first.post(APPLY, json=form(nanjing, id_number=id_number(13)), headers=prober)
    assert refused.status_code == 429 and refused.get_json()["code"] == "identity_attempts_exceeded"


def _codes(client, inbox, *phones):
    challenges = []
    for phone in phones:
        response = request_code(client, phone)
        assert response.status_code == 202, response.get_json()
        challenges.append((response.get_json()["challenge_id"], inbox.code_for(phone)))
    return challenges


def test_a_member_moves_to_a_new_phone_by_proving_both_numbers(client, session, nanjing, make_worker, member, inbox):
    _, new_phone = make_worker(OTHER)
    (old_id, old_code), (new_id, new_code) = _codes(client, inbox, OWNER, OTHER)
    body = {
        "id_number": VALID_ID,
        "old_challenge_id": old_id,
        "old_code": old_code,
        "new_challenge_id": new_id,
        "new_code": new_code,
    }

    wrong = client.post(
        REBIND, json={**body, "old_code": "000000" if old_code != "000000" else "111111"}, headers=new_phone
    )
    assert wrong.status_code == 400
    assert wrong.get_json()["code"] == "otp_invalid"
    assert client.get("/api/v1/me/membership", headers=new_phone).status_code == 404

    moved = client.post(REBIND, json=body, headers=new_phone)
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["phone_masked"] == "139****0022"
    assert VALID_ID not in moved.get_data(as_text=True)

    card = client.get("/api/v1/me/membership", headers=new_phone)
    assert card.status_code == 200 and card.get_json()["union"]["name"] == "南京市快递行业工会联合会"
    assert client.get("/api/v1/me/membership", headers=member).status_code == 404
    assert len(client.get("/api/v1/me/applications", headers=new_phone).get_json()["items"]) == 1
    assert client.get("/api/v1/me/applications", headers=member).get_json()["items"] == []
    # The identity now answers to the new phone only.
    assert client.post(APPLY, json=form(nanjing), headers=new_phone).get_json()["code"] == "already_member"
    _assert_reveals_nothing(client.post(APPLY, json=form(nanjing), headers=member))
    # The codes were used up.
    assert client.post(REBIND, json=body, headers=new_phone).status_code == 410
    assert session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 1


def test_rebinding_needs_the_phone_the_identity_is_bound_to(client, nanjing, make_worker, member, inbox):
    _, new_phone = make_worker(OTHER)
    third = "13900000033"
    (old_id, old_code), (new_id, new_code) = _codes(client, inbox, third, OTHER)
    body = {
        "id_number": VALID_ID,
        "old_challenge_id": old_id,
        "old_code": old_code,
        "new_challenge_id": new_id,
        "new_code": new_code,
    }
    refused = client.post(REBIND, json=body, headers=new_phone)
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "rebind_refused"
    assert client.get("/api/v1/me/membership", headers=new_phone).status_code == 404

    # The new number's code must be the signed-in phone's own.
    (a_id, a_code), (b_id, b_code) = _codes(client, inbox, OWNER, "13900000044")
    body = {
        "id_number": VALID_ID,
        "old_challenge_id": a_id,
        "old_code": a_code,
        "new_challenge_id": b_id,
        "new_code": b_code,
    }
    wrong_phone = client.post(REBIND, json=body, headers=new_phone)
    assert wrong_phone.status_code == 422
    assert "new_challenge_id" in wrong_phone.get_json()["errors"]
