"""Founding rules: the targets' ledger, cases and their stages, founded means routed, and rehoming.

Every function takes the officer as ``scope`` (``app.actors.Actor``): a target belongs to
the union that keeps it (``FoundingTarget.union_id``), a case to its responsible union;
anything outside the scope answers 404, like the directory.

Founded means routed: a case reaching ``active`` creates (or links) the enterprise union
of the target's employer, accepting, under the responsible union. Routing builds its
snapshot from the database for every decision (``app.routing.service.build_snapshot``,
no cache), so rule 2 picks the new union from the next application on. A case ending
``joined_joint_union`` ties the employer's stations to the joint union with station
override rules (rule 1). ``rehome`` then moves what was routed before the union existed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from app.actors import Actor
from app.audit.service import record_event
from app.auth.models import Officer
from app.clock import CHINA
from app.directory import service as directory
from app.directory.models import Employer, Station, Union
from app.directory.regions import within
from app.directory.uscc import normalise_uscc, uscc_problem
from app.enrollment.models import Application, Membership, route_hop
from app.errors import AppError, Conflict, NotFound, ValidationFailed
from app.founding.models import FoundingCase, FoundingCaseStep, FoundingListing, FoundingTarget
from app.founding.vocabulary import CLOSED_STAGES, EXITS, STAGE_NAMES, STAGE_ORDER, STAGES
from app.notify import outbox
from app.pagination import Page, paginate
from app.review import service as review
from app.routing import service as routing
from app.routing.models import RoutingRule

log = logging.getLogger("ruhui.founding")

# Unions whose members and applications a founded union takes over: the fallback federations and the
# regional and industry unions that held the unit's workers while it had no union of its own.
REHOMED_FROM_KINDS = ("federation", "regional", "industry")
# Each stage's next one: a case moves forward one step at a time.
_NEXT = dict(itertools.pairwise(STAGE_ORDER))


def today_in_china(now: dt.datetime) -> dt.date:
    return now.astimezone(CHINA).date()


# --- targets --------------------------------------------------------------------------------------------------------


def has_union_condition() -> sa.ColumnElement[bool]:
    """A target has a union: its employer has an enterprise union, or its case joined a joint union."""
    union = aliased(Union)
    enterprise = (
        sa.select(union.id)
        .where(union.kind == "enterprise", union.employer_id == FoundingTarget.employer_id)
        .correlate(FoundingTarget)
    )
    joined = (
        sa.select(FoundingCase.id)
        .where(FoundingCase.target_id == FoundingTarget.id, FoundingCase.stage == "joined_joint_union")
        .correlate(FoundingTarget)
    )
    return sa.or_(sa.exists(enterprise), sa.exists(joined))


def _in_sectors(scope: Actor) -> sa.ColumnElement[bool]:
    """A liaison reads its sectors only (``Actor.sectors``); every other officer all of them."""
    return sa.true() if scope.sectors is None else FoundingTarget.sector.in_(scope.sectors)


def _targets_in_scope(scope: Actor) -> sa.Select[FoundingTarget]:
    keeper = aliased(Union)
    return (
        sa.select(FoundingTarget)
        .join(keeper, keeper.id == FoundingTarget.union_id)
        .where(scope.covers(keeper.path), _in_sectors(scope))
    )


def get_target(session: Session, scope: Actor, target_id: int) -> FoundingTarget:
    target = session.scalars(_targets_in_scope(scope).where(FoundingTarget.id == target_id)).first()
    if target is None:
        raise NotFound("应建单位不存在", code="target_not_found")
    return target


def list_targets(
    session: Session,
    scope: Actor,
    *,
    limit: int,
    cursor: str | None = None,
    region_code: str | None = None,
    sector: str | None = None,
    source: str | None = None,
    has_union: bool | None = None,
    min_headcount: int | None = None,
) -> Page:
    """The targets kept in the scope, newest first; ``region_code`` takes the regions within it too."""
    statement = _targets_in_scope(scope)
    if region_code is not None:
        statement = statement.where(FoundingTarget.region_code.in_(within(region_code)))
    if sector is not None:
        statement = statement.where(FoundingTarget.sector == sector)
    if source is not None:
        listed = sa.select(FoundingListing.id).where(
            FoundingListing.target_id == FoundingTarget.id,
            FoundingListing.source == source,
            FoundingListing.gone.is_(False),
        )
        statement = statement.where(sa.exists(listed))
    if has_union is not None:
        condition = has_union_condition()
        statement = statement.where(condition if has_union else ~condition)
    if min_headcount is not None:
        statement = statement.where(FoundingTarget.headcount >= min_headcount)
    return paginate(session, statement, keys=[FoundingTarget.id], limit=limit, cursor=cursor)


@dataclass
class TargetView:
    target: FoundingTarget
    union: Union | None


def target_views(session: Session, targets: list[FoundingTarget]) -> list[TargetView]:
    unions = target_unions(session, targets)
    return [TargetView(target, unions.get(target.id)) for target in targets]


def target_unions(session: Session, targets: list[FoundingTarget]) -> dict[int, Union]:
    """Each target's union, when it has one: its employer's enterprise union, else the joint union it joined."""
    found: dict[int, Union] = {}
    employer_ids = {t.employer_id for t in targets if t.employer_id is not None}
    if employer_ids:
        by_employer: dict[int, Union] = {}
        for union in session.scalars(
            sa.select(Union)
            .where(Union.kind == "enterprise", Union.employer_id.in_(list(employer_ids)))
            .order_by(Union.id.desc())
        ):
            assert union.employer_id is not None
            by_employer[union.employer_id] = union  # the first built wins (ids descending)
        for target in targets:
            if target.employer_id in by_employer:
                found[target.id] = by_employer[target.employer_id]
    rest = [t.id for t in targets if t.id not in found]
    if rest:
        for target_id, union in session.execute(
            sa.select(FoundingCase.target_id, Union)
            .join(Union, Union.id == FoundingCase.joint_union_id)
            .where(FoundingCase.target_id.in_(rest), FoundingCase.stage == "joined_joint_union")
        ):
            found[target_id] = union
    return found


# --- cases ----------------------------------------------------------------------------------------------------------


@dataclass
class CaseView:
    """A case with what its representation shows: the target (and its union), the history, overdue."""

    case: FoundingCase
    target: FoundingTarget
    target_union: Union | None
    union: Union
    history: list[FoundingCaseStep]
    overdue: bool
    founded_union: Union | None = None
    joint_union: Union | None = None
    rules_created: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def is_overdue(case: FoundingCase, today: dt.date) -> bool:
    """Past its planned date and not finished (``active``, joined a joint union, or not applicable)."""
    return case.planned_by is not None and case.planned_by < today and case.stage not in CLOSED_STAGES


def overdue_condition(today: dt.date) -> sa.ColumnElement[bool]:
    return sa.and_(
        FoundingCase.planned_by.is_not(None),
        FoundingCase.planned_by < today,
        FoundingCase.stage.not_in(CLOSED_STAGES),
    )


def _cases_in_scope(scope: Actor) -> sa.Select[FoundingCase]:
    responsible = aliased(Union)
    statement = (
        sa.select(FoundingCase)
        .join(responsible, responsible.id == FoundingCase.union_id)
        .where(scope.covers(responsible.path))
    )
    if scope.sectors is not None:
        statement = statement.join(FoundingTarget, FoundingTarget.id == FoundingCase.target_id).where(
            _in_sectors(scope)
        )
    return statement


def _case(session: Session, scope: Actor, case_id: int) -> FoundingCase:
    case = session.scalars(_cases_in_scope(scope).where(FoundingCase.id == case_id)).first()
    if case is None:
        raise NotFound("建会工作不存在", code="case_not_found")
    return case


def case_views(session: Session, cases: list[FoundingCase], now: dt.datetime) -> list[CaseView]:
    """The representations of a page of cases, in a few queries."""
    if not cases:
        return []
    targets = {
        t.id: t
        for t in session.scalars(sa.select(FoundingTarget).where(FoundingTarget.id.in_({c.target_id for c in cases})))
    }
    union_ids = {c.union_id for c in cases} | {
        i for c in cases for i in (c.founded_union_id, c.joint_union_id) if i is not None
    }
    unions = {u.id: u for u in session.scalars(sa.select(Union).where(Union.id.in_(union_ids)))}
    steps: dict[int, list[FoundingCaseStep]] = {c.id: [] for c in cases}
    for step in session.scalars(
        sa.select(FoundingCaseStep)
        .where(FoundingCaseStep.case_id.in_(list(steps)))
        .order_by(FoundingCaseStep.case_id, FoundingCaseStep.id)
    ):
        steps[step.case_id].append(step)
    owned = target_unions(session, list(targets.values()))
    today = today_in_china(now)
    return [
        CaseView(
            case=case,
            target=targets[case.target_id],
            target_union=owned.get(case.target_id),
            union=unions[case.union_id],
            history=steps[case.id],
            overdue=is_overdue(case, today),
            founded_union=unions.get(case.founded_union_id) if case.founded_union_id else None,
            joint_union=unions.get(case.joint_union_id) if case.joint_union_id else None,
        )
        for case in cases
    ]


def get_case(session: Session, scope: Actor, case_id: int, now: dt.datetime) -> CaseView:
    return case_views(session, [_case(session, scope, case_id)], now)[0]


def list_cases(
    session: Session,
    scope: Actor,
    *,
    now: dt.datetime,
    limit: int,
    cursor: str | None = None,
    stage: str | None = None,
    source: str | None = None,
    target_id: int | None = None,
    overdue: bool | None = None,
) -> Page:
    """The cases of the scope's unions, newest first."""
    statement = _cases_in_scope(scope)
    if stage is not None:
        statement = statement.where(FoundingCase.stage == stage)
    if source is not None:
        statement = statement.where(FoundingCase.source == source)
    if target_id is not None:
        statement = statement.where(FoundingCase.target_id == target_id)
    if overdue is not None:
        condition = overdue_condition(today_in_china(now))
        statement = statement.where(condition if overdue else ~condition)
    page = paginate(session, statement, keys=[FoundingCase.id], limit=limit, cursor=cursor)
    return Page(items=case_views(session, page.items, now), next_cursor=page.next_cursor)


def create_case(
    session: Session,
    scope: Actor,
    *,
    target_id: int,
    union_id: int,
    officer_id: int | None = None,
    planned_by: dt.date | None = None,
    now: dt.datetime,
) -> CaseView:
    """Open a case for a target in the scope, with a responsible union in the scope; one open case per target."""
    target = get_target(session, scope, target_id)
    union = directory.get_union(session, scope, union_id, missing="负责的工会不存在")
    if officer_id is not None:
        officer = session.get(Officer, officer_id)
        keeper = session.get(Union, officer.union_id) if officer is not None else None
        if officer is None or keeper is None or not scope.covers(keeper.path) or not officer.active:
            raise NotFound("负责的工作人员不存在", code="officer_not_found")
    _refuse_second_open_case(session, target.id)
    _link_employer(session, target)
    case = FoundingCase(
        target_id=target.id,
        union_id=union.id,
        officer_id=officer_id,
        planned_by=planned_by,
        stage="identified",
        source="officer",
        figures={},
    )
    session.add(case)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise _open_case_conflict() from None
    _step(session, scope, case, None, "identified", now=now, note="")
    return get_case(session, scope, case.id, now)


def _open_case_conflict() -> Conflict:
    return Conflict("该单位已有进行中的建会工作", code="case_open")


def _refuse_second_open_case(session: Session, target_id: int) -> None:
    if session.scalar(
        sa.select(FoundingCase.id).where(FoundingCase.target_id == target_id, FoundingCase.stage.not_in(CLOSED_STAGES))
    ):
        raise _open_case_conflict()


def _link_employer(session: Session, target: FoundingTarget) -> None:
    if target.employer_id is None and target.uscc:
        target.employer_id = session.scalar(sa.select(Employer.id).where(Employer.uscc == target.uscc))


def _step(
    session: Session,
    scope: Actor | None,
    case: FoundingCase,
    from_stage: str | None,
    stage: str,
    *,
    now: dt.datetime,
    note: str,
    document_no: str | None = None,
    joint_union_id: int | None = None,
) -> FoundingCaseStep:
    """A history entry and its audit event (ids, stages and the document number; the note stays in the history)."""
    officer_id = scope.id if scope is not None and scope.kind == "officer" else None
    step = FoundingCaseStep(
        case_id=case.id,
        from_stage=from_stage,
        stage=stage,
        at=now,
        officer_id=officer_id,
        note=note,
        document_no=document_no,
        joint_union_id=joint_union_id,
    )
    session.add(step)
    union = session.get(Union, case.union_id)
    assert union is not None
    record_event(
        session,
        actor=scope,
        action="founding_case.open" if from_stage is None else "founding_case.stage",
        object_type="founding_case",
        object_id=case.id,
        union_path=union.path,
        details={"from": from_stage, "to": stage, "target_id": str(case.target_id), "source": case.source},
    )
    return step


def allowed_stages(case: FoundingCase) -> list[str]:
    """Where a case may go from its stage: the next stage, or an exit; a deferred case resumes where it left."""
    if case.stage in CLOSED_STAGES:
        return []
    if case.stage == "deferred":
        return [case.deferred_from or "identified", "joined_joint_union", "not_applicable"]
    forward = [_NEXT[case.stage]] if case.stage in _NEXT else []
    return [*forward, *EXITS]


def change_stage(
    session: Session,
    scope: Actor,
    case_id: int,
    *,
    stage: str,
    note: str = "",
    document_no: str | None = None,
    joint_union_id: int | None = None,
    expected_version: int | None,
    now: dt.datetime,
) -> CaseView:
    """Move a case one step (or to an exit); 409 ``stale_version`` when ``If-Match`` is not its version.

    ``registered`` needs the union's USCC (法人登记) in ``document_no``; ``joined_joint_union``
    needs the joint or regional union (``joint_union_id``); ``active`` founds the union.
    """
    case = _case(session, scope, case_id)
    if expected_version is not None and expected_version != case.version:
        raise Conflict("该建会工作已被他人更新，请刷新后再操作", code="stale_version", current_version=case.version)
    if stage not in STAGES:
        raise ValidationFailed(errors={"stage": ["不是有效的建会阶段"]})
    allowed = allowed_stages(case)
    if stage not in allowed:
        raise Conflict(
            f"建会工作处于「{STAGE_NAMES[case.stage]}」，不能改为「{STAGE_NAMES[stage]}」",
            code="invalid_transition",
            stage=case.stage,
            allowed=allowed,
        )
    note = " ".join(note.split())
    document_no = " ".join((document_no or "").split()) or None
    joint: Union | None = None
    if stage == "registered":
        if document_no is None:
            raise ValidationFailed(errors={"document_no": ["法人资格登记须填写工会的统一社会信用代码"]})
        document_no = normalise_uscc(document_no)
        problem = uscc_problem(document_no)
        if problem:
            raise ValidationFailed(errors={"document_no": [problem]})
    if stage == "joined_joint_union":
        if joint_union_id is None:
            raise ValidationFailed(errors={"joint_union_id": ["须指定加入的联合基层工会或区域工会"]})
        joint = directory.get_union(session, scope, joint_union_id, missing="联合基层工会不存在")
        if joint.kind == "federation":
            raise ValidationFailed(
                errors={"joint_union_id": ["须为联合基层工会、区域工会或行业工会，不能是地方总工会"]}
            )
    elif joint_union_id is not None:
        raise ValidationFailed(errors={"joint_union_id": ["只有加入联合基层工会时才可指定"]})

    target = session.get(FoundingTarget, case.target_id)
    assert target is not None
    from_stage = case.stage
    if stage == "deferred":
        case.deferred_from = from_stage
    elif from_stage == "deferred":
        case.deferred_from = None
    case.stage = stage
    if stage == "registered":
        case.registered_uscc = document_no
    if stage in CLOSED_STAGES:
        case.closed_at = now
    if joint is not None:
        case.joint_union_id = joint.id
    try:
        # The version-checked UPDATE first: of two officers moving the case at once, the one who lost
        # learns it here, before founding a union or writing a rule.
        session.flush()
    except StaleDataError:
        raise Conflict("该建会工作刚被其他工作人员更新，请刷新后查看", code="stale_version") from None
    rules_created = 0
    if stage == "active":
        founded = _found_union(session, scope, case, target)
        case.founded_union_id = founded.id
    if joint is not None:
        rules_created = _tie_stations(session, scope, case, target, joint)
    _step(
        session,
        scope,
        case,
        from_stage,
        stage,
        now=now,
        note=note,
        document_no=document_no,
        joint_union_id=joint.id if joint else None,
    )
    session.flush()
    log.info("founding case moved", extra={"case_id": case.id, "from_stage": from_stage, "to_stage": stage})
    view = get_case(session, scope, case.id, now)
    view.rules_created = rules_created
    return view


# --- founded means routed -------------------------------------------------------------------------------------------


def _target_employer(session: Session, scope: Actor, case: FoundingCase, target: FoundingTarget) -> Employer:
    """The target's employer: linked, found by USCC, the station's, or registered now under the responsible union."""
    _link_employer(session, target)
    if target.employer_id is None and target.station_id is not None:
        station = session.get(Station, target.station_id)
        if station is not None and station.employer_id is not None:
            target.employer_id = station.employer_id
    if target.employer_id is not None:
        employer = session.get(Employer, target.employer_id)
        assert employer is not None
        return employer
    if not target.uscc:
        raise Conflict(
            "该应建单位尚无统一社会信用代码，无法建立企业工会；请先在目录中登记用人单位并关联站点",
            code="invalid_transition",
            stage=case.stage,
            allowed=allowed_stages(case),
        )
    parent_id = None
    if target.parent_uscc:
        parent_id = session.scalar(sa.select(Employer.id).where(Employer.uscc == target.parent_uscc))
    employer = directory.create_employer(
        session,
        scope,
        name=target.name,
        uscc=target.uscc,
        region_code=target.region_code,
        parent_id=parent_id,
        union_id=case.union_id,
    )
    target.employer_id = employer.id
    return employer


def _found_union(session: Session, scope: Actor, case: FoundingCase, target: FoundingTarget) -> Union:
    """Create the employer's enterprise union (accepting, under the responsible union), or link the one it has."""
    employer = _target_employer(session, scope, case, target)
    existing = session.scalars(
        sa.select(Union).where(Union.kind == "enterprise", Union.employer_id == employer.id).order_by(Union.id)
    ).first()
    if existing is not None:
        if not existing.accepting:
            directory.update_union(session, scope, existing.id, {"accepting": True})
        log.info("founding case linked an existing union", extra={"case_id": case.id, "union_id": existing.id})
        return existing
    name = f"{employer.name}工会委员会"[:100]
    union = directory.create_union(
        session,
        scope,
        name=name,
        kind="enterprise",
        parent_id=case.union_id,
        region_code=employer.region_code,
        employer_id=employer.id,
        accepting=True,
    )
    log.info("founding case founded a union", extra={"case_id": case.id, "union_id": union.id})
    return union


def _employer_family(session: Session, employer_id: int) -> list[int]:
    """The employer and its branches, depots… (every employer below it), breadth first."""
    family = [employer_id]
    wanted = [employer_id]
    while wanted and len(family) < 10_000:
        wanted = [
            number
            for number in session.scalars(sa.select(Employer.id).where(Employer.parent_id.in_(wanted)))
            if number not in family
        ]
        family.extend(wanted)
    return family


def target_stations(session: Session, scope: Actor, target: FoundingTarget) -> list[Station]:
    """The target's stations in the scope: those of its employer and its branches, or the station it names."""
    managing = aliased(Union)
    statement = sa.select(Station).join(managing, managing.id == Station.union_id).where(scope.covers(managing.path))
    if target.employer_id is not None:
        statement = statement.where(Station.employer_id.in_(_employer_family(session, target.employer_id)))
    elif target.station_id is not None:
        statement = statement.where(Station.id == target.station_id)
    else:
        return []
    return list(session.scalars(statement.order_by(Station.id)))


def _tie_stations(session: Session, scope: Actor, case: FoundingCase, target: FoundingTarget, joint: Union) -> int:
    """A station rule to the joint union for each of the target's stations that has none to it yet."""
    _link_employer(session, target)
    stations = target_stations(session, scope, target)
    tied = set(
        session.scalars(
            sa.select(RoutingRule.station_id).where(
                RoutingRule.union_id == joint.id, RoutingRule.station_id.in_([s.id for s in stations])
            )
        )
    )
    created = 0
    for station in stations:
        if station.id in tied:
            continue
        routing.create_rule(
            session,
            scope,
            union_id=joint.id,
            station_id=station.id,
            note=f"建会工作 #{case.id}：{target.name[:60]}加入{joint.name[:60]}",
        )
        created += 1
    return created


# --- rehoming what was routed before the union existed --------------------------------------------------------------


@dataclass
class Rehomed:
    applications: int
    members: int


def rehome(session: Session, scope: Actor, case_id: int, *, dry_run: bool, now: dt.datetime) -> Rehomed:
    """Move the target's pending applications and active members from fallback, regional or industry
    unions into the union the case founded (or joined), when routing would now send them there.

    ``dry_run`` counts and changes nothing. Each moved application gets a route hop, each moved
    member the transfer of ``app.enrollment`` (the old membership ``transferred_out``, a new one
    under the same member number); all in the caller's one transaction.
    """
    case = _case(session, scope, case_id)
    union_id = case.founded_union_id if case.stage == "active" else case.joint_union_id
    if case.stage not in ("active", "joined_joint_union") or union_id is None:
        raise Conflict(
            "只有已建会运行或已加入联合基层工会的建会工作才能转入会员和申请",
            code="invalid_transition",
            stage=case.stage,
            allowed=allowed_stages(case),
        )
    home = session.get(Union, union_id)
    target = session.get(FoundingTarget, case.target_id)
    assert home is not None and target is not None
    stations = {s.id: s for s in target_stations(session, scope, target)}
    if not stations:
        return Rehomed(0, 0)
    decisions: dict[tuple[int, str, str], int | None] = {}

    def routes_home(application: Application) -> bool:
        key = (application.station_id, application.occupation, application.employment_form)
        if key not in decisions:
            try:
                decision = routing.route_station(
                    session, stations[application.station_id], application.occupation, application.employment_form
                )
                decisions[key] = decision.union_id
            except AppError as error:
                if error.code != "no_union_available":
                    raise
                decisions[key] = None  # nothing takes the worker there now; it stays where it is
        return decisions[key] == home.id

    held = aliased(Union)
    in_other_union = sa.and_(held.kind.in_(REHOMED_FROM_KINDS), held.id != home.id, scope.covers(held.path))
    pending = [
        application
        for application in session.scalars(
            sa.select(Application)
            .join(held, held.id == Application.union_id)
            .where(Application.station_id.in_(list(stations)), Application.status == "pending", in_other_union)
            .order_by(Application.id)
        )
        if routes_home(application)
    ]
    members = [
        (membership, application)
        for membership, application in session.execute(
            sa.select(Membership, Application)
            .join(Application, Application.id == Membership.application_id)
            .join(held, held.id == Membership.union_id)
            .where(Membership.status == "active", Application.station_id.in_(list(stations)), in_other_union)
            .order_by(Membership.id)
        )
        if routes_home(application)
    ]
    result = Rehomed(applications=len(pending), members=len(members))
    if dry_run:
        return result
    reason = f"{home.name}已建立，该单位的入会申请和会员关系转由其受理（建会工作 #{case.id}）"
    for application in pending:
        _move_application(session, scope, application, home, reason, case, now)
        outbox.enqueue_sms(
            session,
            person_id=application.person_id,
            template="application_transferred",
            params={"union": home.name[:30]},
            subject=("application", application.id),
        )
    for membership, application in members:
        _move_member(session, scope, membership, application, home, reason, case, now)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("有申请刚被其他工作人员处理，请刷新后重试", code="stale_version") from None
    union = session.get(Union, case.union_id)
    assert union is not None
    record_event(
        session,
        actor=scope,
        action="founding_case.rehome",
        object_type="founding_case",
        object_id=case.id,
        union_path=union.path,
        details={"union_id": str(home.id), "applications": result.applications, "members": result.members},
    )
    log.info(
        "founding case rehomed",
        extra={"case_id": case.id, "applications": result.applications, "members": result.members},
    )
    return result


def _move_application(
    session: Session,
    scope: Actor,
    application: Application,
    home: Union,
    reason: str,
    case: FoundingCase,
    now: dt.datetime,
) -> None:
    source_union_id, source_path = application.union_id, application.union_path
    extra = {"from_union_id": str(source_union_id), "founding_case_id": str(case.id)}
    if scope.kind == "officer":
        extra["officer_id"] = str(scope.id)
    hop = route_hop(home, at=now, by="transfer", rule="transfer", reasons=[reason], **extra)
    application.route_to(home, rule="transfer", hop=hop)
    details = {"from_union_id": str(source_union_id), "to_union_id": str(home.id), "founding_case_id": str(case.id)}
    review.record_transfer(session, scope, application, source_path=source_path, target=home, details=details)


def _move_member(
    session: Session,
    scope: Actor,
    membership: Membership,
    application: Application,
    home: Union,
    reason: str,
    case: FoundingCase,
    now: dt.datetime,
) -> None:
    """The transfer of ``grant_membership``: the old membership ends ``transferred_out``, the new keeps its number."""
    source_union = session.get(Union, membership.union_id)
    assert source_union is not None
    membership.status = "transferred_out"
    membership.ended_at = now
    session.flush()  # the old membership leaves "active" before the new one may enter it
    session.add(
        Membership(
            identity_id=membership.identity_id,
            union_id=home.id,
            application_id=application.id,
            member_no=membership.member_no,
            status="active",
            since=now,
        )
    )
    # The application carries the member into the figures (its path and ``membership_active``): it moves too.
    extra = {"from_union_id": str(source_union.id), "founding_case_id": str(case.id)}
    if scope.kind == "officer":
        extra["officer_id"] = str(scope.id)
    hop = route_hop(home, at=now, by="transfer", rule="transfer", reasons=[reason], **extra)
    application.route_to(home, rule="transfer", hop=hop)
    application.membership_active = True
    record_event(
        session,
        actor=scope,
        action="membership.transfer",
        object_type="membership",
        object_id=membership.id,
        union_path=source_union.path,
        details={"from_union_id": str(source_union.id), "to_union_id": str(home.id), "founding_case_id": str(case.id)},
    )
