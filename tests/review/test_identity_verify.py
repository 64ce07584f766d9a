"""An officer who checked the person in place moves the identity to that person's phone (issue 13, item 2)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.enrollment.models import Application, Identity
from tests.auth.support import ConsoleInbox, request_code
from tests.conftest import VALID_ID, form

APPLY = "/api/v1/applications"
SQUATTER, OWNER = "13900000011", "13900000022"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "sms_provider": "console"}  # the codes are read from the console gateway's log


@pytest.fixture
def inbox(capsys):
    return ConsoleInbox(capsys)


@pytest.fixture
def squatted(client, nanjing, make_worker):
    """Another phone filed the owner's ID number first; the owner's own phone is refused."""
    _, squatter = make_worker(SQUATTER)
    created = client.post(APPLY, json=form(nanjing), headers=squatter)
    assert created.status_code == 201
    _, owner = make_worker(OWNER)
    refused = client.post(APPLY, json=form(nanjing), headers=owner)
    assert refused.get_json()["code"] == "identity_in_use"
    return created.get_json(), squatter, owner


def _code_for(client, inbox, phone):
    challenge = request_code(client, phone)
    assert challenge.status_code == 202, challenge.get_json()
    return {"challenge_id": challenge.get_json()["challenge_id"], "code": inbox.code_for(phone)}


def test_an_officer_moves_the_identity_to_the_checked_persons_phone(
    client, session, nanjing, make_officer, squatted, inbox
):
    application, squatter, owner = squatted
    officer, reviewer = make_officer(nanjing.express, "reviewer")
    body = {**_code_for(client, inbox, OWNER), "document": "resident_id_card"}

    response = client.post(f"/api/v1/review/identities/{application['id']}/verify", json=body, headers=reviewer)

    assert response.status_code == 200, response.get_json()
    payload = response.get_json()
    assert payload["phone_masked"] == "139****0022"
    assert payload["identity"]["id_number_masked"] == "110105********002X"
    assert payload["applications_moved"] == 1
    assert VALID_ID not in response.get_data(as_text=True)
    # The owner's phone now holds the identity and its application; the squatter's phone holds nothing.
    assert [item["id"] for item in client.get("/api/v1/me/applications", headers=owner).get_json()["items"]] == [
        application["id"]
    ]
    assert client.get("/api/v1/me/applications", headers=squatter).get_json()["items"] == []
    assert client.post(APPLY, json=form(nanjing), headers=squatter).get_json()["code"] == "identity_in_use"
    assert client.post(APPLY, json=form(nanjing), headers=owner).get_json()["code"] == "application_open"
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "identity.verify_in_person")).one()
    assert (event.actor_kind, event.actor_id, event.object_id) == ("officer", officer.id, application["id"])
    assert event.details["document"] == "resident_id_card"
    assert OWNER not in str(event.details) and VALID_ID not in str(event.details)
    identity = session.scalars(sa.select(Identity)).one()
    assert session.get(Application, int(application["id"])).person_id == identity.person_id


@pytest.mark.parametrize(("role", "union", "status"), [("viewer", "express", 403), ("reviewer", "suzhou", 404)])
def test_only_deciding_officers_in_scope_may_verify(
    client, session, nanjing, make_officer, squatted, inbox, role, union, status
):
    application, squatter, _ = squatted
    _, headers = make_officer(getattr(nanjing, union), role)
    body = {**_code_for(client, inbox, OWNER), "document": "resident_id_card"}
    response = client.post(f"/api/v1/review/identities/{application['id']}/verify", json=body, headers=headers)
    assert response.status_code == status
    assert len(client.get("/api/v1/me/applications", headers=squatter).get_json()["items"]) == 1
    assert (
        session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "identity.verify_in_person")
        )
        == 0
    )


def test_a_wrong_code_moves_nothing(client, nanjing, make_officer, squatted, inbox):
    application, squatter, _ = squatted
    _, reviewer = make_officer(nanjing.express, "reviewer")
    proof = _code_for(client, inbox, OWNER)
    wrong = "000000" if proof["code"] != "000000" else "111111"
    body = {**proof, "code": wrong, "document": "resident_id_card"}
    response = client.post(f"/api/v1/review/identities/{application['id']}/verify", json=body, headers=reviewer)
    assert response.status_code == 400 and response.get_json()["code"] == "otp_invalid"
    assert len(client.get("/api/v1/me/applications", headers=squatter).get_json()["items"]) == 1


def test_approval_refuses_an_application_from_a_phone_the_identity_is_not_bound_to(
    client, session, nanjing, make_officer, make_worker
):
    """A takeover filed before binding existed (the migration binds the identity to its first phone)."""
    owner, _ = make_worker(OWNER)
    _, squatter = make_worker(SQUATTER)
    created = client.post(APPLY, json=form(nanjing), headers=squatter).get_json()
    session.execute(sa.update(Identity).values(person_id=owner.id))
    session.commit()
    _, reviewer = make_officer(nanjing.express, "reviewer")
    response = client.post(
        f"/api/v1/review/applications/{created['id']}/decision", json={"action": "approve"}, headers=reviewer
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "identity_in_use"
    assert session.get(Application, int(created["id"])).status == "pending"
