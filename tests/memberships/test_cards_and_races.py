"""The member card per status, and officers racing on one membership."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app.enrollment.models import Membership, MembershipHistory
from app.notify.models import OutboxMessage
from tests.conftest import form, id_number
from tests.memberships.test_transitions import _reach


@pytest.mark.parametrize(
    ("status", "valid"),
    [("active", True), ("retained", True), ("withdrawn", False), ("removed", False), ("transferred_out", False)],
)
def test_the_card_answers_per_status(client, session, nanjing, make_member, reviewer, status, valid):
    member = make_member()
    token = client.get("/api/v1/me/membership", headers=member.headers).get_json()["card_token"]
    _reach(client, session, nanjing, member, reviewer, status)
    checked = client.get(f"/api/v1/cards/{token}")
    page = client.get(f"/api/v1/cards/{token}", headers={"Accept": "text/html"})
    if valid:
        assert checked.status_code == 200, checked.get_json()
        assert (checked.get_json()["status"], checked.get_json()["member_no"]) == (status, member.member_no)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert ("有效会员（保留会籍）" in html) is (status == "retained")
        assert "有效会员" in html
    else:
        assert checked.status_code == 404 and checked.get_json()["code"] == "card_not_found"
        assert page.status_code == 404 and "无法核验" in page.get_data(as_text=True)
    # The card page of the worker's own browser follows the same rule.
    mine = client.get("/api/v1/me/membership", headers=member.headers).get_json()
    if status == "transferred_out":
        assert mine["status"] == "active" and mine["card_token"]  # the new membership's card
    else:
        assert mine["status"] == status and bool(mine["card_token"]) is valid


@pytest.mark.postgres
def test_racing_officers_on_one_membership_make_one_change(app, session, nanjing, make_member, make_officer):
    member = make_member()
    officers = [make_officer(nanjing.city, "reviewer")[1] for _ in range(4)]
    version = session.get(Membership, int(member.membership_id)).version
    barrier = threading.Barrier(len(officers))
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def change(headers, status):
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/review/memberships/{member.membership_id}/status",
            json={"status": status, "reason": "核实"},
            headers={**headers, "If-Match": str(version)},
        )
        with lock:
            results.append((response.status_code, response.get_json().get("code")))

    statuses = ["retained", "removed", "retained", "removed"]
    threads = [threading.Thread(target=change, args=(h, s)) for h, s in zip(officers, statuses, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results, key=str) == sorted([(200, None)] + [(409, "stale_version")] * 3, key=str)
    session.expire_all()
    entries = session.scalars(
        sa.select(MembershipHistory.to_status).where(MembershipHistory.membership_id == int(member.membership_id))
    ).all()
    assert len(entries) == 2 and entries[0] == "active"
    assert session.get(Membership, int(member.membership_id)).status == entries[1]
    notices = session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.template == "membership_status")
    )
    assert notices == 1


@pytest.mark.postgres
def test_a_withdrawal_racing_a_removal_ends_in_one_status(
    app, client, session, nanjing, make_member, reviewer, make_officer
):
    """The member leaves while an officer removes them: one of the two wins, with one history entry."""
    member = make_member()
    barrier = threading.Barrier(2)
    results: list[int] = []

    def withdraw():
        own = app.test_client()
        barrier.wait()
        results.append(
            own.post("/api/v1/me/membership/withdraw", json={"reason": "离开"}, headers=member.headers).status_code
        )

    def remove():
        own = app.test_client()
        barrier.wait()
        response = own.post(
            f"/api/v1/review/memberships/{member.membership_id}/status",
            json={"status": "removed", "reason": "违纪"},
            headers=reviewer[1],
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=withdraw), threading.Thread(target=remove)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409]
    session.expire_all()
    count = session.scalar(
        sa.select(sa.func.count())
        .select_from(MembershipHistory)
        .where(MembershipHistory.membership_id == int(member.membership_id))
    )
    assert count == 2
    # And the number is still the identity's: joining again gives it back.
    body = form(nanjing, id_number=id_number(member.serial))
    assert client.post("/api/v1/applications", json=body, headers=member.headers).status_code == 201
