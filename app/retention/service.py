"""Personal data is not kept for ever (PIPL art. 19 and 47): erasing names, ID numbers and phones.

Two ways in. ``run_retention`` (``flask --app wsgi retention run``, from cron) erases the
identities and phones that nothing has held for ``RETENTION_DAYS``: every application
ended without a membership (rejected, withdrawn) or with one that ended (withdrawn,
removed), nothing touched since. ``erase_me`` (``DELETE /me``, after a fresh SMS code)
does the same at once for the signed-in worker, unless a membership still holds the data.

Either way the rows stay, anonymised, so every count still adds up: applications keep
their union, station, occupation, status and times; memberships their number; persons and
identities their ids (``erased_at`` set). What goes is everything that names the person or
would find them again: the sealed values, their blind indexes (HMACs of the number) and
masked forms, the birth date (part of the ID number), WeChat ids, free text officers wrote
about the person, stored response bodies, notification parameters, sessions and codes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from app.actors import Actor
from app.audit.models import AuditEvent
from app.audit.service import record_event
from app.auth import service as auth
from app.auth.models import OtpChallenge, Person, RefreshToken
from app.auth.phones import PHONE_PURPOSE, phone_of
from app.enrollment.models import (
    HELD_STATUSES,
    OPEN_STATUSES,
    Application,
    IdempotencyRecord,
    Identity,
    Membership,
    MembershipHistory,
)
from app.enrollment.service import ID_NUMBER_CONTEXT, NAME_CONTEXT
from app.errors import AppError, Conflict
from app.joincodes.models import ScanSignIn
from app.notify.models import OutboxMessage
from app.observability import request_id_if_any
from app.privacy import DecryptionError, keyring

log = logging.getLogger("ruhui.retention")

# Memberships that hold a person's data for as long as they last (a member's real name is on record):
# ``active`` and ``retained``. ``transferred_out`` has a successor that holds it or ended; ``withdrawn``
# and ``removed`` ended, and are erased ``RETENTION_DAYS`` after the change.
HOLDING_MEMBERSHIPS = HELD_STATUSES
ERASED_NOTICE = "erased"  # what an unsent notice of an erased person ends as (its ``last_error``)


@dataclass(frozen=True)
class RetentionReport:
    """What a run erased (or, dry, would erase)."""

    identities: int
    persons: int
    applications: int
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "identities": self.identities,
            "persons": self.persons,
            "applications": self.applications,
            "dry_run": self.dry_run,
        }


# ---------------------------------------------------------------- what may go


def _identity_erasable(identity: Any, cutoff: dt.datetime) -> sa.ColumnElement[bool]:
    """SQL: nothing has held ``identity`` (an ``Identity`` or an alias of it) since ``cutoff``.

    No open application, no membership that holds it, and no application or membership of
    it changed since: a rejection or withdrawal touches the application's ``updated_at``, a
    membership's withdrawal or removal its ``status_changed_at`` (and ``updated_at``). Any
    later touch only ever makes erasure later, never earlier.
    """
    application, membership = aliased(Application), aliased(Membership)
    return sa.and_(
        identity.erased_at.is_(None),
        identity.updated_at < cutoff,
        ~sa.exists().where(
            application.identity_id == identity.id,
            sa.or_(application.status.in_(OPEN_STATUSES), application.updated_at >= cutoff),
        ),
        ~sa.exists().where(
            membership.identity_id == identity.id,
            sa.or_(
                membership.status.in_(HOLDING_MEMBERSHIPS),
                membership.status_changed_at >= cutoff,
                membership.updated_at >= cutoff,
            ),
        ),
    )


def _person_erasable(cutoff: dt.datetime) -> sa.ColumnElement[bool]:
    """SQL: the phone (``Person``) is held by no identity or application that stays, and unused since ``cutoff``.

    A phone that never filed anything is erased too once it has not signed in for the period
    (no refresh token issued and no scan sign-in since): it is proved again at the next sign-in.
    """
    bound, filed = aliased(Identity), aliased(Identity)
    return sa.and_(
        Person.erased_at.is_(None),
        Person.created_at < cutoff,
        Person.updated_at < cutoff,
        ~sa.exists().where(
            bound.person_id == Person.id, bound.erased_at.is_(None), sa.not_(_identity_erasable(bound, cutoff))
        ),
        ~sa.exists().where(
            Application.person_id == Person.id,
            filed.id == Application.identity_id,
            filed.erased_at.is_(None),
            sa.not_(_identity_erasable(filed, cutoff)),
        ),
        ~sa.exists().where(
            RefreshToken.principal_kind == "worker",
            RefreshToken.subject_id == Person.id,
            RefreshToken.issued_at >= cutoff,
        ),
        ~sa.exists().where(ScanSignIn.person_id == Person.id, ScanSignIn.signed_in_at >= cutoff),
    )


# ---------------------------------------------------------------- erasing
#
# In sets, a few statements per batch whatever its size (a first run may meet years of data):
# only what holds free text is read row by row.


def _reads(sealed: str, context: str) -> str:
    try:
        return keyring().decrypt(sealed, context)
    except DecryptionError:
        return ""


def _scrub(text: str | None, secrets: Iterable[str]) -> str | None:
    """Free text that a worker typed: kept unless it holds one of ``secrets`` (a name, a number)."""
    if text and any(secret and secret in text for secret in secrets):
        return None
    return text


def _erased_key(column: Any) -> sa.ColumnElement[str]:
    """``erased:<id>``: unique like the blind index it replaces, and derived from nothing personal."""
    return sa.literal("erased:", sa.String) + sa.cast(column, sa.String)


def _bulk(session: Session, statement: Any) -> None:
    session.execute(statement.execution_options(synchronize_session=False))


def _audit(
    session: Session, actor: Actor, action: str, object_type: str, rows: list[tuple[int, str, dict[str, Any]]]
) -> None:
    """One audit event per erased row (object id, union path, details), inserted together.

    ``record_event`` flushes each event on its own; a batch of erasures inserts its events at once.
    """
    session.add_all(
        AuditEvent(
            actor_kind=actor.kind,
            actor_id=actor.id if actor.kind != "system" else None,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            union_path=union_path,
            request_id=request_id_if_any(),
            details=details,
        )
        for object_id, union_path, details in rows
    )
    session.flush()


@dataclass(frozen=True)
class ErasedIdentity:
    id: int
    applications: int
    union_path: str  # where its latest application was routed: whose admins see the erasure in the audit trail


def erase_identities(session: Session, identities: list[Identity], now: dt.datetime) -> list[ErasedIdentity]:
    """Anonymise identities and their applications and memberships.

    An identity keeps its id, sex and member number (numbers are never reused); the
    applications and memberships keep everything the statistics read, and the history
    its entries. What officers and the member wrote about the person (decision and
    transfer reasons, membership history reasons, a request for retained membership)
    goes; an employer name the worker typed goes too when it holds the name or the number.
    """
    if not identities:
        return []
    session.flush()
    ids = [identity.id for identity in identities]
    secrets = {
        identity.id: (_reads(identity.name_sealed, NAME_CONTEXT), _reads(identity.id_number_sealed, ID_NUMBER_CONTEXT))
        for identity in identities
    }
    filed = session.execute(
        sa.select(Application.identity_id, Application.id, Application.union_path)
        .where(Application.identity_id.in_(ids))
        .order_by(Application.id)
    ).all()
    # Free text, read row by row: an employer name the worker typed, and the reasons of transfer hops.
    texts = session.execute(
        sa.select(Application.id, Application.identity_id, Application.employer_name, Application.route_trace).where(
            Application.identity_id.in_(ids),
            sa.or_(
                Application.employer_name.is_not(None),
                sa.cast(Application.route_trace, sa.Text).like("%transfer%"),
            ),
        )
    ).all()
    for application_id, identity_id, employer_name, trace in texts:
        hops = [{**hop, "reasons": []} if hop.get("by") == "transfer" else hop for hop in trace or []]
        _bulk(
            session,
            sa.update(Application)
            .where(Application.id == application_id)
            .values(employer_name=_scrub(employer_name, secrets[identity_id]), route_trace=hops),
        )
    _bulk(
        session,
        sa.update(Application)
        .where(Application.identity_id.in_(ids))
        .values(decision_reason=None, version=Application.version + 1),
    )
    memberships = sa.select(Membership.id).where(Membership.identity_id.in_(ids))
    _bulk(
        session,
        sa.update(MembershipHistory).where(MembershipHistory.membership_id.in_(memberships)).values(reason=None),
    )
    _bulk(
        session,
        sa.update(Membership)
        .where(Membership.identity_id.in_(ids), Membership.retain_request_reason.is_not(None))
        .values(retain_request_reason=None, version=Membership.version + 1),
    )
    _bulk(
        session,
        sa.update(Identity)
        .where(Identity.id.in_(ids))
        .values(
            id_number_index=_erased_key(Identity.id),
            id_number_sealed="",
            name_sealed="",
            name_masked="",
            id_number_masked="",
            birth_date=None,
            erased_at=now,
            updated_at=now,
        ),
    )
    for identity in identities:
        session.expire(identity)
    counts = dict.fromkeys(ids, 0)
    paths = dict.fromkeys(ids, "/")
    for identity_id, _, union_path in filed:
        counts[identity_id] += 1
        paths[identity_id] = union_path  # ordered by id: the latest wins
    return [ErasedIdentity(id=i, applications=counts[i], union_path=paths[i]) for i in ids]


def erase_persons(session: Session, persons: list[Person], now: dt.datetime) -> None:
    """Anonymise phones: the number, the WeChat link, sessions, stored answers, notices and codes."""
    if not persons:
        return
    session.flush()
    ids = [person.id for person in persons]
    phones = {phone for phone in (_reads(person.phone_sealed, PHONE_PURPOSE) for person in persons) if phone}
    _bulk(
        session,
        sa.update(Person)
        .where(Person.id.in_(ids))
        .values(
            phone_index=_erased_key(Person.id),
            phone_sealed="",
            phone_masked="",
            wechat_openid=None,
            wechat_unionid=None,
            erased_at=now,
            updated_at=now,
        ),
    )
    for person in persons:
        session.expire(person)
    _bulk(
        session,
        sa.delete(RefreshToken).where(RefreshToken.principal_kind == "worker", RefreshToken.subject_id.in_(ids)),
    )
    _bulk(session, sa.delete(IdempotencyRecord).where(IdempotencyRecord.person_id.in_(ids)))
    # Notices stay as the record that one was owed (and whether it went), without what it said.
    _bulk(
        session,
        sa.update(OutboxMessage)
        .where(OutboxMessage.person_id.in_(ids), OutboxMessage.status.in_(("pending", "sending")))
        .values(status="dead", lease_until=None, last_error=ERASED_NOTICE),
    )
    _bulk(
        session,
        sa.update(OutboxMessage).where(OutboxMessage.person_id.in_(ids)).values(params={}, provider_message_id=None),
    )
    if phones:
        _forget_codes_sent_to(session, phones)
    session.flush()


def _forget_codes_sent_to(session: Session, phones: set[str]) -> None:
    """Delete the SMS challenges of ``phones``: they hold no index, only the sealed number, so each is opened.

    Challenges are swept a day after they expire, so this reads at most a day's worth.
    """
    mine = [
        challenge_id
        for challenge_id, sealed in session.execute(sa.select(OtpChallenge.id, OtpChallenge.phone_sealed))
        if _reads(sealed, PHONE_PURPOSE) in phones
    ]
    if mine:
        _bulk(session, sa.delete(OtpChallenge).where(OtpChallenge.id.in_(mine)))


# ---------------------------------------------------------------- the worker's request (DELETE /me)


@dataclass(frozen=True)
class Erasure:
    identities: int
    applications: int
    withdrawn: int


def _member_active() -> Conflict:
    return Conflict(
        "您的工会会籍仍然有效，会籍存续期间不能删除个人信息；如需删除，请先办理退会。", code="member_active"
    )


def _erasable(session: Session, person_id: int, *, lock: bool) -> tuple[Person, list[Identity]]:
    """The signed-in person and the identities bound to it, unless a membership holds them (``member_active``).

    With ``lock``, the rows are locked until the commit: an application filed or approved
    meanwhile waits for the erasure, or the erasure for it, and what is checked stays true.
    """
    person = session.get(Person, person_id, with_for_update=lock)
    if person is None or person.erased_at is not None:
        raise AppError("登录已失效，请重新登录", code="unauthorized", status=401)
    statement = sa.select(Identity).where(Identity.person_id == person.id, Identity.erased_at.is_(None))
    identities = list(session.scalars(statement.order_by(Identity.id).with_for_update() if lock else statement))
    if identities and session.scalar(
        sa.select(sa.func.count())
        .select_from(Membership)
        .where(
            Membership.identity_id.in_([identity.id for identity in identities]),
            Membership.status.in_(HOLDING_MEMBERSHIPS),
        )
    ):
        raise _member_active()
    return person, identities


def _open_applications(session: Session, person_id: int) -> list[Application]:
    return list(
        session.scalars(
            sa.select(Application)
            .where(Application.person_id == person_id, Application.status.in_(OPEN_STATUSES))
            .order_by(Application.id)
            .with_for_update()
        )
    )


def check_erasable(session: Session, *, person_id: int) -> None:
    """Raise ``member_active`` when a membership holds the signed-in worker's data (the page asks first)."""
    _erasable(session, person_id, lock=False)


def send_erasure_code(session: Session, *, person_id: int, client_ip: str, policy: auth.SignInPolicy) -> auth.OtpIssued:
    """Send the SMS code that confirms an erasure to the signed-in worker's own phone (the web page's step).

    The API's client asks ``POST /auth/otp`` with the number itself; a page has only the session.
    """
    person, _ = _erasable(session, person_id, lock=False)
    return auth.issue_otp(session, phone=phone_of(person), client_ip=client_ip, policy=policy)


def erase_me(
    session: Session, *, person_id: int, challenge_id: str, code: str, secret_key: str, now: dt.datetime
) -> Erasure:
    """Erase the signed-in worker's data at once, on a fresh SMS code sent to their own phone.

    Refused (409 ``member_active``) while a membership of an identity bound to the phone
    holds it; checked before the code is spent. Open applications are withdrawn first.
    The person is then signed out everywhere (refresh tokens deleted; access tokens and the
    web session stop at the next request). Audited as ``person.erase`` with counts only.
    """
    # Locks in the order an officer's approval takes them (the application, then the identity and the
    # person its membership and notice refer to), so the two never deadlock: a decision under way
    # finishes first (and its membership refuses the erasure), a later one waits and finds it withdrawn.
    _open_applications(session, person_id)
    person, identities = _erasable(session, person_id, lock=True)
    [phone] = auth.prove_phones(session, [(challenge_id, code)], secret_key=secret_key)
    if phone != phone_of(person):
        raise AppError("验证码不是发送到当前登录手机号的，请重新获取", code="otp_invalid", status=400)

    open_applications = _open_applications(session, person.id)  # again, under every lock: complete now
    for application in open_applications:
        application.status = "withdrawn"
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("您的申请刚刚被处理，请刷新后重试", code="stale_version") from None
    union_path = session.scalar(
        sa.select(Application.union_path)
        .where(Application.person_id == person.id)
        .order_by(Application.id.desc())
        .limit(1)
    )
    applications = sum(erased.applications for erased in erase_identities(session, identities, now))
    erase_persons(session, [person], now)
    record_event(
        session,
        actor=Actor(kind="worker", id=person.id),
        action="person.erase",
        object_type="person",
        object_id=person.id,
        union_path=union_path or "/",
        details={
            "by": "request",
            "identities": len(identities),
            "applications": applications,
            "withdrawn": len(open_applications),
        },
    )
    log.info("a worker's personal data erased on request", extra={"person_id": person.id})
    return Erasure(identities=len(identities), applications=applications, withdrawn=len(open_applications))


# ---------------------------------------------------------------- the retention run (cron)


def count_erasable(session: Session, *, now: dt.datetime, days: int) -> RetentionReport:
    """What ``run_retention`` would erase now, changing nothing (the dry run)."""
    cutoff = now - dt.timedelta(days=days)
    erasable = _identity_erasable(Identity, cutoff)
    identities = session.scalar(sa.select(sa.func.count()).select_from(Identity).where(erasable)) or 0
    applications = (
        session.scalar(
            sa.select(sa.func.count()).select_from(Application).join(Identity, Identity.id == Application.identity_id)
            .where(erasable)
        )
        or 0
    )  # fmt: skip
    persons = session.scalar(sa.select(sa.func.count()).select_from(Person).where(_person_erasable(cutoff))) or 0
    return RetentionReport(identities=identities, persons=persons, applications=applications, dry_run=True)


def erase_batch(session: Session, *, now: dt.datetime, days: int, limit: int) -> RetentionReport:
    """Erase up to ``limit`` identities, then up to ``limit`` phones, that nothing has held for ``days``.

    Rows are locked as they are chosen, skipping any a request holds (a submission binds its
    identity with a shared lock): those are met again by the next run, if still erasable.
    The caller commits; run it until it reports nothing (``run_retention``).
    """
    cutoff = now - dt.timedelta(days=days)
    system = Actor.system()
    identities = list(
        session.scalars(
            sa.select(Identity)
            .where(_identity_erasable(Identity, cutoff))
            .order_by(Identity.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Identity)
        )
    )
    erased = erase_identities(session, identities, now)
    _audit(
        session,
        system,
        "identity.erase",
        "identity",
        [(e.id, e.union_path, {"by": "retention", "applications": e.applications, "days": days}) for e in erased],
    )
    persons = list(
        session.scalars(
            sa.select(Person)
            .where(_person_erasable(cutoff))
            .order_by(Person.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Person)
        )
    )
    erase_persons(session, persons, now)
    _audit(session, system, "person.erase", "person", [(p.id, "/", {"by": "retention", "days": days}) for p in persons])
    return RetentionReport(
        identities=len(erased),
        persons=len(persons),
        applications=sum(e.applications for e in erased),
        dry_run=False,
    )


def sweep_codes(session: Session, now: dt.datetime) -> int:
    """Delete SMS challenges a day past their expiry (sign-in sweeps them too, but only when codes are sent)."""
    result = session.execute(sa.delete(OtpChallenge).where(OtpChallenge.expires_at < now - dt.timedelta(days=1)))
    return int(result.rowcount)  # type: ignore[attr-defined]  # a DELETE's result has rowcount
