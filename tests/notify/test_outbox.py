"""Notifications through the outbox: sent by the worker, retried, never lost, never sent twice at once."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from app.auth import service as auth_service
from app.notify import outbox
from app.notify.models import OutboxMessage

QUEUE = "/api/v1/review/applications"


def _approve(client, headers, application_id):
    response = client.post(f"{QUEUE}/{application_id}/decision", json={"action": "approve"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _report(result):
    """The worker's summary: the last line it printed (logs go elsewhere)."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def _messages(session):
    session.expire_all()
    return session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_the_decision_sms_leaves_through_the_worker(client, runner, session, nanjing, apply, make_officer, fake_aliyun):
    created = apply(phone="13711112222")
    _, reviewer = make_officer(nanjing.city, "reviewer")
    approved = _approve(client, reviewer, created["id"])
    assert fake_aliyun.sent == []  # nothing leaves inside the request

    result = runner.invoke(args=["outbox", "run", "--once"])
    assert _report(result) == {"sent": 1, "retrying": 0, "dead": 0}
    [sms] = fake_aliyun.sent
    assert sms.phone == "13711112222"
    assert sms.template_code == fake_aliyun.notice_template_codes["application_approved"]
    assert sms.params == {"union": "南京市快递行业工会联合会", "member_no": approved["member_no"]}
    [message] = _messages(session)
    assert (message.status, message.attempts) == ("sent", 1)
    assert message.provider_message_id

    again = runner.invoke(args=["outbox", "run", "--once"])
    assert _report(again)["sent"] == 0
    assert len(fake_aliyun.sent) == 1
    status = runner.invoke(args=["outbox", "status"])
    assert _report(status) == {"sent": 1}


class WorkerKilled(BaseException):
    """The worker process dies (not an error it could handle)."""


def test_a_worker_killed_between_claim_and_send_loses_nothing(
    app, client, runner, session, nanjing, apply, make_officer, fake_aliyun, clock
):
    created = apply()
    _, reviewer = make_officer(nanjing.city, "reviewer")
    _approve(client, reviewer, created["id"])
    policy = outbox.OutboxPolicy(lease_seconds=300)

    def die(_message_id):
        raise WorkerKilled

    with app.app_context(), pytest.raises(WorkerKilled):
        outbox.run_until_idle(app.extensions["ruhui.sessionmaker"], policy=policy, before_send=die)
    [message] = _messages(session)
    assert message.status == "sending"  # claimed, committed, never sent
    assert fake_aliyun.sent == []

    # While the dead worker's lease lasts nobody else sends it (it might still be sending)…
    assert _report(runner.invoke(args=["outbox", "run", "--once"]))["sent"] == 0
    # …and once it has run out, the next worker does.
    clock.advance(301)
    assert _report(runner.invoke(args=["outbox", "run", "--once"]))["sent"] == 1
    assert len(fake_aliyun.sent) == 1
    [message] = _messages(session)
    assert (message.status, message.attempts) == ("sent", 2)


def test_a_throttled_gateway_is_retried_with_back_off_then_given_up(
    app, client, runner, session, nanjing, apply, make_officer, fake_aliyun, clock
):
    created = apply(phone="13733334444")
    _, reviewer = make_officer(nanjing.city, "reviewer")
    _approve(client, reviewer, created["id"])
    fake_aliyun.throttled.add("13733334444")
    policy = outbox.OutboxPolicy(max_attempts=3, retry_base_seconds=30)
    sessions = app.extensions["ruhui.sessionmaker"]

    def run():
        with app.app_context():
            return outbox.run_until_idle(sessions, policy=policy)

    assert run().retrying == 1
    [message] = _messages(session)
    first_wait = message.next_attempt_at
    assert (message.status, message.attempts, message.last_error) == ("pending", 1, "aliyun:isv.BUSINESS_LIMIT_CONTROL")
    assert run().retrying == 0  # not due yet
    clock.advance(31)
    assert run().retrying == 1
    [message] = _messages(session)
    assert message.next_attempt_at - first_wait >= dt.timedelta(seconds=59)  # 30 s, then 60 s
    clock.advance(61)
    assert run().dead == 1
    [message] = _messages(session)
    assert (message.status, message.attempts) == ("dead", 3)
    assert fake_aliyun.sent == []

    # Recovered before the last try: the message goes out.
    fake_aliyun.throttled.clear()
    second = apply()
    _approve(client, reviewer, second["id"])
    assert run().sent == 1


# SQLite runs one writer at a time: two workers already show the claim is exclusive there.
@pytest.mark.parametrize("workers", [2, pytest.param(4, marks=pytest.mark.postgres)])
def test_concurrent_workers_send_each_message_exactly_once(app, session, fake_aliyun, workers):
    phones = [f"1380000{n:04d}" for n in range(40)]
    with app.app_context():
        for phone in phones:
            person = auth_service.find_or_create_person(session, phone)
            outbox.enqueue_sms(
                session,
                person_id=person.id,
                template="application_rejected",
                params={"union": "南京市总工会"},
                subject=("application", 0),
            )
        session.commit()
    barrier = threading.Barrier(workers)
    reports: list[outbox.RunReport] = []

    def work():
        with app.app_context():
            barrier.wait()
            reports.append(
                outbox.run_until_idle(app.extensions["ruhui.sessionmaker"], policy=outbox.OutboxPolicy(), limit=3)
            )

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(sms.phone for sms in fake_aliyun.sent) == Counter(phones)  # each number exactly once
    assert sum(r.sent for r in reports) == 40
    assert {m.status for m in _messages(session)} == {"sent"}
