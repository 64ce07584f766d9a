"""The transactional outbox: notifications written with the decision that causes them, sent by a worker.

Writing: ``enqueue_sms`` / ``enqueue_wechat`` add an ``OutboxMessage`` to the caller's
session, so the message commits (or rolls back) with the decision itself — a decision
is never committed without its notification, and no notification leaves for a
decision that did not commit.

Sending (``flask --app wsgi outbox run``): ``claim_due`` takes a batch of due messages
and marks them ``sending`` with a lease, in its own short transaction; ``deliver``
sends one and records the outcome in another. Guarantees:

- **At least once.** A worker that dies after claiming (or while sending) leaves its
  rows ``sending``; when the lease runs out another worker claims them again. A worker
  that dies after the provider accepted a message but before recording it sends that
  message again: a duplicate SMS is the price of never losing one.
- **Never twice at the same time.** A row is claimed by exactly one worker: on
  PostgreSQL with ``SELECT … FOR UPDATE SKIP LOCKED`` (workers skip each other's rows
  instead of queueing behind them), on SQLite with a conditional ``UPDATE`` (SQLite
  runs one writer at a time, so the condition decides). The lease is far longer than
  a provider call can take (its timeouts), so no second worker takes over a live send.
- **Retries with back-off.** A provider that is down or throttling gets the message
  again after ``base · 2^(attempt-1)`` seconds (capped at a day); after
  ``OUTBOX_MAX_ATTEMPTS`` the message is ``dead`` and logged as an error. A refusal
  that will not change (a number the gateway will not deliver to, a WeChat user who
  did not subscribe) is ``dead`` at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.auth.models import Person
from app.auth.phones import phone_of
from app.config import Settings
from app.db import utcnow
from app.notify.models import OutboxMessage
from app.notify.sms import SmsError, SmsRecipientRejected, send_sms
from app.notify.wechat import WeChatError, WeChatNotConfigured, WeChatUnavailable, wechat_client

log = logging.getLogger("ruhui.outbox")

MAX_BACKOFF = dt.timedelta(days=1)
# WeChat refusals that no retry will change: the user did not subscribe (or used up the one
# message a subscription allows), the openid or the template is not ours, the data is invalid.
WECHAT_PERMANENT = frozenset({43101, 40003, 40037, 47003, 41030})
SUBSCRIBE_SEND_PATH = "cgi-bin/message/subscribe/send"


@dataclass(frozen=True)
class OutboxPolicy:
    max_attempts: int = 8
    retry_base_seconds: int = 30
    lease_seconds: int = 300

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxPolicy:
        return cls(
            max_attempts=max(1, settings.outbox_max_attempts),
            retry_base_seconds=max(1, settings.outbox_retry_base_seconds),
            lease_seconds=max(30, settings.outbox_lease_seconds),
        )

    def backoff(self, attempts: int) -> dt.timedelta:
        seconds = self.retry_base_seconds * 2 ** min(max(attempts - 1, 0), 20)
        return min(dt.timedelta(seconds=seconds), MAX_BACKOFF)


# ---------------------------------------------------------------- writing (in the caller's transaction)


def enqueue_sms(
    session: Session, *, person_id: int, template: str, params: dict[str, str], subject: tuple[str, int | str]
) -> OutboxMessage:
    """Owe ``person_id`` an SMS; it is sent after the caller's transaction commits."""
    return _enqueue(session, "sms", person_id, template, params, subject)


def enqueue_wechat(
    session: Session, *, person_id: int, template: str, params: dict[str, Any], subject: tuple[str, int | str]
) -> OutboxMessage:
    """Owe ``person_id`` a WeChat subscribe message (``params``: template_id, page, data)."""
    return _enqueue(session, "wechat", person_id, template, params, subject)


def _enqueue(
    session: Session,
    channel: str,
    person_id: int,
    template: str,
    params: dict[str, Any],
    subject: tuple[str, int | str],
) -> OutboxMessage:
    message = OutboxMessage(
        channel=channel,
        template=template,
        person_id=person_id,
        params=params,
        subject_type=subject[0],
        subject_id=str(subject[1]),
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


# ---------------------------------------------------------------- claiming


def _due(now: dt.datetime) -> sa.ColumnElement[bool]:
    """Pending and due, or ``sending`` under a lease that ran out (its worker died)."""
    return sa.or_(
        sa.and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
    )


def claim_due(session: Session, *, limit: int, policy: OutboxPolicy, now: dt.datetime | None = None) -> list[int]:
    """Claim up to ``limit`` due messages for this worker and commit the claim; returns their ids."""
    now = now or utcnow()
    lease_until = now + dt.timedelta(seconds=policy.lease_seconds)
    claim = {"status": "sending", "lease_until": lease_until, "attempts": OutboxMessage.attempts + 1}
    try:
        if session.get_bind().dialect.name == "postgresql":
            ids = list(
                session.scalars(
                    sa.select(OutboxMessage.id)
                    .where(_due(now))
                    .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if ids:
                session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**claim))
        else:
            candidates = session.scalars(
                sa.select(OutboxMessage.id)
                .where(_due(now))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            ).all()
            ids = []
            for message_id in candidates:
                # The same condition again: another worker may have claimed the row since we read it.
                result = session.execute(
                    sa.update(OutboxMessage).where(OutboxMessage.id == message_id, _due(now)).values(**claim)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]  # UPDATE results are CursorResults
                    ids.append(message_id)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return ids


# ---------------------------------------------------------------- sending


class PermanentFailure(Exception):
    """The provider refused in a way no retry changes."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


class TemporaryFailure(Exception):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


def _send(session: Session, message: OutboxMessage) -> str:
    """Send one message; returns the provider's message id or raises a ``*Failure``."""
    person = session.get(Person, message.person_id)
    if person is None or person.erased_at is not None:
        raise PermanentFailure("person_gone")
    if message.channel == "sms":
        try:
            receipt = send_sms(phone_of(person), message.template, message.params)
        except SmsRecipientRejected as exc:
            raise PermanentFailure(f"{exc.provider}:{exc.code}") from exc
        except SmsError as exc:
            raise TemporaryFailure(f"{exc.provider}:{exc.code}") from exc
        return receipt.message_id
    if not person.wechat_openid:
        raise PermanentFailure("wechat_not_linked")
    body = {
        "touser": person.wechat_openid,
        "template_id": message.params["template_id"],
        "page": message.params.get("page", ""),
        "data": message.params["data"],
        "miniprogram_state": "formal",
        "lang": "zh_CN",
    }
    try:
        reply = wechat_client().call("POST", SUBSCRIBE_SEND_PATH, json=body)
    except WeChatNotConfigured as exc:
        raise PermanentFailure("wechat_not_configured") from exc
    except WeChatError as exc:
        if exc.errcode in WECHAT_PERMANENT:
            raise PermanentFailure(f"wechat:{exc.errcode}") from exc
        if isinstance(exc, WeChatUnavailable):
            raise TemporaryFailure(f"wechat:{exc.errcode}") from exc
        raise PermanentFailure(f"wechat:{exc.errcode}") from exc
    return str((reply.data or {}).get("msgid", ""))


def deliver(session: Session, message_id: int, *, policy: OutboxPolicy) -> str:
    """Send one claimed message and record the outcome; returns its new status."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.status != "sending":
        session.rollback()
        return "skipped"
    extra = {"outbox_id": message.id, "channel": message.channel, "template": message.template}
    try:
        provider_id = _send(session, message)
    except PermanentFailure as exc:
        message.status, message.last_error, message.lease_until = "dead", exc.code[:200], None
        log.warning("notification refused for good", extra={**extra, "error": exc.code})
    except (TemporaryFailure, Exception) as exc:
        # Anything unforeseen counts as temporary: retried with back-off, dead after the last attempt.
        code = exc.code if isinstance(exc, TemporaryFailure) else type(exc).__name__
        if not isinstance(exc, TemporaryFailure):
            log.exception("notification failed unexpectedly", extra=extra)
        message.last_error = code[:200]
        message.lease_until = None
        if message.attempts >= policy.max_attempts:
            message.status = "dead"
            log.error("notification gave up after retries", extra={**extra, "attempts": message.attempts})
        else:
            message.status = "pending"
            message.next_attempt_at = utcnow() + policy.backoff(message.attempts)
            log.info("notification will be retried", extra={**extra, "attempts": message.attempts})
    else:
        message.status, message.sent_at, message.lease_until = "sent", utcnow(), None
        message.provider_message_id = provider_id[:128] or None
        message.last_error = None
        log.info("notification sent", extra=extra)
    session.commit()
    return message.status


@dataclass
class RunReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0

    def count(self, status: str) -> None:
        if status == "sent":
            self.sent += 1
        elif status == "pending":
            self.retrying += 1
        elif status == "dead":
            self.dead += 1


def run_batch(
    session: Session,
    *,
    policy: OutboxPolicy,
    limit: int = 50,
    before_send: Callable[[int], None] | None = None,
) -> RunReport:
    """Claim one batch and deliver it. ``before_send`` runs after the claim committed (tests use it to crash there)."""
    report = RunReport()
    for message_id in claim_due(session, limit=limit, policy=policy):
        if before_send is not None:
            before_send(message_id)
        report.count(deliver(session, message_id, policy=policy))
    return report


def run_until_idle(
    session_factory: Callable[[], Session],
    *,
    policy: OutboxPolicy,
    limit: int = 50,
    before_send: Callable[[int], None] | None = None,
) -> RunReport:
    """Deliver batches until nothing is due (what ``outbox run --once`` does)."""
    total = RunReport()
    while True:
        with session_factory() as session:
            report = run_batch(session, policy=policy, limit=limit, before_send=before_send)
        total.sent += report.sent
        total.retrying += report.retrying
        total.dead += report.dead
        if report.sent + report.retrying + report.dead == 0:
            return total


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status))
    return {status: count for status, count in rows}  # noqa: C416  # rows are Row objects, not pairs to mypy
