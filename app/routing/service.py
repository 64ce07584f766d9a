"""Routing against the database: the snapshot a decision needs, the override rules, and the explanation.

Other features route through ``route_station`` (join codes preview the union, an
application is routed when it is filed) and show a union with ``union_summary``.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, selectinload

from app.actors import Actor
from app.directory.models import Employer, Union
from app.directory.regions import ancestors, contains, display_name
from app.directory.service import MAX_EMPLOYER_CHAIN, audit_change, get_employer, get_station, get_union
from app.errors import AppError, NotFound, ValidationFailed
from app.pagination import Page, paginate
from app.routing.engine import (
    DirectorySnapshot,
    EmployerFacts,
    NoUnionAvailable,
    OverrideRule,
    RouteDecision,
    StationFacts,
    UnionFacts,
    parent_chain,
    route,
)
from app.routing.models import RoutingRule
from app.schemas import union_ref

log = logging.getLogger("ruhui.routing")

_ONE_SUBJECT = "须且只能指定站点（station_id）、用人单位（employer_id）或区域（region_code）之一"


class RoutedStation(Protocol):
    """What routing reads of a station: a ``Station`` row, or the resolve cache's frozen facts of one."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def region_code(self) -> str: ...
    @property
    def employer_id(self) -> int | None: ...
    @property
    def occupation(self) -> str: ...
    @property
    def union_id(self) -> int: ...


def route_station(
    session: Session, station: RoutedStation, occupation: str, employment_form: str | None = None
) -> RouteDecision:
    """Which union receives an application from ``station`` by a worker in ``occupation``, and why.

    Raises ``AppError`` ``no_union_available`` (409, with the ``trace``) when not even
    a federation of the place accepts applications.
    """
    facts = station_facts(station, _managing_path(session, station.union_id))
    snapshot = build_snapshot(session, facts, occupation)
    try:
        return route(snapshot, facts, occupation, employment_form)
    except NoUnionAvailable as exc:
        log.warning("no union accepts applications here", extra={"station_id": station.id})
        raise AppError(
            "该站点所在地区暂无受理入会申请的工会，请联系当地工会",
            code="no_union_available",
            status=409,
            trace=[step.as_json() for step in exc.trace],
        ) from exc


def station_facts(station: RoutedStation, union_path: str) -> StationFacts:
    """The station as the engine sees it; ``union_path`` is the path of the union that manages it."""
    return StationFacts(
        id=station.id,
        name=station.name,
        region_code=station.region_code,
        employer_id=station.employer_id,
        occupation=station.occupation,
        union_path=union_path,
    )


def _managing_path(session: Session, union_id: int) -> str:
    path = session.scalar(sa.select(Union.path).where(Union.id == union_id))
    assert path is not None  # stations.union_id is a foreign key
    return path


def build_snapshot(session: Session, station: StationFacts, occupation: str) -> DirectorySnapshot:
    """The slice of the directory one station's decision can depend on, in a few indexed queries.

    Only unions that could be candidates are loaded: the enterprise unions of the
    employer chain, and the industry, regional and federation unions of the
    station's region and the regions containing it — never the whole tree.
    """
    employers = _employer_chain(session, station.employer_id)
    employer_ids = [employer.id for employer in employers]
    regions = ancestors(station.region_code)
    # Industry unions that do not cover the occupation can never be candidates; leave them in the database.
    covers = sa.cast(Union.occupations, sa.Text).like(f'%"{occupation}"%')
    conditions = [
        sa.and_(Union.kind.in_(("regional", "federation")), Union.region_code.in_(regions)),
        sa.and_(Union.kind == "industry", Union.region_code.in_(regions), covers),
    ]
    if employer_ids:
        conditions.append(sa.and_(Union.kind == "enterprise", Union.employer_id.in_(employer_ids)))
    unions = {facts.id: facts for facts in _union_facts(session, sa.or_(*conditions))}

    subjects = [RoutingRule.station_id == station.id]
    if employer_ids:
        subjects.append(RoutingRule.employer_id.in_(employer_ids))
    if regions:
        subjects.append(sa.and_(RoutingRule.region_code.in_(regions), RoutingRule.occupation == occupation))
    owner = aliased(Union)
    rules = [
        _rule_facts(rule, owner_path, owner_name)
        for rule, owner_path, owner_name in session.execute(
            sa.select(RoutingRule, owner.path, owner.name)
            .join(owner, owner.id == RoutingRule.owner_union_id)
            .where(sa.or_(*subjects))
        ).all()
    ]
    missing = {rule.union_id for rule in rules} - unions.keys()
    if missing:
        unions.update({facts.id: facts for facts in _union_facts(session, Union.id.in_(missing))})
    return DirectorySnapshot.of(
        unions=unions.values(),
        employers=[
            EmployerFacts(id=e.id, name=e.name, region_code=e.region_code, parent_id=e.parent_id) for e in employers
        ],
        rules=rules,
    )


def _employer_chain(session: Session, employer_id: int | None) -> list[Employer]:
    return parent_chain(employer_id, lambda number: session.get(Employer, number), MAX_EMPLOYER_CHAIN)


def _union_facts(session: Session, condition: sa.ColumnElement[bool]) -> list[UnionFacts]:
    """Plain rows, not ORM objects: a district can hold hundreds of candidate unions."""
    rows = session.execute(
        sa.select(
            Union.id,
            Union.name,
            Union.kind,
            Union.region_code,
            Union.occupations,
            Union.employer_id,
            Union.accepting,
            Union.path,
        ).where(condition)
    )
    return [
        UnionFacts(
            id=row.id,
            name=row.name,
            kind=row.kind,
            region_code=row.region_code,
            occupations=frozenset(row.occupations or ()),
            employer_id=row.employer_id,
            accepting=row.accepting,
            path=row.path,
        )
        for row in rows
    ]


def _rule_facts(rule: RoutingRule, owner_path: str, owner_name: str) -> OverrideRule:
    return OverrideRule(
        id=rule.id,
        union_id=rule.union_id,
        priority=rule.priority,
        station_id=rule.station_id,
        employer_id=rule.employer_id,
        region_code=rule.region_code,
        occupation=rule.occupation,
        note=rule.note,
        owner_path=owner_path,
        owner_name=owner_name,
    )


def union_summary(session: Session, union_id: int) -> dict[str, str]:
    """A union as applications and memberships show it: ``{"id","name","kind"}`` (id as a string)."""
    union = session.get(Union, union_id)
    if union is None:
        raise NotFound("工会不存在")
    return union_ref(union)


def explain_route(
    session: Session, scope: Actor, *, station_id: int, occupation: str, employment_form: str | None = None
) -> dict[str, Any]:
    """The decision for a station in the scope, with its trace, as ``GET /routing/explain`` shows it."""
    station = get_station(session, scope, station_id)
    decision = route_station(session, station, occupation, employment_form)
    return {
        **decision.as_json(),
        "station": {
            "id": str(station.id),
            "name": station.name,
            "region_code": station.region_code,
            "region_name": display_name(station.region_code),
        },
        "occupation": occupation,
        "employment_form": employment_form,
    }


# --- override rules -------------------------------------------------------------------------------------------------


def create_rule(
    session: Session,
    scope: Actor,
    *,
    union_id: int,
    priority: int = 0,
    station_id: int | None = None,
    employer_id: int | None = None,
    region_code: str | None = None,
    occupation: str | None = None,
    note: str = "",
) -> RoutingRule:
    """Add an override rule owned by the officer's union; its subject and its union must be in the scope.

    The rule belongs to the officer's subtree for good (``owner_union_id``): routing
    applies it only to stations managed inside that subtree, sending them only to a
    union inside it, however the tree changes later.
    """
    subjects = [value for value in (station_id, employer_id, region_code) if value is not None]
    if len(subjects) != 1:
        raise ValidationFailed(errors={"_schema": [_ONE_SUBJECT]})
    if region_code is not None and occupation is None:
        raise ValidationFailed(errors={"occupation": ["按区域设置的覆盖规则须指定职业"]})
    union = get_union(session, scope, union_id)
    if station_id is not None:
        get_station(session, scope, station_id)
    if employer_id is not None:
        get_employer(session, scope, employer_id)
    if region_code is not None:
        home = get_union(session, scope, scope.union_id)
        if not contains(home.region_code, region_code):
            place = display_name(home.region_code)
            raise ValidationFailed(errors={"region_code": [f"须在您所在工会的区域（{place}）之内"]})
    rule = RoutingRule(
        union_id=union.id,
        owner_union_id=scope.union_id,
        priority=priority,
        station_id=station_id,
        employer_id=employer_id,
        region_code=region_code,
        occupation=occupation,
        note=note,
    )
    session.add(rule)
    session.flush()
    rule.union = union
    log.info("override rule created", extra={"rule_id": rule.id, "union_id": union.id})
    audit_change(session, scope, "routing_rule.create", rule, union.path, union_id=str(union.id))
    return rule


def _rules_in_scope(session: Session, scope: Actor) -> sa.Select[RoutingRule]:
    """Rules that belong to the scope: made by an admin of a union inside it."""
    return (
        sa.select(RoutingRule)
        .join(Union, Union.id == RoutingRule.owner_union_id)
        .where(scope.covers(Union.path))
        .options(selectinload(RoutingRule.union))
    )


def get_rule(session: Session, scope: Actor, rule_id: int) -> RoutingRule:
    rule = session.scalars(_rules_in_scope(session, scope).where(RoutingRule.id == rule_id)).first()
    if rule is None:
        raise NotFound("覆盖规则不存在")
    return rule


def list_rules(
    session: Session,
    scope: Actor,
    *,
    limit: int,
    cursor: str | None = None,
    union_id: int | None = None,
    station_id: int | None = None,
    employer_id: int | None = None,
    region_code: str | None = None,
    occupation: str | None = None,
) -> Page:
    """The override rules of the scope, highest priority first."""
    statement = _rules_in_scope(session, scope)
    for column, value in (
        (RoutingRule.union_id, union_id),
        (RoutingRule.station_id, station_id),
        (RoutingRule.employer_id, employer_id),
        (RoutingRule.region_code, region_code),
        (RoutingRule.occupation, occupation),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return paginate(
        session, statement, keys=[RoutingRule.priority, RoutingRule.id], limit=limit, cursor=cursor, descending=True
    )


def delete_rule(session: Session, scope: Actor, rule_id: int) -> None:
    """Remove an override rule; routing falls back to the ordinary rules at once."""
    rule = get_rule(session, scope, rule_id)
    audit_change(session, scope, "routing_rule.delete", rule, rule.union.path, union_id=str(rule.union_id))
    session.delete(rule)
    session.flush()
    log.info("override rule deleted", extra={"rule_id": rule_id})
