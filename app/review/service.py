"""Review rules: the officer's queue, the audited detail view, decisions, bulk decisions and transfers.

Scope: an officer sees the applications routed into its union's subtree; anything else
is a 404, by id as in lists.

Queue (``queue`` parameter):

- ``all`` (default, the contract's meaning): every application in the subtree.
- ``own``: the officer's work list — applications routed to its own union, plus the
  **escalated** ones: still pending past their deadline anywhere below it. A district
  federation's reviewers work ``own``; a city's reviewers see, besides their own, what
  districts and industry unions under them left unanswered past the promised 15
  working days.

``overdue=true`` narrows any queue to pending applications past their deadline; each
item says ``overdue`` and ``escalated`` (overdue and routed to a union below the
officer's own). ``union_id`` narrows to applications routed to exactly that union.
``q``: an 18-character ID number or a full mobile number is matched exactly through
its blind index, digits match a member number, anything else a masked-name prefix
(the surname: ``张``).

Decisions are optimistic: the application's ``version`` must still be the one the
officer saw (``If-Match``), and the UPDATE itself carries the version, so of two
officers deciding at once exactly one wins; the other gets 409 ``stale_version``.
Each decision writes its audit event and its outbox notification in the same
transaction, so none of the three exists without the others.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from app.actors import Actor, within_subtree
from app.audit.models import AuditEvent
from app.audit.service import record_event
from app.auth import service as auth
from app.auth.models import Officer, Person
from app.auth.phones import InvalidPhone, normalise_phone
from app.auth.service import phone_index
from app.db import parse_id
from app.directory.models import Employer, Station, Union
from app.enrollment import service as enrollment
from app.enrollment.models import (
    HELD_STATUSES,
    OPEN_STATUSES,
    Application,
    Identity,
    Membership,
    route_hop,
    union_summary,
)
from app.errors import AppError, Conflict, NotFound, ValidationFailed
from app.notify import outbox
from app.notify.subscribe import decision_message
from app.pagination import Page, encode_cursor, keyset_page
from app.privacy import keyring

UNMASKING_ROLES = ("reviewer", "admin")
DECIDING_ROLES = ("reviewer", "admin")
MAX_BULK = 200
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")

# action → (new status, SMS template, WeChat phrase)
_OUTCOMES = {
    "approve": ("approved", "application_approved", "已通过"),
    "reject": ("rejected", "application_rejected", "未通过"),
    "return": ("returned", "application_returned", "需补充"),
}


@dataclass(frozen=True)
class NoticePolicy:
    """How applicants hear about decisions: the WeChat subscribe template (empty: SMS only)."""

    wechat_template_id: str = ""
    wechat_page: str = ""


@dataclass(frozen=True)
class ReviewView(enrollment.ApplicationView):
    """An application as the queue shows it, with its deadline flags for this officer."""

    overdue: bool = False
    escalated: bool = False
    possible_duplicate: bool = False  # filled when the queue is asked to flag duplicates


@dataclass(frozen=True)
class ReviewDetail(ReviewView):
    """The detail view: unmasked name and ID number for reviewers and admins (each view audited)."""

    full_name: str | None = None
    id_number: str | None = None
    phone_masked: str | None = None
    unmasked: bool = False


@dataclass(frozen=True)
class QueueFilters:
    status: str | None = None
    occupation: str | None = None
    station_id: str | None = None
    union_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    q: str | None = None
    overdue: bool | None = None
    queue: str = "all"
    sort: str = "newest"


def is_overdue(application: Application, now: dt.datetime) -> bool:
    return application.status == "pending" and application.due_at < now


# Written into the SQL, not bound: the planner matches the partial indexes of pending applications
# (``ix_applications_pending_queue`` and ``…_pending_union``) only against the constant itself.
_PENDING: sa.ColumnElement[str] = sa.literal_column("'pending'")


def _status_condition(status: str) -> sa.ColumnElement[bool]:
    return Application.status == (_PENDING if status == "pending" else status)


def _overdue_condition(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Application.status == _PENDING, Application.due_at < now)


def _review_view(row: Sequence[Any], principal: Actor, now: dt.datetime) -> ReviewView:
    application, station, union, identity, employer = row[:5]
    overdue = is_overdue(application, now)
    return ReviewView(
        application=application,
        station=station,
        union=union,
        employer=employer,
        identity=identity,
        overdue=overdue,
        escalated=overdue and application.union_id != principal.union_id,
        possible_duplicate=bool(row[5]) if len(row) > 5 else False,
    )


def _joined() -> sa.Select[*tuple[Any, ...]]:
    """Everything an item shows, in one statement (the page is one query, not 1 + N)."""
    return (
        sa.select(Application, Station, Union, Identity, Employer)
        .join(Station, Station.id == Application.station_id)
        .join(Union, Union.id == Application.union_id)
        .join(Identity, Identity.id == Application.identity_id)
        .outerjoin(Employer, Employer.id == Application.employer_id)
    )


def _possible_duplicate() -> sa.ColumnElement[bool]:
    """Whether another application has the same ID number or phone, or the ID number holds a membership.

    What ``_possible_duplicates`` lists, as one yes/no per row: three index probes, evaluated for
    the page's rows only.
    """
    other = aliased(Application)
    return sa.or_(
        sa.exists().where(other.identity_id == Application.identity_id, other.id != Application.id),
        sa.exists().where(
            other.person_id == Application.person_id,
            other.id != Application.id,
            other.identity_id != Application.identity_id,
        ),
        # The statuses as SQL literals, so PostgreSQL matches the held memberships' partial index.
        sa.exists().where(
            Membership.identity_id == Application.identity_id,
            Membership.status.in_([sa.literal_column(f"'{status}'") for status in HELD_STATUSES]),
        ),
    )


def _text_filter(q: str) -> tuple[sa.ColumnElement[bool], bool]:
    """The search condition, and whether it reads the identity (which then joins the page's key query)."""
    value = q.strip().upper()
    if _ID_NUMBER.match(value):
        index = keyring().blind_index(value, enrollment.ID_NUMBER_CONTEXT)
        return Application.identity_id.in_(sa.select(Identity.id).where(Identity.id_number_index == index)), False
    try:
        phone = normalise_phone(value)
    except InvalidPhone:
        pass
    else:
        return Application.person_id.in_(sa.select(Person.id).where(Person.phone_index == phone_index(phone))), False
    if value.isdigit():
        return Application.member_no == value, False
    return Identity.name_masked.startswith(q.strip(), autoescape=True), True


def _queue_keys(principal: Actor, filters: QueueFilters, now: dt.datetime) -> list[sa.Select[dt.datetime, int]]:
    """The keys (``submitted_at``, ``id``) of the queue's applications: one statement, or for ``own`` two disjoint ones.

    Only the applications table is read (and the identity, for a name search), so a covering index
    answers it; ``own`` is its own union's applications plus, separately, the overdue ones of the
    unions below, because each half has an index in queue order and their OR has none.
    """
    statement = sa.select(Application.submitted_at, Application.id)
    if filters.status:
        statement = statement.where(_status_condition(filters.status))
    if filters.occupation:
        statement = statement.where(Application.occupation == filters.occupation)
    for column, raw in ((Application.station_id, filters.station_id), (Application.union_id, filters.union_id)):
        if raw is not None:
            number = parse_id(raw)
            statement = statement.where(column == number if number else sa.false())
    if filters.since:
        statement = statement.where(Application.submitted_at >= filters.since)
    if filters.until:
        statement = statement.where(Application.submitted_at < filters.until)
    if filters.overdue is True:
        statement = statement.where(_overdue_condition(now))
    elif filters.overdue is False:
        statement = statement.where(sa.not_(_overdue_condition(now)))
    if filters.q and filters.q.strip():
        condition, reads_identity = _text_filter(filters.q)
        if reads_identity:
            statement = statement.join(Identity, Identity.id == Application.identity_id)
        statement = statement.where(condition)
    in_scope = principal.covers(Application.union_path)
    if filters.queue != "own":
        return [statement.where(in_scope)]
    own = Application.union_id == principal.union_id
    # The officer's own union is its subtree's root, so its applications need no path test: with one,
    # the planner takes the path and the union for independent and misjudges how many rows remain.
    return [statement.where(own), statement.where(in_scope, sa.not_(own), _overdue_condition(now))]


def review_queue(
    session: Session,
    principal: Actor,
    *,
    filters: QueueFilters,
    limit: int,
    cursor: str | None,
    now: dt.datetime,
    flag_duplicates: bool = False,
) -> Page:
    """One page of the officer's queue, newest (or oldest) submission first; items are ``ReviewView``s.

    One statement: the page's keys first (from the applications table alone, in index order), then
    what the items show for those keys only; ``flag_duplicates`` adds ``possible_duplicate``.
    """
    keys = [Application.submitted_at, Application.id]
    descending = filters.sort != "oldest"
    parts = [keyset_page(part, keys, limit, cursor, descending) for part in _queue_keys(principal, filters, now)]
    if len(parts) > 1:
        # Each half in queue order with its own limit, then merged: the page is the first ``limit + 1``.
        merged = sa.union_all(*(sa.select(*part.subquery().c) for part in parts)).subquery()
        order = [merged.c.submitted_at, merged.c.id]
        page_keys = (
            sa.select(*merged.c).order_by(*(k.desc() if descending else k.asc() for k in order)).limit(limit + 1)
        ).subquery("page")
    else:
        page_keys = parts[0].subquery("page")
    order = [page_keys.c.submitted_at, page_keys.c.id]
    statement = (
        sa.select(Application, Station, Union, Identity, Employer)
        .select_from(page_keys)
        .join(Application, Application.id == page_keys.c.id)
        .join(Station, Station.id == Application.station_id)
        .join(Union, Union.id == Application.union_id)
        .join(Identity, Identity.id == Application.identity_id)
        .outerjoin(Employer, Employer.id == Application.employer_id)
        .order_by(*(k.desc() if descending else k.asc() for k in order))
    )
    if flag_duplicates:
        statement = statement.add_columns(_possible_duplicate())
    rows = list(session.execute(statement).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([getattr(rows[-1][0], k.key) for k in keys])
    return Page(items=[_review_view(row, principal, now) for row in rows], next_cursor=next_cursor)


@dataclass(frozen=True)
class UnionChoice:
    id: int
    name: str


def union_choices(session: Session, principal: Actor, *, limit: int) -> list[UnionChoice]:
    """The first ``limit`` unions of the subtree by id, id and name only: the options of a page's union field."""
    rows = session.execute(
        sa.select(Union.id, Union.name).where(principal.covers(Union.path)).order_by(Union.id).limit(limit)
    )
    return [UnionChoice(id=row.id, name=row.name) for row in rows]


def _application_in_scope(session: Session, principal: Actor, application_id: str) -> Application:
    application = enrollment.visible_application(session, principal, application_id)
    if principal.kind != "officer":
        raise NotFound("申请不存在", code="application_not_found")
    return application


def review_item(session: Session, principal: Actor, application: Application, now: dt.datetime) -> ReviewView:
    row = session.execute(_joined().where(Application.id == application.id)).one()
    return _review_view(row, principal, now)


def review_detail(session: Session, principal: Actor, application_id: str, *, now: dt.datetime) -> ReviewDetail:
    """The full application; reviewers and admins see the name and ID number, and that view is audited."""
    application = _application_in_scope(session, principal, application_id)
    view = review_item(session, principal, application, now)
    person = session.get(Person, application.person_id)
    fields: dict[str, Any] = {"phone_masked": person.phone_masked if person else None}
    if principal.role in UNMASKING_ROLES:
        ring = keyring()
        fields.update(
            full_name=ring.decrypt(view.identity.name_sealed, enrollment.NAME_CONTEXT),
            id_number=ring.decrypt(view.identity.id_number_sealed, enrollment.ID_NUMBER_CONTEXT),
            unmasked=True,
        )
        record_event(
            session,
            actor=principal,
            action="application.view_unmasked",
            object_type="application",
            object_id=application.id,
            union_path=application.union_path,
            details={"fields": ["full_name", "id_number"]},
        )
    return ReviewDetail(**{**view.__dict__, **fields})


# ---------------------------------------------------------------- decisions


def _check_version(application: Application, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != application.version:
        raise Conflict("该申请已被他人更新，请刷新后再处理", code="stale_version", current_version=application.version)


def _check_reason(action: str, reason: str | None) -> str | None:
    reason = " ".join((reason or "").split()) or None
    if action in ("reject", "return") and not reason:
        raise ValidationFailed(errors={"reason": ["不予通过或退回补充时须填写原因"]})
    return reason


def _notify(
    session: Session,
    application: Application,
    *,
    template: str,
    phrase: str,
    union: Union,
    notices: NoticePolicy,
    now: dt.datetime,
) -> None:
    """Owe the applicant an SMS (and a WeChat message when linked), committed with the decision."""
    params = {"union": union.name[:30]}
    if template == "application_approved":
        params["member_no"] = application.member_no or ""
    subject = ("application", application.id)
    outbox.enqueue_sms(session, person_id=application.person_id, template=template, params=params, subject=subject)
    if not notices.wechat_template_id:
        return
    person = session.get(Person, application.person_id)
    if person is None or not person.wechat_openid:
        return
    outbox.enqueue_wechat(
        session,
        person_id=person.id,
        template=template,
        params=decision_message(
            template_id=notices.wechat_template_id,
            page=notices.wechat_page,
            phrase=phrase,
            union_name=union.name,
            at=now,
        ),
        subject=subject,
    )


def _flush_guarded(session: Session) -> None:
    """Flush the version-checked UPDATE; losing the race to another officer is a 409, not a 500."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("该申请刚被其他工作人员处理，请刷新后查看", code="stale_version") from None


def _apply_decision(
    session: Session,
    principal: Actor,
    application: Application,
    *,
    action: str,
    reason: str | None,
    notices: NoticePolicy,
    now: dt.datetime,
    bulk: bool = False,
) -> Application:
    if application.status != "pending":
        raise Conflict(
            "该申请不在待审核状态，不能再作决定", code="invalid_state", application_status=application.status
        )
    status, template, phrase = _OUTCOMES[action]
    application.status = status
    application.decision_reason = reason
    application.decided_by = principal.id
    application.decided_at = now
    _flush_guarded(session)  # the winner of a race is decided here, before any membership is made
    if action == "approve":
        enrollment.grant_membership(session, application, now)
    union = session.get(Union, application.union_id)
    assert union is not None  # a foreign key
    record_event(
        session,
        actor=principal,
        action=f"application.{action}",
        object_type="application",
        object_id=application.id,
        union_path=application.union_path,
        details={"status": status, "version": application.version, "reason_given": bool(reason), "bulk": bulk},
    )
    _notify(session, application, template=template, phrase=phrase, union=union, notices=notices, now=now)
    return application


def decide_application(
    session: Session,
    principal: Actor,
    application_id: str,
    *,
    action: str,
    reason: str | None,
    expected_version: int | None,
    notices: NoticePolicy,
    now: dt.datetime,
) -> Application:
    """Approve, reject or return one application (``expected_version``: the ``If-Match`` the officer sent)."""
    reason = _check_reason(action, reason)
    application = _application_in_scope(session, principal, application_id)
    _check_version(application, expected_version)
    return _apply_decision(session, principal, application, action=action, reason=reason, notices=notices, now=now)


# ---------------------------------------------------------------- bulk


@dataclass
class BulkOutcome:
    id: str
    ok: bool
    code: str | None = None
    status: str | None = None
    duplicates: list[dict[str, str]] = field(default_factory=list)


def _possible_duplicates(
    session: Session, principal: Actor, applications: Sequence[Application]
) -> dict[int, list[dict[str, str]]]:
    """Other applications by the same person (ID number) or from the same phone, and existing memberships."""
    if not applications:
        return {}
    identity_ids = {a.identity_id for a in applications}
    person_ids = {a.person_id for a in applications}
    others = session.execute(
        sa.select(
            Application.id, Application.identity_id, Application.person_id, Application.status, Application.union_path
        ).where(sa.or_(Application.identity_id.in_(identity_ids), Application.person_id.in_(person_ids)))
    ).all()
    members = set(
        session.scalars(
            sa.select(Membership.identity_id).where(
                Membership.identity_id.in_(identity_ids), Membership.status.in_(HELD_STATUSES)
            )
        )
    )
    # Grouped once, so a page of 50 costs one pass over the look-alikes, not 50 × all of them.
    by_identity: dict[int, list[Any]] = {}
    by_person: dict[int, list[Any]] = {}
    for other in others:
        by_identity.setdefault(other.identity_id, []).append(other)
        by_person.setdefault(other.person_id, []).append(other)
    found: dict[int, list[dict[str, str]]] = {}
    for application in applications:
        own_id, identity_id = application.id, application.identity_id
        same_identity = [(o, "id_number") for o in by_identity.get(identity_id, ()) if o.id != own_id]
        same_phone = [
            (o, "phone")
            for o in by_person.get(application.person_id, ())
            if o.id != own_id and o.identity_id != identity_id
        ]
        notes: list[dict[str, str]] = []
        for other, match in (*same_identity, *same_phone):
            note = {"match": match, "status": other.status}
            if principal.covers(other.union_path):
                note["application_id"] = str(other.id)  # outside the scope it does not exist
            notes.append(note)
        if identity_id in members:
            notes.append({"match": "id_number", "status": "member"})
        found[own_id] = notes
    return found


def bulk_decide(
    session: Session,
    principal: Actor,
    *,
    ids: Sequence[str],
    action: str,
    reason: str | None,
    dry_run: bool,
    notices: NoticePolicy,
    now: dt.datetime,
) -> list[BulkOutcome]:
    """Decide each application on its own: each one fully or not at all (a savepoint each).

    A dry run makes every decision inside its savepoint and rolls it back, so it reports
    exactly what would happen (including refusals only the database can tell), and it
    flags possible duplicates for the officer to look at first.
    """
    reason = _check_reason(action, reason)
    unique_ids = list(dict.fromkeys(ids))
    if len(unique_ids) > MAX_BULK:
        raise ValidationFailed(errors={"ids": [f"一次最多处理 {MAX_BULK} 份申请"]})
    numbers = {raw: parse_id(raw) for raw in unique_ids}
    wanted = [n for n in numbers.values() if n]
    visible = {
        a.id: a
        for a in session.scalars(
            sa.select(Application).where(Application.id.in_(wanted), principal.covers(Application.union_path))
        )
    }
    duplicates = _possible_duplicates(session, principal, list(visible.values())) if dry_run else {}
    outcomes: list[BulkOutcome] = []
    for raw in unique_ids:
        number = numbers[raw]
        application = visible.get(number) if number else None
        if application is None:
            outcomes.append(BulkOutcome(id=raw, ok=False, code="application_not_found"))
            continue
        savepoint = session.begin_nested()
        try:
            _apply_decision(
                session, principal, application, action=action, reason=reason, notices=notices, now=now, bulk=True
            )
            status = application.status
        except AppError as exc:
            savepoint.rollback()
            outcomes.append(BulkOutcome(id=raw, ok=False, code=exc.code, duplicates=duplicates.get(application.id, [])))
            continue
        except IntegrityError:
            savepoint.rollback()
            outcomes.append(BulkOutcome(id=raw, ok=False, code="conflict"))
            continue
        if dry_run:
            savepoint.rollback()
        else:
            savepoint.commit()
        outcomes.append(BulkOutcome(id=raw, ok=True, status=status, duplicates=duplicates.get(application.id, [])))
    return outcomes


# ---------------------------------------------------------------- transfers


def transfer_application(
    session: Session,
    principal: Actor,
    application_id: str,
    *,
    union_id: str,
    reason: str,
    expected_version: int | None,
    notices: NoticePolicy,
    now: dt.datetime,
) -> Application:
    """Send a misrouted application to another union; the trace keeps every hop."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationFailed(errors={"reason": ["转办须填写原因"]})
    application = _application_in_scope(session, principal, application_id)
    number = parse_id(union_id)
    target = session.get(Union, number) if number else None
    if target is None:
        raise NotFound("目标工会不存在", code="union_not_found")
    _check_version(application, expected_version)
    if application.status not in OPEN_STATUSES:
        raise Conflict("该申请已办结，不能转办", code="invalid_state", application_status=application.status)
    if target.id == application.union_id:
        raise ValidationFailed(errors={"union_id": ["申请已在该工会办理"]})
    membership = enrollment.active_membership(session, application.identity_id)
    if membership is not None and membership.union_id == target.id:
        raise Conflict("申请人已是该工会会员", code="already_member", union=union_summary(target))
    source_union_id, source_path = application.union_id, application.union_path
    hop = route_hop(
        target,
        at=now,
        by="transfer",
        rule="transfer",
        reasons=[reason],
        officer_id=str(principal.id),
        from_union_id=str(source_union_id),
    )
    application.route_to(target, rule="transfer", hop=hop)
    _flush_guarded(session)
    details = {"from_union_id": str(source_union_id), "to_union_id": str(target.id), "version": application.version}
    record_transfer(session, principal, application, source_path=source_path, target=target, details=details)
    _notify(
        session,
        application,
        template="application_transferred",
        phrase="已转办",
        union=target,
        notices=notices,
        now=now,
    )
    return application


# ---------------------------------------------------------------- identities checked in person (现场核验换绑)

# What the officer looked at before moving an identity to the phone of the person in front of them.
VERIFICATION_DOCUMENTS = ("resident_id_card", "temporary_id_card", "other_official_document")


def verify_identity_in_person(
    session: Session,
    principal: Actor,
    application_id: str,
    *,
    challenge_id: str,
    code: str,
    document: str,
    now: dt.datetime,
    secret_key: str,
) -> enrollment.Rebinding:
    """Bind the identity of an application in scope to the phone of the person the officer checked in place.

    For a worker who lost the old phone, or whose ID number another phone took first
    (``identity_in_use``): the officer checks the ID document against the application's
    unmasked identity (the audited detail view), has a code sent to the person's phone
    (``POST /auth/otp``) and enters it. The identity and its applications then belong to
    that phone; the event ``identity.verify_in_person`` names the officer, both phones
    (by id) and the document (never its number).
    """
    application = _application_in_scope(session, principal, application_id)
    if document not in VERIFICATION_DOCUMENTS:
        raise ValidationFailed(errors={"document": ["请选择核验的证件"]})
    [phone] = auth.prove_phones(session, [(challenge_id, code)], secret_key=secret_key)
    person = auth.find_or_create_person(session, phone)
    identity = session.get(Identity, application.identity_id)
    assert identity is not None  # a foreign key
    from_person_id = identity.person_id
    rebinding = enrollment.move_identity(session, identity, person, now)
    record_event(
        session,
        actor=principal,
        action="identity.verify_in_person",
        object_type="application",
        object_id=application.id,
        union_path=application.union_path,
        details={
            "identity_id": str(identity.id),
            "from_person_id": str(from_person_id),
            "to_person_id": str(person.id),
            "document": document,
            "applications_moved": rebinding.applications_moved,
        },
    )
    return rebinding


# ---------------------------------------------------------------- the console's case file


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    action: str
    officer_name: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class ReviewCase:
    """What the console's detail page shows: the application, its look-alikes, the membership, the history."""

    view: ReviewView
    duplicates: list[dict[str, str]]
    membership_union: str | None
    membership_no: str | None
    history: list[HistoryEntry]


_HISTORY_ACTIONS = ("application.approve", "application.reject", "application.return", "application.transfer")


def review_case(
    session: Session, principal: Actor, application_id: str, *, unmask: bool, now: dt.datetime
) -> ReviewCase:
    """The console's detail of one application; ``unmask`` shows name and ID number (audited, as the API's detail)."""
    if unmask:
        view: ReviewView = review_detail(session, principal, application_id, now=now)
        application = view.application
    else:
        application = _application_in_scope(session, principal, application_id)
        view = review_item(session, principal, application, now)
    membership = enrollment.held_membership(session, application.identity_id)  # active or retained
    membership_union = session.get(Union, membership.union_id) if membership is not None else None
    events = session.execute(
        sa.select(AuditEvent, Officer.name)
        .outerjoin(Officer, sa.and_(AuditEvent.actor_kind == "officer", Officer.id == AuditEvent.actor_id))
        .where(
            AuditEvent.object_type == "application",
            AuditEvent.object_id == str(application.id),
            AuditEvent.action.in_(_HISTORY_ACTIONS),
        )
        .order_by(AuditEvent.id)
    ).all()
    return ReviewCase(
        view=view,
        duplicates=_possible_duplicates(session, principal, [application])[application.id],
        membership_union=membership_union.name if membership_union is not None else None,
        membership_no=membership.member_no if membership is not None else None,
        history=[HistoryEntry(event.occurred_at, event.action, name, event.details or {}) for event, name in events],
    )


def review_items(session: Session, principal: Actor, ids: Sequence[str], *, now: dt.datetime) -> dict[str, ReviewView]:
    """Queue items by id (those in scope), for a page that lists a chosen few, such as a bulk result."""
    numbers = [n for n in (parse_id(raw) for raw in ids[:MAX_BULK]) if n]
    if not numbers:
        return {}
    rows = session.execute(_joined().where(Application.id.in_(numbers), principal.covers(Application.union_path))).all()
    return {str(row[0].id): _review_view(row, principal, now) for row in rows}


def record_transfer(
    session: Session,
    actor: Actor,
    application: Application,
    *,
    source_path: str,
    target: Union,
    details: dict[str, Any],
) -> None:
    """Audit an application's move: in the sending union's trail, and in the receiving side's too
    when it lies outside the sender's subtree (its admins see it arrive)."""
    record_event(
        session,
        actor=actor,
        action="application.transfer",
        object_type="application",
        object_id=application.id,
        union_path=source_path,
        details=details,
    )
    if not within_subtree(target.path, source_path):
        record_event(
            session,
            actor=actor,
            action="application.transfer_in",
            object_type="application",
            object_id=application.id,
            union_path=target.path,
            details=details,
        )
