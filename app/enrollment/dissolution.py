"""When a union closes (撤销): it stops accepting, its open applications go elsewhere, its members are retained.

``dissolve_union`` does it all in the caller's transaction, so it happens whole or not
at all: the union's ``accepting`` is switched off; each open (pending or returned)
application routed to it is routed again by the engine, which now passes it over, with
a ``dissolution`` hop in its trace (where the engine finds nobody, it goes to the
union that takes the members); each ``active`` membership becomes ``retained`` with
the union above (the nearest federation, see ``memberships.default_holder``) or with
``members_to``, and each ``retained`` membership it held moves to that union too, every
one with its history entry and its member's SMS. A dry run counts the same rows and
changes nothing. Admins only, of a union strictly below their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.actors import Actor, within_subtree
from app.audit.service import record_event
from app.db import parse_id
from app.directory.models import Station, Union
from app.enrollment import memberships
from app.enrollment.models import HELD_STATUSES, OPEN_STATUSES, Application, Membership, route_hop
from app.errors import AppError, Forbidden, NotFound, ValidationFailed
from app.notify.models import OutboxMessage
from app.routing import service as routing


@dataclass(frozen=True)
class Dissolution:
    union: Union
    members_to: Union
    applications: int
    members: int
    retained_moved: int
    dry_run: bool


def _target(session: Session, principal: Actor, union_id: str) -> Union:
    number = parse_id(union_id)
    union = session.get(Union, number) if number else None
    if union is None or not principal.covers(union.path):
        raise NotFound("工会不存在", code="union_not_found")
    if union.path == principal.subtree:
        raise Forbidden("撤销本级工会须由上级工会管理员办理")
    return union


def _members_to(session: Session, principal: Actor, union: Union, members_to: str | None) -> Union:
    if members_to is None:
        return memberships.default_holder(session, union)
    number = parse_id(members_to)
    target = session.get(Union, number) if number else None
    if target is None or not principal.covers(target.path):
        raise NotFound("接收会员的工会不存在", code="union_not_found")
    if within_subtree(target.path, union.path):
        raise ValidationFailed(errors={"members_to": ["不能由被撤销的工会或其下级工会接收会员"]})
    if not target.accepting:
        raise ValidationFailed(errors={"members_to": ["该工会目前不接收会员"]})
    return target


def dissolve_union(
    session: Session,
    principal: Actor,
    union_id: str,
    *,
    reason: str | None,
    members_to: str | None,
    dry_run: bool,
    now: dt.datetime,
) -> Dissolution:
    """Close ``union_id``: see the module's docstring. The counts are what was (or, dry, would be) changed."""
    cleaned = " ".join((reason or "").split())
    if not cleaned:
        raise ValidationFailed(errors={"reason": ["撤销工会须填写原因"]})
    union = _target(session, principal, union_id)
    holder = _members_to(session, principal, union, members_to)
    open_applications = list(
        session.scalars(
            sa.select(Application)
            .where(Application.union_id == union.id, Application.status.in_(OPEN_STATUSES))
            .order_by(Application.id)
        )
    )
    held = list(
        session.scalars(
            sa.select(Membership)
            .where(Membership.union_id == union.id, Membership.status.in_(HELD_STATUSES))
            .order_by(Membership.id)
        )
    )
    active = [m for m in held if m.status == "active"]
    result = Dissolution(
        union=union,
        members_to=holder,
        applications=len(open_applications),
        members=len(active),
        retained_moved=len(held) - len(active),
        dry_run=dry_run,
    )
    if dry_run:
        return result

    union.accepting = False
    session.flush()  # the engine reads the directory from the database: it must see the union closed
    _reroute(session, open_applications, union, holder, reason=cleaned, now=now)
    memberships.retain_for_dissolution(
        session, held, holder=holder, actor=principal, reason=f"工会撤销：{cleaned}", now=now
    )
    record_event(
        session,
        actor=principal,
        action="union.dissolve",
        object_type="union",
        object_id=union.id,
        union_path=union.path,
        details={
            "members_to": str(holder.id),
            "applications": result.applications,
            "members": result.members,
            "retained_moved": result.retained_moved,
            "reason_given": True,
        },
    )
    session.flush()
    return result


def _reroute(
    session: Session,
    applications: list[Application],
    union: Union,
    holder: Union,
    *,
    reason: str,
    now: dt.datetime,
) -> None:
    """Route each open application again (one decision per station, occupation and form), with its hop."""
    decisions: dict[tuple[int, str, str], tuple[Union, str, list[str]]] = {}
    notices: list[dict[str, Any]] = []
    for application in applications:
        key = (application.station_id, application.occupation, application.employment_form)
        if key not in decisions:
            decisions[key] = _decide(session, key, holder)
        target, rule, reasons = decisions[key]
        hop = route_hop(
            target,
            at=now,
            by="dissolution",
            rule=rule,
            reasons=[f"原受理工会{union.name}已撤销：{reason}", *reasons],
            from_union_id=str(union.id),
        )
        application.route_to(target, rule=rule, hop=hop)
        notices.append(
            {
                "channel": "sms",
                "template": "application_transferred",
                "person_id": application.person_id,
                "params": {"union": target.name[:30]},
                "subject_type": "application",
                "subject_id": str(application.id),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
            }
        )
    session.flush()
    if notices:  # one batch, as the members' notices (``memberships.retain_for_dissolution``)
        session.execute(sa.insert(OutboxMessage), notices)


def _decide(session: Session, key: tuple[int, str, str], holder: Union) -> tuple[Union, str, list[str]]:
    station_id, occupation, employment_form = key
    station = session.get(Station, station_id)
    assert station is not None  # a foreign key
    try:
        decision = routing.route_station(session, station, occupation, employment_form)
    except AppError:  # no_union_available: nobody of the place accepts; the members' new union takes it
        return holder, "dissolution", ["当地暂无其他受理入会申请的工会，转由接收会员的工会办理。"]
    target = session.get(Union, decision.union_id)
    assert target is not None
    return target, decision.rule, list(decision.reasons)


def counts(result: Dissolution) -> dict[str, Any]:
    """The response body: what was (or would be) changed."""
    return {
        "dry_run": result.dry_run,
        "union": result.union,
        "members_to": result.members_to,
        "applications": result.applications,
        "members": result.members,
        "retained_moved": result.retained_moved,
    }
