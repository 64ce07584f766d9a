"""Personal data is not kept for ever (issue 17, item 6): the retention run and the worker's DELETE /me.

The proof is a read of the whole database back as text: every table the database has (the
inspector, not the models), every column cast to text, searched for the erased person's
name, ID number and phone in full, masked, as the blind indexes (HMACs) and request hashes
the app derives from them, and as any sealed value that still opens to one of them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Person, RefreshToken
from app.auth.phones import PHONE_PURPOSE, mask_phone
from app.enrollment import service as enrollment_service
from app.enrollment.identity import mask_id_number, mask_name
from app.enrollment.models import Application, IdempotencyRecord, Identity, Membership, MembershipHistory
from app.enrollment.service import ID_NUMBER_CONTEXT, NAME_CONTEXT, ApplicationForm, request_fingerprint
from app.notify.models import OutboxMessage
from app.privacy import DecryptionError
from tests.auth.support import ConsoleInbox, request_code, verify
from tests.conftest import form, id_number

APPLY = "/api/v1/applications"
ME = "/api/v1/me"
DAY = 86_400
NAME, PHONE, BIRTH = "欧阳娜娜", "13712340001", "19880307"
KEPT_NAME, KEPT_PHONE = "司马相如", "13712340002"
CONTEXTS = (PHONE_PURPOSE, ID_NUMBER_CONTEXT, NAME_CONTEXT, "wechat.access_token")


@pytest.fixture
def inbox(capsys):
    return ConsoleInbox(capsys)


@dataclasses.dataclass
class Worker:
    name: str
    phone: str
    id_number: str
    headers: dict[str, str]
    body: dict[str, Any]
    application_id: int


def _sign_in(client, inbox, phone: str) -> dict[str, str]:
    """Sign in by SMS code from a device that just scanned a join code (the funnel's "phone proved")."""
    challenge = request_code(client, phone).get_json()["challenge_id"]
    response = client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": challenge, "code": inbox.code_for(phone)},
        headers={"X-Device-Id": f"device-{phone}"},
    )
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def _apply(client, inbox, nanjing, *, name: str, phone: str, serial: int, birth: str = BIRTH, **changes: Any) -> Worker:
    client.get(f"/api/v1/join/{nanjing.code.token}", headers={"X-Device-Id": f"device-{phone}"})
    headers = _sign_in(client, inbox, phone)
    number = id_number(serial, birth=birth)
    body = form(nanjing, full_name=name, id_number=number, **changes)
    created = client.post(APPLY, json=body, headers={**headers, "Idempotency-Key": f"key-{serial:08d}"})
    assert created.status_code == 201, created.get_json()
    return Worker(name, phone, number, headers, body, int(created.get_json()["id"]))


def _decide(client, officer, application_id: int, action: str, reason: str | None = None) -> None:
    body = {"action": action, **({"reason": reason} if reason else {})}
    response = client.post(f"/api/v1/review/applications/{application_id}/decision", json=body, headers=officer)
    assert response.status_code == 200, response.get_json()


def _figures(client, headers, nanjing) -> dict[str, Any]:
    """Every coverage grouping and the funnel, as an admin at the top sees them."""
    figures: dict[str, Any] = {}
    for by in ("occupation", "region", "union", "station", "employment_form"):
        response = client.get("/api/v1/stats/coverage", query_string={"by": by}, headers=headers)
        assert response.status_code == 200, response.get_json()
        figures[by] = response.get_json()
    funnel = client.get("/api/v1/stats/funnel", query_string={"join_code_id": str(nanjing.code.id)}, headers=headers)
    assert funnel.status_code == 200, funnel.get_json()
    figures["funnel"] = funnel.get_json()
    return figures


def _strip_times(value: Any) -> Any:
    """The figures without the moment they were computed at (the same numbers, another clock)."""
    if isinstance(value, dict):
        return {k: _strip_times(v) for k, v in value.items() if k not in ("generated_at", "as_of", "now")}
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    return value


def every_value(app) -> list[tuple[str, str, str]]:
    """(table, column, value as text) for every non-null cell of every table the database has."""
    engine = app.extensions["ruhui.engine"]
    inspector = sa.inspect(engine)
    cells = []
    with engine.connect() as connection:
        for table_name in inspector.get_table_names():
            columns = [column["name"] for column in inspector.get_columns(table_name)]
            table = sa.table(table_name, *(sa.column(name) for name in columns))
            for name in columns:
                cast = sa.cast(table.c[name], sa.Text)
                for value in connection.execute(sa.select(cast).where(table.c[name].is_not(None))).scalars():
                    cells.append((table_name, name, str(value)))
    return cells


def traces_of(app, worker: Worker) -> list[tuple[str, str, str]]:
    """Every cell that holds, or opens to, something of ``worker``'s name, ID number or phone."""
    ring = app.extensions["ruhui.keyring"]
    number = worker.id_number
    with app.app_context():
        fingerprint = request_fingerprint(dataclasses.asdict(ApplicationForm(**worker.body)))
    needles = {
        worker.name,
        mask_name(worker.name),
        number,
        number.lower(),
        mask_id_number(number),
        number[6:14],  # the birth date, as the number writes it
        f"{number[6:10]}-{number[10:12]}-{number[12:14]}",  # and as a date column does
        worker.phone,
        mask_phone(worker.phone),
        ring.blind_index(worker.phone, PHONE_PURPOSE),
        ring.blind_index(number, ID_NUMBER_CONTEXT),
        ring.blind_index(number, ID_NUMBER_CONTEXT)[:32],
        fingerprint,
    }
    found = []
    for table, column, value in every_value(app):
        if any(needle in value for needle in needles):
            found.append((table, column, value))
            continue
        for part in value.replace('"', " ").split():
            if part.startswith("v1."):
                for context in CONTEXTS:
                    try:
                        opened = ring.decrypt(part, context)
                    except DecryptionError:
                        continue
                    if any(needle in opened for needle in needles):
                        found.append((table, column, f"sealed {context}"))
    return found


@pytest.fixture
def story(app, client, session, nanjing, make_officer, inbox):
    """Two workers went through everything that leaves a trace; one was rejected, one is a member.

    The rejected one: scanned, signed in by SMS from the scanning device, filed with an
    Idempotency-Key, linked WeChat, was viewed unmasked by a reviewer, rejected with a reason
    naming them (a decision SMS owed), filed again and withdrew it.
    """
    _, reviewer = make_officer(nanjing.city, "reviewer")
    gone = _apply(client, inbox, nanjing, name=NAME, phone=PHONE, serial=1, employer_name=f"{NAME}个体快递")
    kept = _apply(client, inbox, nanjing, name=KEPT_NAME, phone=KEPT_PHONE, serial=2, birth="19750611")
    assert client.get(f"/api/v1/review/applications/{gone.application_id}", headers=reviewer).status_code == 200
    _decide(client, reviewer, gone.application_id, "reject", reason=f"{NAME}的身份证号{gone.id_number}与本人不符")
    _decide(client, reviewer, kept.application_id, "approve")
    again = client.post(APPLY, json=gone.body, headers=gone.headers)
    assert again.status_code == 201, again.get_json()
    withdrawn = client.post(f"{APPLY}/{again.get_json()['id']}/withdraw", headers=gone.headers)
    assert withdrawn.status_code == 200
    with app.app_context():
        person = session.scalars(sa.select(Person).where(Person.phone_masked == mask_phone(PHONE))).one()
        person.wechat_openid, person.wechat_unionid = "o-openid-of-gone", "u-unionid-of-gone"
        session.commit()
    return gone, kept


def test_after_the_period_no_trace_of_an_erased_person_is_left_and_the_figures_stand(
    app, client, session, nanjing, make_officer, story, runner, clock
):
    gone, kept = story
    _, admin = make_officer(nanjing.province, "admin")
    before = _strip_times(_figures(client, admin, nanjing))
    assert traces_of(app, gone), "the story must leave traces for the run to erase"

    clock.advance(364 * DAY)
    assert json.loads(runner.invoke(args=["retention", "run"]).output)["identities"] == 0
    assert traces_of(app, gone), "nothing is erased before the period"

    clock.advance(2 * DAY)
    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    assert json.loads(dry.output) == {
        "identities": 1, "persons": 1, "applications": 2, "dry_run": True, "retention_days": 365,
    }  # fmt: skip
    assert traces_of(app, gone), "a dry run changes nothing"

    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["identities"], report["persons"], report["applications"]) == (1, 1, 2)

    assert traces_of(app, gone) == []
    assert traces_of(app, kept) != [], "a member's data stays"
    _, admin = make_officer(nanjing.province, "admin")
    assert _strip_times(_figures(client, admin, nanjing)) == before
    # The rows stay, anonymised: the statistics count them; the audit trail says what happened.
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(Application)) == 3
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action.in_(("identity.erase", "person.erase"))))
    assert sorted(e.action for e in events) == ["identity.erase", "person.erase"]
    assert not any("openid-of-gone" in value or "unionid-of-gone" in value for _, _, value in every_value(app))
    again = runner.invoke(args=["retention", "run"])
    assert json.loads(again.output)["identities"] == json.loads(again.output)["persons"] == 0


def test_an_erased_phone_signs_in_again_as_a_new_person(app, client, session, nanjing, story, runner, clock, inbox):
    gone, _ = story
    clock.advance(366 * DAY)
    assert json.loads(runner.invoke(args=["retention", "run"]).output)["persons"] == 1
    headers = _sign_in(client, inbox, gone.phone)
    assert client.get("/api/v1/me/applications", headers=headers).get_json()["items"] == []
    assert client.get("/api/v1/me/applications", headers=gone.headers).status_code == 401


@pytest.mark.parametrize(("days", "erased"), [(30, 1), (400, 0)])
def test_retention_days_sets_the_period(app_config, make_app, nanjing, file_application, days, erased):
    """RETENTION_DAYS: a rejection 100 days old is erased under 30 days, kept under 400."""
    app_config["retention_days"] = days
    other = make_app()
    with other.app_context():
        session = other.extensions["ruhui.sessionmaker"]()
        application = file_application(
            nanjing.city, nanjing.depot, status="rejected", membership=None,
            submitted_days_ago=100, decided_after_days=1,
        )  # fmt: skip
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
        session.execute(sa.update(Application).values(updated_at=old))
        session.execute(sa.update(Identity).values(updated_at=old))
        session.execute(sa.update(Person).values(updated_at=old, created_at=old))
        session.commit()
        result = other.test_cli_runner().invoke(args=["retention", "run"])
        assert json.loads(result.output)["identities"] == erased, result.output
        session.expire_all()
        identity = session.get(Identity, application.identity_id)
        assert (identity.erased_at is not None) == bool(erased)
        session.close()


# ---------------------------------------------------------------- DELETE /me


def _code_for_me(client, inbox, phone: str, clock) -> dict[str, str]:
    clock.advance(61)  # one code a minute per number
    challenge = request_code(client, phone).get_json()["challenge_id"]
    return {"challenge_id": challenge, "code": inbox.code_for(phone)}


def test_delete_me_erases_at_once_and_signs_out_everywhere(
    app, client, session, nanjing, story, inbox, make_officer, clock
):
    gone, kept = story
    _, admin = make_officer(nanjing.province, "admin")
    before = _strip_times(_figures(client, admin, nanjing))
    # A second session of the same phone (another device), and a refresh token there.
    clock.advance(61)
    challenge = request_code(client, gone.phone).get_json()["challenge_id"]
    tokens = verify(client, challenge, inbox.code_for(gone.phone)).get_json()

    response = client.delete(ME, json=_code_for_me(client, inbox, gone.phone, clock), headers=gone.headers)
    assert response.status_code == 204, response.get_json()

    assert traces_of(app, gone) == []
    assert traces_of(app, kept) != []
    assert _strip_times(_figures(client, admin, nanjing)) == before
    assert client.get("/api/v1/me/applications", headers=gone.headers).status_code == 401
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    session.expire_all()
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "person.erase")).one()
    assert (event.actor_kind, event.details["by"], event.details["applications"]) == ("worker", "request", 2)
    assert session.scalar(sa.select(sa.func.count()).select_from(RefreshToken).where(
        RefreshToken.subject_id == event.actor_id, RefreshToken.principal_kind == "worker")) == 0  # fmt: skip
    assert session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 1  # the member's
    notices = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.person_id == event.actor_id)).all()
    assert notices and all(m.params == {} and m.status in ("dead", "sent") for m in notices)


def test_delete_me_withdraws_an_open_application_first(app, client, session, nanjing, inbox, clock):
    worker = _apply(client, inbox, nanjing, name=NAME, phone=PHONE, serial=7)
    response = client.delete(ME, json=_code_for_me(client, inbox, worker.phone, clock), headers=worker.headers)
    assert response.status_code == 204, response.get_json()
    session.expire_all()
    application = session.get(Application, worker.application_id)
    assert application.status == "withdrawn"
    assert traces_of(app, worker) == []


def test_delete_me_is_refused_while_the_membership_is_active(app, client, session, nanjing, inbox, clock):
    worker = _apply(client, inbox, nanjing, name=NAME, phone=PHONE, serial=8)
    with app.app_context():
        application = session.get(Application, worker.application_id)
        application.status = "approved"
        enrollment_service.grant_membership(session, application, dt.datetime.now(dt.UTC))
        session.commit()
    proof = _code_for_me(client, inbox, worker.phone, clock)
    response = client.delete(ME, json=proof, headers=worker.headers)
    assert response.status_code == 409
    assert response.get_json()["code"] == "member_active"
    assert "退会" in response.get_json()["message"]
    session.expire_all()
    assert session.scalar(sa.select(Identity.erased_at)) is None
    assert session.scalar(sa.select(Membership.status)) == "active"
    assert client.get("/api/v1/me/membership", headers=worker.headers).status_code == 200


def test_delete_me_needs_the_right_code_for_this_phone(app, client, session, nanjing, inbox, make_worker, clock):
    worker = _apply(client, inbox, nanjing, name=NAME, phone=PHONE, serial=9)
    proof = _code_for_me(client, inbox, worker.phone, clock)
    wrong = {**proof, "code": "000000" if proof["code"] != "000000" else "111111"}
    response = client.delete(ME, json=wrong, headers=worker.headers)
    assert (response.status_code, response.get_json()["code"]) == (400, "otp_invalid")
    assert response.get_json()["remaining_attempts"] == 4
    other = _code_for_me(client, inbox, "13712349999", clock)  # a code sent to another number
    response = client.delete(ME, json=other, headers=worker.headers)
    assert (response.status_code, response.get_json()["code"]) == (400, "otp_invalid")
    assert client.delete(ME, json={"challenge_id": "x"}, headers=worker.headers).status_code == 422
    assert client.delete(ME, json=proof).status_code == 401
    session.expire_all()
    assert session.scalar(sa.select(Identity.erased_at)) is None
    assert client.delete(ME, json=proof, headers=worker.headers).status_code == 204


def test_an_officer_cannot_delete_me(client, nanjing, make_officer):
    _, officer = make_officer(nanjing.city)
    response = client.delete(ME, json={"challenge_id": "abc", "code": "123456"}, headers=officer)
    assert response.status_code == 403


# ---------------------------------------------------------------- memberships withdrawn or removed


def _member(client, reviewer, worker: Worker) -> dict[str, Any]:
    """An officer approves the worker's application: the membership, as the worker reads it."""
    _decide(client, reviewer, worker.application_id, "approve")
    mine = client.get("/api/v1/me/membership", headers=worker.headers)
    assert mine.status_code == 200, mine.get_json()
    return dict(mine.get_json())


def _change(client, reviewer, worker: Worker, membership_id: str, status: str, reason: str) -> None:
    """The member withdraws (``withdrawn``), or an officer changes the status; the reason names the person."""
    asked = client.post("/api/v1/me/membership/retain", json={"reason": reason}, headers=worker.headers)
    assert asked.status_code == 202, asked.get_json()
    if status == "withdrawn":
        response = client.post("/api/v1/me/membership/withdraw", json={"reason": reason}, headers=worker.headers)
    else:
        response = client.post(
            f"/api/v1/review/memberships/{membership_id}/status",
            json={"status": status, "reason": reason},
            headers=reviewer,
        )
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(("status", "erased"), [("withdrawn", True), ("removed", True), ("retained", False)])
def test_a_membership_withdrawn_or_removed_is_erased_after_the_period_a_retained_one_is_kept(
    app, client, session, nanjing, inbox, runner, clock, make_officer, status, erased
):
    worker = _apply(client, inbox, nanjing, name=NAME, phone=PHONE, serial=11)
    _, reviewer = make_officer(nanjing.city, "reviewer")
    membership = _member(client, reviewer, worker)
    member_no = membership["member_no"]
    _change(client, reviewer, worker, membership["id"], status, reason=f"{NAME}（{worker.phone}）申请")
    _, admin = make_officer(nanjing.province, "admin")
    before = _strip_times(_figures(client, admin, nanjing))

    clock.advance(366 * DAY)
    report = json.loads(runner.invoke(args=["retention", "run"]).output)
    assert (report["identities"], report["persons"]) == ((1, 1) if erased else (0, 0))
    assert (traces_of(app, worker) == []) is erased
    session.expire_all()
    kept = session.get(Membership, int(membership["id"]))
    assert (kept.status, kept.member_no) == (status, member_no)  # the number is never reused
    history = session.scalars(sa.select(MembershipHistory).where(MembershipHistory.membership_id == kept.id)).all()
    assert [entry.to_status for entry in history] == ["active", status]
    _, admin = make_officer(nanjing.province, "admin")
    assert _strip_times(_figures(client, admin, nanjing)) == before


@pytest.mark.parametrize(("status", "code"), [("withdrawn", 204), ("removed", 204), ("retained", 409)])
def test_delete_me_after_the_membership_ended_erases_at_once(
    app, client, session, nanjing, inbox, clock, make_officer, status, code
):
    worker = _apply(client, inbox, nanjing, name=NAME, phone=PHONE, serial=12)
    _, reviewer = make_officer(nanjing.city, "reviewer")
    membership = _member(client, reviewer, worker)
    _change(client, reviewer, worker, membership["id"], status, reason=f"{NAME}本人申请")
    response = client.delete(ME, json=_code_for_me(client, inbox, worker.phone, clock), headers=worker.headers)
    assert response.status_code == code, response.get_json()
    if code == 409:
        assert response.get_json()["code"] == "member_active"
    assert (traces_of(app, worker) == []) is (code == 204)


def test_officers_still_read_an_erased_application_without_its_person(
    app, client, session, nanjing, story, inbox, clock, make_officer
):
    gone, _ = story
    assert (
        client.delete(ME, json=_code_for_me(client, inbox, gone.phone, clock), headers=gone.headers).status_code == 204
    )
    _, admin = make_officer(nanjing.province, "admin")
    detail = client.get(f"/api/v1/review/applications/{gone.application_id}", headers=admin)
    assert detail.status_code == 200, detail.get_json()
    body = detail.get_json()
    assert (body["status"], body["full_name"], body["id_number"], body["name_masked"]) == ("rejected", "", "", "")
    assert body.get("decision_reason") is None
    queue = client.get("/api/v1/review/applications", headers=admin)
    assert queue.status_code == 200 and len(queue.get_json()["items"]) == 3
    export = client.get("/api/v1/exports/applications.csv", query_string={"unmasked": "1"}, headers=admin)
    assert export.status_code == 200
    text = export.get_data().decode("utf-8-sig")
    assert KEPT_NAME in text and NAME not in text and gone.phone not in text


@pytest.mark.postgres
def test_delete_me_racing_an_approval_ends_in_one_outcome(app, session, nanjing, inbox, clock, make_officer):
    """Either the approval wins (a member, nothing erased) or the erasure does (withdrawn, no membership)."""
    client = app.test_client()
    _, reviewer = make_officer(nanjing.city, "reviewer")
    workers = [
        _apply(client, inbox, nanjing, name=NAME, phone=f"1371234{n:04d}", serial=20 + n, birth="19800101")
        for n in range(4)
    ]
    clock.advance(61)
    proofs = [_code_for_me(client, inbox, w.phone, clock) for w in workers]
    outcomes = []
    for worker, proof in zip(workers, proofs, strict=True):
        barrier = threading.Barrier(2)
        answers: dict[str, int] = {}

        def erase(worker=worker, proof=proof, barrier=barrier, answers=answers):
            barrier.wait()
            answers["erase"] = app.test_client().delete(ME, json=proof, headers=worker.headers).status_code

        def approve(worker=worker, barrier=barrier, answers=answers):
            barrier.wait()
            answers["approve"] = (
                app.test_client()
                .post(
                    f"/api/v1/review/applications/{worker.application_id}/decision",
                    json={"action": "approve"},
                    headers=reviewer,
                )
                .status_code
            )

        threads = [threading.Thread(target=erase), threading.Thread(target=approve)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        session.expire_all()
        application = session.get(Application, worker.application_id)
        identity = session.get(Identity, application.identity_id)
        held = session.scalar(sa.select(sa.func.count()).select_from(Membership).where(Membership.status == "active"))
        if answers["approve"] == 200:
            assert answers["erase"] == 409 and identity.erased_at is None and application.status == "approved"
        else:
            assert answers == {"erase": 204, "approve": 409}, answers
            assert identity.erased_at is not None and application.status == "withdrawn"
        outcomes.append((answers["approve"], answers["erase"]))
        assert held == sum(1 for approved, _ in outcomes if approved == 200)
