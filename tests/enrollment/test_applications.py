"""From a join code to a pending application: routing, identity rules, conflicts, idempotency, privacy."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from app.db import utcnow
from app.enrollment import service as enrollment_service
from app.enrollment.identity import check_character
from app.enrollment.models import Application, Identity, Membership
from app.joincodes.models import JoinCode
from tests.conftest import VALID_ID, form

# Born 1 January 2013: a valid number, but not yet 16.
YOUNG_ID = "32010220130101123" + check_character("32010220130101123")


def _count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_submit_lands_pending_with_the_routed_union(client, session, nanjing, worker):
    _, headers = worker
    response = client.post("/api/v1/applications", json=form(nanjing), headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending"
    assert body["union"] == {"id": str(nanjing.express.id), "name": "南京市快递行业工会联合会", "kind": "industry"}
    assert body["route"]["rule"] == "industry"
    assert body["route"]["reasons"], "the worker is told why"
    assert body["station"]["name"] == "示例速运玄武点部"
    assert body["employer"]["name"] == "示例速运南京分公司"
    assert body["name_masked"] == "张*"
    assert body["id_number_masked"] == "110105********002X"
    assert body["version"] == 1
    assert "member_no" not in body and "decision_reason" not in body
    assert VALID_ID not in response.get_data(as_text=True)
    assert "张三" not in response.get_data(as_text=True)

    stored = session.get(Application, int(body["id"]))
    assert stored.union_id == nanjing.express.id and stored.union_path == nanjing.express.path
    assert stored.join_code_id == nanjing.code.id
    assert stored.due_at > stored.submitted_at + dt.timedelta(days=18)  # 15 working days ≥ 3 weeks


def test_an_id_number_issued_under_a_retired_region_code_is_accepted(client, session, nanjing, worker):
    # 320602 was 崇川区's code until 2020; it is no longer on the region list, but an ID number keeps it.
    old_region_id = "32060219850317004" + check_character("32060219850317004")
    response = client.post("/api/v1/applications", json=form(nanjing, id_number=old_region_id), headers=worker[1])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["id_number_masked"] == "320602********0041"
    assert _count(session, Identity) == 1


def test_station_without_employer_takes_the_workers_employer_name(client, nanjing, worker):
    body = form(
        nanjing, join_token=nanjing.rider_code.token, occupation="food_delivery_rider", employer_name=" 某外卖平台 "
    )
    response = client.post("/api/v1/applications", json=body, headers=worker[1])
    assert response.status_code == 201
    created = response.get_json()
    assert created["employer"] is None and created["employer_name"] == "某外卖平台"
    assert created["union"]["id"] == str(nanjing.xuanwu.id)
    assert created["route"]["rule"] == "fallback"


@pytest.mark.parametrize(
    ("changes", "field", "message_part"),
    [
        ({"full_name": "张"}, "full_name", "2 到 30"),
        ({"full_name": "张3"}, "full_name", "汉字"),
        ({"id_number": "110105194912310021"}, "id_number", "校验位"),
        ({"id_number": "11010520301231002X"}, "id_number", "出生日期"),
        ({"id_number": YOUNG_ID}, "id_number", "16"),
        ({"consent_version": "2025-01"}, "consent_version", "入会须知"),
        ({"occupation": "astronaut"}, "occupation", "职业"),
        ({"employment_form": "gig"}, "employment_form", "用工形式"),
    ],
)
def test_identity_rules_answer_422_with_the_field_named(client, session, nanjing, worker, changes, field, message_part):
    body = form(nanjing, **changes)
    response = client.post("/api/v1/applications", json=body, headers=worker[1])
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["code"] == "validation_error"
    assert any(message_part in message for message in payload["errors"][field])
    assert _count(session, Application) == 0
    assert _count(session, Identity) == 0


def test_lower_case_x_is_the_same_person(client, session, nanjing, make_worker):
    first = client.post("/api/v1/applications", json=form(nanjing), headers=make_worker("13900000001")[1])
    assert first.status_code == 201
    second = client.post(
        "/api/v1/applications", json=form(nanjing, id_number=VALID_ID.lower()), headers=make_worker("13900000002")[1]
    )
    assert second.status_code == 409
    assert second.get_json()["code"] == "application_open"
    assert _count(session, Identity) == 1


@pytest.mark.parametrize(
    ("token_change", "status", "code"),
    [
        ("revoked", 410, "join_code_revoked"),
        ("expired", 410, "join_code_expired"),
        ("unknown", 404, "join_code_not_found"),
    ],
)
def test_dead_join_codes(client, session, nanjing, worker, token_change, status, code):
    join_code = session.get(JoinCode, nanjing.code.id)
    token = join_code.token
    if token_change == "revoked":
        join_code.revoked_at = utcnow()
    elif token_change == "expired":
        join_code.expires_at = utcnow() - dt.timedelta(minutes=1)
    else:
        token = "A" * 22
    session.commit()
    response = client.post("/api/v1/applications", json=form(nanjing, join_token=token), headers=worker[1])
    assert response.status_code == status
    assert response.get_json()["code"] == code
    assert _count(session, Application) == 0


def test_an_active_member_is_told_which_union_and_may_transfer(client, session, nanjing, make_worker, app):
    _, headers = make_worker("13900000011")
    created = client.post("/api/v1/applications", json=form(nanjing), headers=headers).get_json()
    with app.app_context():
        application = session.get(Application, int(created["id"]))
        application.status = "approved"
        first = enrollment_service.grant_membership(session, application, utcnow())
        session.commit()
    member_no = first.member_no

    again = client.post("/api/v1/applications", json=form(nanjing), headers=headers)
    assert again.status_code == 409
    assert again.get_json()["code"] == "already_member"
    assert again.get_json()["union"]["name"] == "南京市快递行业工会联合会"

    # Moving to Suzhou: a transfer application, routed like any other.
    moved = client.post(
        "/api/v1/applications", json=form(nanjing, join_token=nanjing.suzhou_code.token, transfer=True), headers=headers
    )
    assert moved.status_code == 201
    assert moved.get_json()["is_transfer"] is True
    assert moved.get_json()["union"]["id"] == str(nanjing.suzhou.id)

    with app.app_context():
        transfer = session.get(Application, int(moved.get_json()["id"]))
        transfer.status = "approved"
        second = enrollment_service.grant_membership(session, transfer, utcnow())
        session.commit()
    memberships = session.scalars(sa.select(Membership).order_by(Membership.id)).all()
    assert [(m.status, m.member_no) for m in memberships] == [("transferred_out", member_no), ("active", member_no)]
    session.expire_all()
    granting = [session.get(Application, m.application_id).membership_active for m in memberships]
    assert granting == [False, True], "coverage counts the member once, where the active membership is"
    assert second.union_id == nanjing.suzhou.id
    assert member_no.startswith("320100" + str(utcnow().year))


def test_same_key_same_body_is_one_application(client, session, nanjing, worker):
    headers = {**worker[1], "Idempotency-Key": "retry-0001-abcdef"}
    first = client.post("/api/v1/applications", json=form(nanjing), headers=headers)
    second = client.post("/api/v1/applications", json=form(nanjing), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert _count(session, Application) == 1

    different = client.post("/api/v1/applications", json=form(nanjing, employment_form="contract"), headers=headers)
    assert different.status_code == 422
    assert different.get_json()["code"] == "idempotency_key_reused"
    assert _count(session, Application) == 1


@pytest.mark.parametrize("key", ["short", "x" * 129, "has space here", "中文的幂等键值abc"])
def test_malformed_idempotency_keys_are_422(client, session, nanjing, worker, key):
    headers = {**worker[1], "Idempotency-Key": key}
    response = client.post("/api/v1/applications", json=form(nanjing), headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["errors"]
    assert _count(session, Application) == 0


@pytest.mark.postgres
def test_racing_identical_submits_create_one_application(app, session, nanjing, worker):
    headers = {**worker[1], "Idempotency-Key": "race-0001-abcdef"}
    results: list[tuple[int, dict[str, object]]] = []
    barrier = threading.Barrier(6)

    def submit():
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/applications", json=form(nanjing), headers=headers)
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
    assert _count(session, Application) == 1


@pytest.mark.postgres
def test_racing_submits_without_a_key_still_make_one_open_application(app, session, nanjing, make_worker):
    phones = [f"1390000{n:04d}" for n in range(6)]
    workers = [make_worker(phone)[1] for phone in phones]
    statuses: list[int] = []
    barrier = threading.Barrier(len(workers))

    def submit(headers):
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/api/v1/applications", json=form(nanjing), headers=headers).status_code)

    threads = [threading.Thread(target=submit, args=(h,)) for h in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 5
    assert _count(session, Application) == 1


def test_officers_and_anonymous_cannot_submit(client, nanjing, make_officer):
    assert client.post("/api/v1/applications", json=form(nanjing)).status_code == 401
    _, officer = make_officer(nanjing.city, "admin")
    response = client.post("/api/v1/applications", json=form(nanjing), headers=officer)
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [None, [], "text", {"join_token": 5}, {**dict.fromkeys(["full_name", "id_number"], None)}, {"transfer": "maybe"}],
)
def test_malformed_bodies_are_422_and_change_nothing(client, session, nanjing, worker, body):
    response = client.post("/api/v1/applications", json=body, headers=worker[1])
    assert response.status_code in (400, 422)
    assert response.get_json()["code"] in ("validation_error", "bad_request")
    assert _count(session, Application) == 0
