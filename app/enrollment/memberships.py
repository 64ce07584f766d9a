"""Membership for life (一次入会、动态接转): the statuses a membership moves through, who may move it, and its history.

A membership is ``active``; ``retained`` (保留会籍: out of work or retired, held by a
union above the old one); or ended: ``transferred_out`` (a transfer started the next
one), ``withdrawn`` (退会, the member's own act) or ``removed`` (除名, an officer's, for
cause). A person holds at most one ``active`` or ``retained`` membership (a partial
unique index). The member number belongs to the identity: it never changes, and a
member who joins again after withdrawing gets it back on approval.

Who may change what (``TRANSITIONS``; anything else is 409 ``invalid_transition``):

- the member: ``active`` or ``retained`` → ``withdrawn``; and asks for retained
  membership (``active`` only), which waits for an officer;
- an officer (reviewer or admin, within the subtree of the membership's union):
  ``active`` → ``retained`` | ``removed``; ``retained`` → ``active`` | ``removed``;
- a transfer (an approved transfer application): ``active`` | ``retained`` →
  ``transferred_out``;
- a dissolution (``app.enrollment.dissolution``): ``active`` → ``retained``, and a
  ``retained`` membership held by the closing union moves to the new holder.

Every change goes through ``_change``: it checks the rule, stamps the row, flushes the
version-checked UPDATE (of two officers at once exactly one wins; the other gets 409
``stale_version``), then writes the ``MembershipHistory`` entry, the audit event and
the member's SMS, all in the caller's transaction. A dissolution changes a union's
memberships together (``retain_for_dissolution``): the same rule and traces, in batches.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.actors import Actor
from app.audit.service import record_event
from app.auth.models import Person
from app.auth.phones import InvalidPhone, normalise_phone
from app.auth.service import phone_index
from app.db import parse_id
from app.directory.models import Union
from app.enrollment import members
from app.enrollment.models import HELD_STATUSES, Application, Identity, Membership, MembershipHistory
from app.errors import Conflict, NotFound, ValidationFailed
from app.notify import outbox
from app.notify.models import OutboxMessage
from app.pagination import Page, paginate_rows
from app.privacy import keyring

# Who may move a membership from one status to which others.
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "member": {"active": frozenset({"withdrawn"}), "retained": frozenset({"withdrawn"})},
    "officer": {"active": frozenset({"retained", "removed"}), "retained": frozenset({"active", "removed"})},
    "transfer": {"active": frozenset({"transferred_out"}), "retained": frozenset({"transferred_out"})},
    "dissolution": {"active": frozenset({"retained"}), "retained": frozenset({"retained"})},
}
OFFICER_STATUSES = ("active", "retained", "removed")
CHANGING_ROLES = ("reviewer", "admin")
ENDED_STATUSES = ("transferred_out", "withdrawn", "removed")

# How the member reads a status (SMS, pages).
STATUS_LABELS = {
    "active": "正常",
    "retained": "保留会籍",
    "transferred_out": "已转出",
    "withdrawn": "已退会",
    "removed": "已除名",
}
_REASON_MAX = 500
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
ID_NUMBER_CONTEXT = "identity.id_number"  # the blind index's context, as app.enrollment.service seals it


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class HistoryView:
    entry: MembershipHistory
    union: Union

    @property
    def by(self) -> str:
        """``worker``, ``system``, or the officer's id (as text)."""
        if self.entry.by_kind == "officer" and self.entry.by_officer_id is not None:
            return str(self.entry.by_officer_id)
        return self.entry.by_kind


@dataclass(frozen=True)
class MembershipDetail:
    """A membership as the worker and officers see it: its union, masked identity and history, oldest first."""

    membership: Membership
    union: Union
    identity: Identity
    history: list[HistoryView]
    card_token: str | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.membership.status]

    @property
    def retain_request(self) -> dict[str, Any] | None:
        if self.membership.retain_requested_at is None:
            return None
        return {"at": self.membership.retain_requested_at, "reason": self.membership.retain_request_reason}


def history_of(session: Session, membership_ids: list[int]) -> dict[int, list[HistoryView]]:
    """The history entries of these memberships (oldest first) with their unions, in one query."""
    found: dict[int, list[HistoryView]] = {i: [] for i in membership_ids}
    if not membership_ids:
        return found
    rows = session.execute(
        sa.select(MembershipHistory, Union)
        .join(Union, Union.id == MembershipHistory.union_id)
        .where(MembershipHistory.membership_id.in_(membership_ids))
        .order_by(MembershipHistory.membership_id, MembershipHistory.at, MembershipHistory.id)
    ).all()
    for entry, union in rows:
        found[entry.membership_id].append(HistoryView(entry, union))
    return found


def detail(session: Session, membership: Membership, *, card_token: str | None = None) -> MembershipDetail:
    union = session.get(Union, membership.union_id)
    identity = session.get(Identity, membership.identity_id)
    assert union is not None and identity is not None  # foreign keys
    return MembershipDetail(
        membership=membership,
        union=union,
        identity=identity,
        history=history_of(session, [membership.id])[membership.id],
        card_token=card_token,
    )


# ---------------------------------------------------------------- the one place a status changes


def _clean_reason(reason: str | None, *, required: bool = True) -> str | None:
    cleaned = " ".join((reason or "").split()) or None
    if required and not cleaned:
        raise ValidationFailed(errors={"reason": ["须填写原因"]})
    if cleaned and len(cleaned) > _REASON_MAX:
        raise ValidationFailed(errors={"reason": [f"原因不能超过 {_REASON_MAX} 字"]})
    return cleaned


def invalid_transition(from_status: str, to_status: str, message: str | None = None) -> Conflict:
    return Conflict(
        message or f"会籍状态不能从“{STATUS_LABELS[from_status]}”变更为“{STATUS_LABELS[to_status]}”",
        code="invalid_transition",
        membership_status=from_status,
        requested_status=to_status,
    )


def check_transition(rule: str, from_status: str, to_status: str) -> None:
    if to_status not in TRANSITIONS[rule].get(from_status, frozenset()):
        raise invalid_transition(from_status, to_status)


def _flush_guarded(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("该会员的会籍刚被其他工作人员处理，请刷新后查看", code="stale_version") from None


def _granting_application(session: Session, membership: Membership) -> Application:
    application = session.get(Application, membership.application_id)
    assert application is not None  # a foreign key
    return application


def _change(
    session: Session,
    membership: Membership,
    to_status: str,
    *,
    rule: str,
    actor: Actor,
    reason: str | None,
    now: dt.datetime,
    union: Union | None = None,
    notify: bool = True,
) -> MembershipHistory:
    """Move ``membership`` to ``to_status`` (held by ``union`` when given) and keep every trace of it."""
    from_status = membership.status
    check_transition(rule, from_status, to_status)
    # Everything read before the row changes: a read after it would flush the change unguarded.
    old_union = session.get(Union, membership.union_id)
    identity = session.get(Identity, membership.identity_id)
    granting = _granting_application(session, membership)
    assert old_union is not None and identity is not None
    new_union = union or old_union
    membership.status = to_status
    membership.union_id = new_union.id
    membership.status_changed_at = now
    membership.retain_requested_at = None
    membership.retain_request_reason = None
    membership.ended_at = now if to_status in ENDED_STATUSES else None
    # Coverage counts active members on the application that granted them (``membership_active``).
    granting.membership_active = to_status == "active"
    _flush_guarded(session)  # the winner of a race is decided here, before any trace is written
    entry = MembershipHistory(
        membership_id=membership.id,
        at=now,
        from_status=from_status,
        to_status=to_status,
        union_id=new_union.id,
        by_kind=actor.kind if actor.kind in ("officer", "system") else "worker",
        by_officer_id=actor.id if actor.kind == "officer" else None,
        reason=reason,
    )
    session.add(entry)
    record_event(
        session,
        actor=actor,
        action="membership.status",
        object_type="membership",
        object_id=membership.id,
        union_path=old_union.path,
        details={
            "from": from_status,
            "to": to_status,
            "rule": rule,
            "from_union_id": str(old_union.id),
            "union_id": str(new_union.id),
            "version": membership.version,
        },
    )
    if notify:
        outbox.enqueue_sms(
            session,
            person_id=identity.person_id,
            template="membership_status",
            params={"union": new_union.name[:30], "status": STATUS_LABELS[to_status]},
            subject=("membership", membership.id),
        )
    session.flush()
    return entry


def record_start(
    session: Session,
    membership: Membership,
    *,
    at: dt.datetime,
    by_kind: str,
    by_officer_id: int | None,
    reason: str | None,
) -> MembershipHistory:
    """The history entry that starts ``membership`` (no ``from`` status); the approval's SMS announces it."""
    entry = MembershipHistory(
        membership_id=membership.id,
        at=at,
        from_status=None,
        to_status=membership.status,
        union_id=membership.union_id,
        by_kind=by_kind,
        by_officer_id=by_officer_id,
        reason=reason,
    )
    session.add(entry)
    return entry


def end_for_transfer(session: Session, membership: Membership, *, actor: Actor, now: dt.datetime) -> None:
    """A transfer (or a retained member's new start) ends the held membership; the approval's SMS tells of it."""
    reason = "恢复工作，会员关系接转" if membership.status == "retained" else "会员关系接转"
    _change(session, membership, "transferred_out", rule="transfer", actor=actor, reason=reason, now=now, notify=False)


def retain_for_dissolution(
    session: Session, held: list[Membership], *, holder: Union, actor: Actor, reason: str, now: dt.datetime
) -> None:
    """Their union closed: each active membership becomes ``retained`` with ``holder``; each retained one moves there.

    The same rule (``dissolution``) and the same traces as ``_change`` — a history entry and
    an SMS each — but set-based, since a closing union may hold thousands: the rows are
    locked (``FOR UPDATE``, so an officer's change racing it waits and then finds a new
    version: 409 ``stale_version``), changed by one UPDATE each for memberships and granting
    applications, and the entries and messages inserted in batches. The dissolution's own
    audit event (``union.dissolve``) stands for them all.
    """
    if not held:
        return
    for membership in held:
        check_transition("dissolution", membership.status, "retained")
    ids = [m.id for m in held]
    locked = {
        row.id: row
        for row in session.execute(
            sa.select(Membership.id, Membership.status, Membership.identity_id, Membership.application_id)
            .where(Membership.id.in_(ids), Membership.status.in_(HELD_STATUSES))
            .with_for_update()
        )
    }
    persons = dict(
        session.execute(
            sa.select(Identity.id, Identity.person_id).where(
                Identity.id.in_([row.identity_id for row in locked.values()])
            )
        ).all()
    )
    session.execute(
        sa.update(Membership)
        .where(Membership.id.in_(list(locked)))
        .values(
            status="retained",
            union_id=holder.id,
            status_changed_at=now,
            ended_at=None,
            retain_requested_at=None,
            retain_request_reason=None,
            version=Membership.version + 1,
            updated_at=now,
        ),
        execution_options={"synchronize_session": False},
    )
    granting = [row.application_id for row in locked.values() if row.status == "active"]
    if granting:
        session.execute(
            sa.update(Application)
            .where(Application.id.in_(granting))
            .values(membership_active=False, version=Application.version + 1, updated_at=now),
            execution_options={"synchronize_session": False},
        )
    rows = sorted(locked.values(), key=lambda row: row.id)
    session.execute(
        sa.insert(MembershipHistory),
        [
            {
                "membership_id": row.id,
                "at": now,
                "from_status": row.status,
                "to_status": "retained",
                "union_id": holder.id,
                "by_kind": "officer" if actor.kind == "officer" else "system",
                "by_officer_id": actor.id if actor.kind == "officer" else None,
                "reason": reason,
            }
            for row in rows
        ],
    )
    session.execute(
        sa.insert(OutboxMessage),
        [
            {
                "channel": "sms",
                "template": "membership_status",
                "person_id": persons[row.identity_id],
                "params": {"union": holder.name[:30], "status": STATUS_LABELS["retained"]},
                "subject_type": "membership",
                "subject_id": str(row.id),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
            }
            for row in rows
        ],
    )
    for membership in held:
        session.expire(membership)  # changed in SQL: read again when next used


# ---------------------------------------------------------------- holding unions


def ancestors(session: Session, union: Union) -> list[Union]:
    """The unions above ``union``, nearest first."""
    ids = [int(part) for part in union.path.strip("/").split("/") if part][:-1]
    if not ids:
        return []
    found = {u.id: u for u in session.scalars(sa.select(Union).where(Union.id.in_(ids)))}
    return [found[i] for i in reversed(ids) if i in found]


def default_holder(session: Session, union: Union) -> Union:
    """Who holds a retained membership from ``union``: the nearest accepting federation above it.

    Else the nearest accepting union above, else the parent; a root union holds its own.
    """
    above = ancestors(session, union)
    for candidate in above:
        if candidate.kind == "federation" and candidate.accepting:
            return candidate
    for candidate in above:
        if candidate.accepting:
            return candidate
    return above[0] if above else union


def _chosen_holder(session: Session, union: Union, holder_id: str | None) -> Union:
    if holder_id is None:
        return default_holder(session, union)
    number = parse_id(holder_id)
    holder = session.get(Union, number) if number else None
    if holder is None:
        raise NotFound("管理会籍的工会不存在", code="union_not_found")
    if holder.id not in {u.id for u in ancestors(session, union)}:
        raise ValidationFailed(errors={"union_id": ["保留会籍须由原工会的上级工会管理"]})
    return holder


# ---------------------------------------------------------------- the member's own actions


def own_membership(session: Session, person_id: int) -> Membership:
    """The latest membership of an identity bound to this phone (held or ended); 404 ``not_a_member``."""
    membership = session.scalars(
        sa.select(Membership)
        .join(Identity, Identity.id == Membership.identity_id)
        .where(Identity.person_id == person_id)
        .order_by(sa.case((Membership.status.in_(HELD_STATUSES), 0), else_=1), Membership.id.desc())
        .limit(1)
    ).first()
    if membership is None:
        raise NotFound("您还不是工会会员", code="not_a_member")
    return membership


def my_membership(session: Session, *, person_id: int, now: dt.datetime, secret_key: str) -> MembershipDetail:
    """The worker's membership with its history; a held one comes with a fresh card token (``SECRET_KEY``)."""
    membership = own_membership(session, person_id)
    token = (
        members.issue_card_token(membership.id, now, secret_key=secret_key)
        if membership.status in HELD_STATUSES
        else None
    )
    return detail(session, membership, card_token=token)


def withdraw(session: Session, *, actor: Actor, reason: str | None, now: dt.datetime) -> Membership:
    """The member leaves the union (退会): ``active`` or ``retained`` → ``withdrawn``; the number stays theirs."""
    cleaned = _clean_reason(reason)
    membership = own_membership(session, actor.id)
    _change(session, membership, "withdrawn", rule="member", actor=actor, reason=cleaned, now=now)
    return membership


def request_retention(session: Session, *, actor: Actor, reason: str | None, now: dt.datetime) -> Membership:
    """The member asks to keep the membership while out of work (保留会籍); an officer of the union confirms.

    Only an ``active`` membership may ask; asking again replaces the reason of the request waiting.
    """
    cleaned = _clean_reason(reason)
    membership = own_membership(session, actor.id)
    if membership.status != "active":
        raise invalid_transition(
            membership.status,
            "retained",
            "只有正常状态的会籍可以申请保留会籍" if membership.status != "retained" else "您的会籍已是保留会籍",
        )
    union = session.get(Union, membership.union_id)
    assert union is not None
    first = membership.retain_requested_at is None
    membership.retain_requested_at = membership.retain_requested_at or now
    membership.retain_request_reason = cleaned
    _flush_guarded(session)
    record_event(
        session,
        actor=actor,
        action="membership.retain_request",
        object_type="membership",
        object_id=membership.id,
        union_path=union.path,
        details={"first": first, "version": membership.version},
    )
    return membership


# ---------------------------------------------------------------- officers


@dataclass(frozen=True)
class MembershipFilters:
    status: str | None = None
    union_id: str | None = None
    q: str | None = None
    retain_requested: bool | None = None


def _text_filter(q: str) -> sa.ColumnElement[bool]:
    """The review queue's ``q`` rules: an ID number or a phone exactly (blind index), digits a member number,
    anything else a masked-name prefix (the surname)."""
    value = q.strip().upper()
    if _ID_NUMBER.match(value):
        return Identity.id_number_index == keyring().blind_index(value, ID_NUMBER_CONTEXT)
    try:
        phone = normalise_phone(value)
    except InvalidPhone:
        pass
    else:
        return Identity.person_id.in_(sa.select(Person.id).where(Person.phone_index == phone_index(phone)))
    if value.isdigit():
        return Membership.member_no == value
    return Identity.name_masked.startswith(q.strip(), autoescape=True)


def list_memberships(
    session: Session, principal: Actor, *, filters: MembershipFilters, limit: int, cursor: str | None
) -> Page:
    """One page of the memberships held or ended in the officer's subtree, newest first; items are details."""
    statement = (
        sa.select(Membership, Union, Identity)
        .join(Union, Union.id == Membership.union_id)
        .join(Identity, Identity.id == Membership.identity_id)
        .where(principal.covers(Union.path))
    )
    if filters.status:
        statement = statement.where(Membership.status == filters.status)
    if filters.union_id is not None:
        number = parse_id(filters.union_id)
        statement = statement.where(Membership.union_id == number if number else sa.false())
    if filters.retain_requested is True:
        statement = statement.where(Membership.retain_requested_at.is_not(None))
    elif filters.retain_requested is False:
        statement = statement.where(Membership.retain_requested_at.is_(None))
    if filters.q and filters.q.strip():
        statement = statement.where(_text_filter(filters.q))
    page = paginate_rows(session, statement, keys=[Membership.id], limit=limit, cursor=cursor)
    histories = history_of(session, [row[0].id for row in page.items])
    page.items = [
        MembershipDetail(membership=m, union=u, identity=i, history=histories[m.id]) for m, u, i in page.items
    ]
    return page


def membership_in_scope(session: Session, principal: Actor, membership_id: str) -> Membership:
    number = parse_id(membership_id)
    membership = session.get(Membership, number) if number else None
    union = session.get(Union, membership.union_id) if membership is not None else None
    if membership is None or union is None or not principal.covers(union.path):
        raise NotFound("会员不存在", code="membership_not_found")
    return membership


def change_status(
    session: Session,
    principal: Actor,
    membership_id: str,
    *,
    status: str,
    reason: str | None,
    union_id: str | None,
    expected_version: int | None,
    now: dt.datetime,
) -> Membership:
    """An officer changes a membership's status (with a reason), optimistically (``If-Match``).

    ``retained`` is held by ``union_id`` (a union above the membership's) or else by the
    nearest federation above; ``retained`` → ``active`` returns the membership to the
    union that granted it, if that union still accepts members. ``active`` on an active
    membership with a request for retained membership waiting declines the request.
    """
    cleaned = _clean_reason(reason)
    if status not in OFFICER_STATUSES:
        raise ValidationFailed(errors={"status": [f"须为 {' | '.join(OFFICER_STATUSES)} 之一"]})
    membership = membership_in_scope(session, principal, membership_id)
    if expected_version is not None and expected_version != membership.version:
        raise Conflict(
            "该会员的会籍已被他人更新，请刷新后再处理", code="stale_version", current_version=membership.version
        )
    union = session.get(Union, membership.union_id)
    assert union is not None
    if status == "active" and membership.status == "active" and membership.retain_requested_at is not None:
        _decline_retention(session, principal, membership, union)
        return membership
    check_transition("officer", membership.status, status)
    holder: Union | None = None
    if status == "retained":
        holder = _chosen_holder(session, union, union_id)
    elif union_id is not None:
        raise ValidationFailed(errors={"union_id": ["只有保留会籍时才指定管理的上级工会"]})
    if status == "active":
        holder = session.get(Union, _granting_application(session, membership).union_id)
        assert holder is not None
        if not holder.accepting:
            raise invalid_transition(
                membership.status,
                status,
                f"原工会{holder.name}已停止接收会员，请会员在新单位申请入会（会员号不变）",
            )
    _change(session, membership, status, rule="officer", actor=principal, reason=cleaned, now=now, union=holder)
    return membership


def _decline_retention(session: Session, principal: Actor, membership: Membership, union: Union) -> None:
    """Decline a waiting request for retained membership: the membership stays active, the member is told."""
    identity = session.get(Identity, membership.identity_id)
    assert identity is not None
    membership.retain_requested_at = None
    membership.retain_request_reason = None
    _flush_guarded(session)
    record_event(
        session,
        actor=principal,
        action="membership.retain_decline",
        object_type="membership",
        object_id=membership.id,
        union_path=union.path,
        details={"version": membership.version},
    )
    outbox.enqueue_sms(
        session,
        person_id=identity.person_id,
        template="membership_retain_declined",
        params={"union": union.name[:30]},
        subject=("membership", membership.id),
    )
    session.flush()
