"""以入会促建会, automatically: many workers joining from one place without a union open a founding case.

When an employer with no enterprise union in its HQ chain reaches ``FOUNDING_TRIGGER_MEMBERS``
people who are approved members or have an application open there, or a blind-spot station
(routed to a fallback federation) has been reached by that many workers (the larger of distinct
scanning devices and distinct applicants, as the blind-spot figures count them), a case opens by
itself: stage ``identified``, source ``derived``, with the figures that triggered it, under the
union that manages the employer (or the station), so its officers see it in their list.

Where it runs: in the worker's submit, in the same transaction (``after_submission``). A
submission is the only event that raises these figures (an approval turns an open application
into a member: the same person counted once), so checking there opens the case at the very
application that reaches the threshold, exactly once, without a job to schedule. It costs the
submit nothing when the application was routed to an enterprise union (the common case once
unions exist) and otherwise one statement whose counts stop at the threshold and that counts nothing
once the case fired (and a process that saw it fired runs not even that); the figures in full are
read only when it passes. What runs past the gate runs in a savepoint and never fails the
submission: ``trigger_key`` is unique, so of two submissions racing past the threshold one opens
the case and the other's savepoint is rolled back. Scans alone (workers who looked
but did not apply) are caught by ``sweep`` (``flask founding-trigger``), run by cron.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from app.actors import Actor
from app.audit.service import record_event
from app.db import BigId, run_core
from app.directory.models import Employer, Station, Union
from app.directory.service import MAX_EMPLOYER_CHAIN
from app.enrollment.models import OPEN_STATUSES, Application
from app.errors import AppError
from app.founding.models import FoundingCase, FoundingCaseStep, FoundingListing, FoundingTarget
from app.founding.vocabulary import CLOSED_STAGES, SECTOR_OF_OCCUPATION
from app.joincodes.models import JoinCode, JoinScan
from app.joincodes.resolved import StationFacts
from app.routing.engine import parent_chain
from app.routing.service import route_station

if TYPE_CHECKING:
    from app.enrollment.service import ApplicationView

log = logging.getLogger("ruhui.founding.trigger")

DEFAULT_TRIGGER_MEMBERS = 25


@dataclass(frozen=True)
class Figures:
    members: int  # approved, membership active
    open_applications: int
    people: int  # distinct people among both (the figure held to the threshold)
    workers_seen: int | None = None  # a blind-spot station: max(distinct scanning devices, distinct applicants)

    def as_json(self, threshold: int) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "members": self.members,
            "open_applications": self.open_applications,
            "people": self.people,
            "threshold": threshold,
        }
        if self.workers_seen is not None:
            figures["workers_seen"] = self.workers_seen
        return figures


# A station as the check reads it: the row, or the resolve cache's facts of it (a submit has those at hand).
PlaceStation = Station | StationFacts


class FiredKeys:
    """The trigger keys this process has seen fired: a submit at such a place reads nothing, not even the gate.

    A case once opened keeps its ``trigger_key`` for good (closing it keeps the key, and nothing deletes a
    case), so a key seen fired stays fired. Only the gate adds to it, and only in a submit, where what it
    sees fired was committed by an earlier request (this one's check has not opened anything yet).
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._keys: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        if len(self._keys) >= self.max_keys:
            self._keys = set()  # a memo only: starting again costs each place one more gate
        self._keys.add(key)


def current_fired_keys() -> FiredKeys:
    """The current app's ``FiredKeys`` (one per app and process)."""
    from flask import current_app

    fired: FiredKeys | None = current_app.extensions.get("ruhui.founding_fired_keys")
    if fired is None:
        fired = current_app.extensions.setdefault("ruhui.founding_fired_keys", FiredKeys())
    return fired


def after_filing(session: Session, filed: ApplicationView | None, *, now: dt.datetime) -> FoundingCase | None:
    """``after_submission`` for what a submit filed (None: a replay filed nothing), with the app's threshold.

    What both doors call, the API's submit and the worker's form, in the submit's transaction.
    """
    from flask import current_app

    if filed is None:
        return None
    return after_submission(
        session,
        filed.application,
        threshold=current_app.extensions["ruhui.settings"].founding_trigger_members,
        now=now,
        station=filed.station,
        fired=current_fired_keys(),
    )


def after_submission(
    session: Session,
    application: Application,
    *,
    threshold: int,
    now: dt.datetime,
    station: PlaceStation | None = None,
    fired: FiredKeys | None = None,
) -> FoundingCase | None:
    """Check the place of a just-filed application; open its derived case when it reached ``threshold``.

    ``station``, when given, is the application's station (not read again); ``fired``, when given, the
    process's keys seen fired (``current_fired_keys``): a place among them is not checked again.
    """
    if threshold <= 0:
        return None
    if application.route_rule == "enterprise":
        return None  # routed to an enterprise union: the employer (or its HQ) has one
    if station is None or station.id != application.station_id:
        station = session.get(Station, application.station_id)
    assert station is not None
    blind_spot = application.route_rule == "fallback"
    place = _place(station, blind_spot)
    if place is None or (fired is not None and place[0] in fired):
        return None  # not a place a case is derived for, or its case fired before: once
    session.flush()  # the gate reads through Core, without an autoflush: the application just filed counts
    return check_place(session, station, threshold=threshold, now=now, blind_spot=blind_spot, fired=fired)


def _place(station: PlaceStation, blind_spot: bool) -> tuple[str, sa.Select[*tuple[int, ...]]] | None:
    """The trigger key of ``station``'s place and the gate that reads it; None where no case is derived."""
    if station.employer_id is not None:
        return f"employer:{station.employer_id}", _EMPLOYER_BLIND_GATE if blind_spot else _EMPLOYER_GATE
    if blind_spot:
        return f"station:{station.id}", _STATION_GATE
    return None  # no employer and not a blind spot: an industry or regional union takes these workers


def check_place(
    session: Session,
    station: PlaceStation,
    *,
    threshold: int,
    now: dt.datetime,
    blind_spot: bool,
    fired: FiredKeys | None = None,
) -> FoundingCase | None:
    """Open the derived case of ``station``'s employer (or of the station itself) once the figures reach it.

    ``fired``: where to note a key the gate finds fired (``after_submission``'s, only there).
    """
    place = _place(station, blind_spot)
    if place is None:
        return None
    key, gate = place
    # The gate first (one statement, its work bounded by the threshold): nothing more to do, which is
    # every submit but the one that reaches the threshold, when it fired before or is not reached yet.
    # Through Core, so without an autoflush: ``after_submission`` flushed the application just filed.
    params = {"key": key, "place": station.employer_id, "station": station.id, "threshold": threshold}
    counts = run_core(session, gate, params).first()
    if counts is None and fired is not None:
        fired.add(key)
    if counts is None or max(counts) < threshold:
        return None
    try:
        # Past the gate, a savepoint around the rest (the figures in full, the case's rows): whatever the
        # database refuses there (a lock timeout, a race), the worker's application is filed all the
        # same and the cron sweep catches up later. The gate itself only reads, under no lock of its
        # own, like the submit's other reads: outside it, the common submit pays no SAVEPOINT and RELEASE.
        with session.begin_nested():
            return _check_figures(session, station, key, threshold=threshold, now=now, blind_spot=blind_spot)
    except SQLAlchemyError as error:
        log.warning("founding trigger skipped", extra={"station_id": station.id, "error": type(error).__name__})
        return None


def _check_figures(
    session: Session, station: PlaceStation, key: str, *, threshold: int, now: dt.datetime, blind_spot: bool
) -> FoundingCase | None:
    """Past the gate: the place's figures in full, and its case opened when they reach ``threshold``."""
    employer = session.get(Employer, station.employer_id) if station.employer_id is not None else None
    if employer is not None:
        if _has_enterprise_union(session, employer):
            return None
        where = Application.employer_id == employer.id
    else:
        where = Application.station_id == station.id
    already, figures = _figures(session, key, where, station.id if blind_spot else None)
    if already:
        return None  # it fired before: once
    reached = figures.people >= threshold or (figures.workers_seen or 0) >= threshold
    if not reached:
        return None
    try:
        with session.begin_nested():
            case = _open(session, station, employer, key, figures.as_json(threshold), now)
    except IntegrityError:
        log.info("derived founding case opened by a concurrent request", extra={"trigger_key": key})
        return None
    return case


# --- the gate: whether a place may have reached the threshold, in one statement built once --------------------
# Core on the tables (no ORM compile per submit), with bound parameters, so its cache key and its SQL are
# computed once per process. Each count stops at the threshold (``_up_to_threshold``; SQLite stops reading
# there, PostgreSQL hashes the rows of the place first: of a place that has not fired yet), and
# none is computed at all once the case fired (the ``WHERE NOT EXISTS``: no row then), so a submit at a
# place of any size that fired pays one index probe. Figures in full are read only when the gate passes.

_applications = Application.__table__
_counted = sa.or_(_applications.c.membership_active.is_(True), _applications.c.status.in_(OPEN_STATUSES))
_scans, _codes = JoinScan.__table__, JoinCode.__table__


def _up_to_threshold(column: sa.ColumnElement[Any], *where: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
    """The distinct values of ``column`` where ``where`` holds, counted no further than ``:threshold``."""
    first = sa.select(column).where(*where).distinct().limit(sa.bindparam("threshold", type_=sa.Integer))
    return sa.select(sa.func.count()).select_from(first.subquery()).scalar_subquery()


def _gate(*counts: sa.ScalarSelect[int]) -> sa.Select[*tuple[int, ...]]:
    fired = sa.exists().where(FoundingCase.__table__.c.trigger_key == sa.bindparam("key", type_=sa.String))
    return sa.select(*counts).where(~fired)


_PEOPLE_AT_EMPLOYER = _up_to_threshold(
    _applications.c.identity_id, _applications.c.employer_id == sa.bindparam("place", type_=BigId), _counted
)
# A blind-spot station's workers seen: its scanning devices and its applicants (the people at the station,
# counted and not, are among them, so they need no count of their own).
_DEVICES_AT_STATION = _up_to_threshold(
    _scans.c.device_hash,
    _scans.c.join_code_id == _codes.c.id,
    _codes.c.station_id == sa.bindparam("station", type_=BigId),
    _scans.c.device_hash.is_not(None),
)
_APPLICANTS_AT_STATION = _up_to_threshold(
    _applications.c.identity_id, _applications.c.station_id == sa.bindparam("station", type_=BigId)
)
_EMPLOYER_GATE = _gate(_PEOPLE_AT_EMPLOYER)
_EMPLOYER_BLIND_GATE = _gate(_PEOPLE_AT_EMPLOYER, _DEVICES_AT_STATION, _APPLICANTS_AT_STATION)
_STATION_GATE = _gate(_DEVICES_AT_STATION, _APPLICANTS_AT_STATION)


def _has_enterprise_union(session: Session, employer: Employer) -> bool:
    chain = parent_chain(employer.id, lambda number: session.get(Employer, number), MAX_EMPLOYER_CHAIN)
    return (
        session.scalar(
            sa.select(Union.id).where(Union.kind == "enterprise", Union.employer_id.in_([e.id for e in chain])).limit(1)
        )
        is not None
    )


def _figures(
    session: Session, key: str, where: sa.ColumnElement[bool], blind_station_id: int | None
) -> tuple[bool, Figures]:
    """Whether the case ``key`` fired before, and the place's figures, in one statement (a submit pays one trip).

    The people: approved members and open applications there, and the distinct people among them.
    For a blind-spot station (``blind_station_id``) also the workers seen: the larger of the distinct
    scanning devices and the distinct applicants.
    """
    is_open = Application.status.in_(OPEN_STATUSES)
    people = (
        sa.select(
            sa.func.count(
                sa.distinct(sa.case((Application.membership_active.is_(True), Application.identity_id)))
            ).label("members"),
            sa.func.count(sa.distinct(sa.case((is_open, Application.identity_id)))).label("open"),
            sa.func.count(sa.distinct(Application.identity_id)).label("people"),
        )
        .where(where, sa.or_(Application.membership_active.is_(True), is_open))
        .subquery()
    )
    columns: list[Any] = [
        sa.exists().where(FoundingCase.trigger_key == key).label("fired"),
        people.c.members,
        people.c.open,
        people.c.people,
    ]
    if blind_station_id is not None:
        columns += [
            sa.select(sa.func.count(sa.distinct(JoinScan.device_hash)))
            .join(JoinCode, JoinCode.id == JoinScan.join_code_id)
            .where(JoinCode.station_id == blind_station_id)
            .scalar_subquery(),
            sa.select(sa.func.count(sa.distinct(Application.identity_id)))
            .where(Application.station_id == blind_station_id)
            .scalar_subquery(),
        ]
    row = session.execute(sa.select(*columns).select_from(people)).one()
    figures = Figures(members=int(row[1]), open_applications=int(row[2]), people=int(row[3]))
    if blind_station_id is not None:
        figures = Figures(figures.members, figures.open_applications, figures.people, max(int(row[4]), int(row[5])))
    return bool(row[0]), figures


def _open(
    session: Session,
    station: PlaceStation,
    employer: Employer | None,
    key: str,
    figures: dict[str, Any],
    now: dt.datetime,
) -> FoundingCase | None:
    sector = SECTOR_OF_OCCUPATION.get(station.occupation, "other")
    union_id = employer.union_id if employer is not None else station.union_id
    target = None
    if employer is not None:
        target = session.scalars(sa.select(FoundingTarget).where(FoundingTarget.uscc == employer.uscc)).first()
    else:
        target = session.scalars(sa.select(FoundingTarget).where(FoundingTarget.station_id == station.id)).first()
    if target is None:
        target = FoundingTarget(
            uscc=employer.uscc if employer is not None else None,
            name=employer.name if employer is not None else station.name,
            region_code=employer.region_code if employer is not None else station.region_code,
            sector=sector,
            source="derived",
            employer_id=employer.id if employer is not None else None,
            station_id=None if employer is not None else station.id,
            union_id=union_id,
            address="" if employer is not None else station.address,
        )
        session.add(target)
        session.flush()
        session.add(FoundingListing(source="derived", target_id=target.id, data=figures, seen_at=now))
    elif target.employer_id is None and employer is not None:
        target.employer_id = employer.id
    if session.scalar(
        sa.select(FoundingCase.id).where(FoundingCase.target_id == target.id, FoundingCase.stage.not_in(CLOSED_STAGES))
    ):
        return None  # officers already work on it
    case = FoundingCase(
        target_id=target.id,
        union_id=union_id,
        stage="identified",
        source="derived",
        trigger_key=key,
        figures=figures,
    )
    session.add(case)
    session.flush()
    if "workers_seen" in figures and figures["workers_seen"] >= figures["threshold"] > figures["people"]:
        note = f"建会盲区站点已有 {figures['workers_seen']} 名职工扫码或申请，自动立项"
    else:
        note = f"该单位已有 {figures['people']} 人入会或申请入会且尚未建会，自动立项"
    session.add(FoundingCaseStep(case_id=case.id, from_stage=None, stage="identified", at=now, note=note))
    path = session.scalar(sa.select(Union.path).where(Union.id == union_id))
    assert path is not None
    record_event(
        session,
        actor=Actor.system(),
        action="founding_case.open",
        object_type="founding_case",
        object_id=case.id,
        union_path=path,
        details={"from": None, "to": "identified", "target_id": str(target.id), "source": "derived", **figures},
    )
    session.flush()
    log.info(
        "derived founding case opened", extra={"case_id": case.id, "trigger_key": key, "people": figures["people"]}
    )
    return case


def sweep(session: Session, *, threshold: int, now: dt.datetime) -> int:
    """Check every place that could have reached the threshold (employers without a union, blind-spot
    stations with scans); returns the number of cases opened. For cron, and for data filed before."""
    if threshold <= 0:
        return 0
    opened = 0
    is_counted = sa.or_(Application.membership_active.is_(True), Application.status.in_(OPEN_STATUSES))
    employer_ids = session.scalars(
        sa.select(Application.employer_id)
        .where(Application.employer_id.is_not(None), is_counted)
        .group_by(Application.employer_id)
        .having(sa.func.count(sa.distinct(Application.identity_id)) >= threshold)
    ).all()
    for employer_id in employer_ids:
        station = session.scalars(sa.select(Station).where(Station.employer_id == employer_id).limit(1)).first()
        if station is not None and check_place(session, station, threshold=threshold, now=now, blind_spot=False):
            opened += 1
    # Stations without an employer reached by that many: open a case only if they are still blind spots.
    busy = set(
        session.scalars(
            sa.select(JoinCode.station_id)
            .join(JoinScan, JoinScan.join_code_id == JoinCode.id)
            .group_by(JoinCode.station_id)
            .having(sa.func.count(sa.distinct(JoinScan.device_hash)) >= threshold)
        )
    ) | set(
        session.scalars(
            sa.select(Application.station_id)
            .group_by(Application.station_id)
            .having(sa.func.count(sa.distinct(Application.identity_id)) >= threshold)
        )
    )
    for station_id in sorted(busy):
        station = session.get(Station, station_id)
        if station is None or station.employer_id is not None:
            continue
        try:
            blind = route_station(session, station, station.occupation).is_blind_spot
        except AppError as error:
            if error.code != "no_union_available":
                raise
            continue  # no union accepts there at all: the blind-spot figures report that
        if blind and check_place(session, station, threshold=threshold, now=now, blind_spot=True):
            opened += 1
    return opened
