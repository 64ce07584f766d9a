"""Fixtures for memberships: members made through the API (apply, then an officer approves)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from tests.conftest import form, id_number


@pytest.fixture
def app_config(app_config, fake_aliyun):
    """Membership SMS leave through the fake Aliyun gateway."""
    return {**app_config, **fake_aliyun.settings()}


@dataclass
class Member:
    person_id: int
    headers: dict[str, str]
    application_id: str
    membership_id: str
    member_no: str
    serial: int


@pytest.fixture
def reviewer(nanjing, make_officer):
    """A reviewer of the city federation (南京市总工会): its subtree holds every Nanjing union."""
    return make_officer(nanjing.city, "reviewer")


@pytest.fixture
def make_member(client, nanjing, make_worker, reviewer):
    """``make_member(**form changes)`` → a ``Member``: a new worker applied and was approved."""
    serials = itertools.count(101)

    def make(**changes) -> Member:
        n = next(serials)
        person, headers = make_worker(f"1381234{n:04d}")
        body = form(nanjing, id_number=id_number(n), **changes)
        created = client.post("/api/v1/applications", json=body, headers=headers)
        assert created.status_code == 201, created.get_json()
        application_id = created.get_json()["id"]
        decided = client.post(
            f"/api/v1/review/applications/{application_id}/decision", json={"action": "approve"}, headers=reviewer[1]
        )
        assert decided.status_code == 200, decided.get_json()
        mine = client.get("/api/v1/me/membership", headers=headers)
        assert mine.status_code == 200, mine.get_json()
        return Member(person.id, headers, application_id, mine.get_json()["id"], mine.get_json()["member_no"], n)

    return make


@pytest.fixture
def change_status(client, reviewer):
    """``change_status(member, to, reason)``: the reviewer sets a membership's status through the API (200)."""

    def change(member: Member, to: str, reason: str) -> None:
        response = client.post(
            f"/api/v1/review/memberships/{member.membership_id}/status",
            json={"status": to, "reason": reason},
            headers=reviewer[1],
        )
        assert response.status_code == 200, response.get_json()

    return change
