"""Coverage, funnel and blind-spot figures, always within an officer's union subtree.

How the figures add up (the rule every query here keeps):

- an application counts once, for the union it is routed to (``Application.union_path``);
- a member counts once, for the union of the active membership (a person holds at
  most one, enforced by the database);
- a union's figures "with its subtree" are its own figures plus those of every
  descendant. Both are sums over disjoint sets of rows, so a parent's total is
  exactly its own plus the totals of its children, at every level, and two
  officers at different levels see the same number for the same union.

``by=union`` therefore lists the scope root's own figures (本级) and one row per
direct child with that child's whole subtree; the rows add up to the total. Asking
again with ``union_id`` of a child drills one level down.

Medians are not additive, so each row's median is computed over that row's own
decisions, from a histogram of whole hours to decision built by the same grouped
query as the counts (the same SQL on both databases; exact to the hour).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.actors import Actor, within_subtree
from app.db import parse_id
from app.directory.models import Employer, Station, Union
from app.directory.regions import display_name
from app.directory.service import get_station, get_union
from app.directory.vocabulary import EMPLOYMENT_FORMS, OCCUPATIONS
from app.enrollment.models import TOP_CHILD, Application, Membership
from app.errors import AppError, ValidationFailed
from app.joincodes import service as joincodes_service
from app.joincodes.models import JoinCode, JoinScan, ScanSignIn
from app.pagination import DEFAULT_LIMIT, Page, paginate
from app.routing.engine import parent_chain
from app.routing.models import RoutingRule
from app.routing.service import route_station
from app.stats.models import SUMMARY_COUNTS, SUMMARY_KINDS
from app.stats.summary import summary_rows

log = logging.getLogger("ruhui.stats")

GROUPINGS = ("occupation", "region", "union", "station", "employment_form")
DECIDED = ("approved", "rejected")


@dataclass
class Figures:
    """The coverage figures of one group (or of the whole scope)."""

    active_members: int = 0
    # Memberships in the other lasting statuses (app.enrollment.memberships), by the union holding the row:
    # a retained member counts with the union above that holds the membership, not with the old union.
    retained_members: int = 0
    withdrawn_members: int = 0
    removed_members: int = 0
    pending: int = 0
    overdue: int = 0
    approved: int = 0
    rejected: int = 0
    median_days_to_decision: float | None = None


@dataclass
class CoverageRow:
    key: str
    label: str
    figures: Figures
    # by=union only: True for the scope root's own row (本级), False for a child's whole subtree.
    own: bool | None = None


@dataclass
class Coverage:
    by: str
    union: Union
    since: dt.datetime | None
    until: dt.datetime | None
    as_of: dt.datetime
    items: list[CoverageRow]
    total: Figures
    next_cursor: str | None = None  # by=station: the stations come a page at a time


@dataclass(frozen=True)
class Period:
    """``[since, until)`` on the decision time; either end may be open."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValidationFailed(errors={"until": ["结束时间须晚于开始时间"]})

    def holds(self, column: Any) -> sa.ColumnElement[bool]:
        """``column`` is set and within the period (a decision time, which may be NULL)."""
        return sa.and_(column.is_not(None), self.spans(column))

    def spans(self, column: Any) -> sa.ColumnElement[bool]:
        """``column`` lies within the period (a time that is always set: a scan, a submission)."""
        conditions: list[sa.ColumnElement[bool]] = []
        if self.since is not None:
            conditions.append(column >= self.since)
        if self.until is not None:
            conditions.append(column < self.until)
        return sa.and_(sa.true(), *conditions)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _child_segment(session: Session, path: Any, root_path: str) -> sa.ColumnElement[str]:
    """The id (as text) of the root's child whose subtree holds ``path``; ``''`` for the root itself."""
    start = len(root_path) + 1
    if _is_postgres(session):
        return sa.func.split_part(sa.func.substr(path, start), "/", 1)
    rest = sa.func.substr(path, start)
    return sa.case((path == root_path, ""), else_=sa.func.substr(path, start, sa.func.instr(rest, "/") - 1))


def coverage(
    session: Session,
    scope: Actor,
    *,
    by: str,
    now: dt.datetime,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    union_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Coverage:
    """The coverage figures of the scope (or of ``union_id``'s subtree inside it), grouped ``by``.

    ``by=station`` is a list that grows with the directory (a province has ten thousand
    stations), so its items come a page at a time, in station id order, like every list
    of the contract; ``total`` is always the whole subtree's. The other groupings are
    bounded (the occupations, the employment forms, a union's children, the regions) and
    come whole, with ``next_cursor`` null.
    """
    if by not in GROUPINGS:
        raise ValidationFailed(errors={"by": [f"须为 {' | '.join(GROUPINGS)} 之一"]})
    period = Period(since, until)
    root = _scope_root(session, scope, union_id)
    top = root.parent_id is None  # the top of the tree: the statement reads every application
    summarised = _summarised(root.path, by)
    if _is_postgres(session):
        settings = dict(POSTGRES_REPORT_SETTINGS)
        if by in ORDERED_GROUPINGS and top and not summarised:
            settings.update(READ_IN_KEY_ORDER)
        for name, value in settings.items():
            session.execute(sa.text(f"SET LOCAL {name} = '{value}'"))  # names and values: the constants above

    next_cursor = None
    if by == "station":
        page = _station_page(session, root.path, period, limit, cursor)
        stations: list[Station] = page.items
        only = Application.station_id.in_([s.id for s in stations])
        groups = _application_figures(session, root.path, period, now, by=by, only=only) if stations else {}
        if stations:
            _add_membership_figures(session, groups, root.path, by=by, only=only)
        items = [CoverageRow(str(s.id), s.name, groups.get(str(s.id), Figures())) for s in stations]
        totals = (_summary_figures if _summarised(root.path, None) else _application_figures)(
            session, root.path, period, now
        )
        _add_membership_figures(session, totals, root.path)
        total = totals[TOTAL]
        next_cursor = page.next_cursor
    elif summarised:
        groups = _summary_figures(session, root.path, period, now, by=by)
        _add_membership_figures(session, groups, root.path, by=by)
        total = groups.pop(TOTAL)
        items = _labelled_rows(session, by, root, groups)
    else:
        groups = _application_figures(session, root.path, period, now, by=by, top=top)
        _add_membership_figures(session, groups, root.path, by=by)
        total = groups.pop(TOTAL)
        items = _labelled_rows(session, by, root, groups)
    return Coverage(
        by=by, union=root, since=since, until=until, as_of=now, items=items, total=total, next_cursor=next_cursor
    )


def _scope_root(session: Session, scope: Actor, union_id: str | None) -> Union:
    return get_union(session, scope, scope.union_id if union_id is None else parse_id(union_id))


TOTAL = "*total*"  # the key of the whole-scope row in the result of ``_application_figures``

# A coverage statement hashes a million rows into as many (group, hour) pairs as there are
# decisions; with PostgreSQL's default 4 MB of work memory that spills to disk and the
# planner prefers sorting instead. Coverage asks for enough memory for the hash, and no
# JIT compilation (it costs more than it saves on one pass), for its own transaction only
# (``SET LOCAL``). At most three processes (the query and two parallel workers) use it.
POSTGRES_REPORT_SETTINGS = {"work_mem": "64MB", "jit": "off"}
# At the top of the tree the statement reads every application. For these groupings an
# index sorted by (key, decision_hours) carries every column the statement reads
# (``app.enrollment.models``; for by=union the key is the second element of the path, the
# root's child), so a parallel index-only scan feeds a streaming aggregate: no
# hash table of (group, hour) pairs at all, half the time of the hash aggregate at a
# million applications. The planner still prices the hash cheaper, so the statement
# turns hashing and heap scans off for itself. Lower in the tree a range of the
# union-path index is cheaper, and the planner chooses freely.
ORDERED_GROUPINGS = ("occupation", "region", "employment_form", "union")
READ_IN_KEY_ORDER = {"enable_hashagg": "off", "enable_seqscan": "off"}


def _counted(session: Session, root_path: str, period: Period) -> tuple[sa.ColumnElement[bool], ...]:
    """The applications coverage reads: routed into the subtree, and pending, decided in the period or a member."""
    return (
        within_subtree(Application.union_path, root_path),
        sa.or_(Application.status == "pending", _decided_in(period), Application.membership_active),
    )


def _decided_in(period: Period) -> sa.ColumnElement[bool]:
    return sa.and_(Application.status.in_(DECIDED), period.holds(Application.decided_at))


def _station_page(session: Session, root_path: str, period: Period, limit: int, cursor: str | None) -> Page:
    """A page of the stations that have applications coverage counts, in id order."""
    counted = sa.exists().where(Application.station_id == Station.id, *_counted(session, root_path, period))
    return paginate(
        session, sa.select(Station).where(counted), keys=[Station.id], limit=limit, cursor=cursor, descending=False
    )


def _application_figures(
    session: Session,
    root_path: str,
    period: Period,
    now: dt.datetime,
    *,
    by: str | None = None,
    only: sa.ColumnElement[bool] | None = None,
    top: bool = False,
) -> dict[str, Figures]:
    """Per group ``by`` (as text), and under ``TOTAL`` for the whole subtree unless ``only`` narrows the rows.

    One pass over the applications. Active members are counted there too: each active
    membership is flagged on the application that granted it (``membership_active``),
    routed to the membership's union.

    The pass groups rows by the key and by the decision's whole hours (``decision_hours``,
    NULL while pending) — a hash aggregate, or at the top of the tree a streaming one over
    a covering index in that order (``ORDERED_GROUPINGS``); the database then sums each
    group and finds its median from that histogram with a running count (a window), so
    one row per group comes back. An ordered-set aggregate (``percentile_cont``) would
    sort every decision instead. The same SQL runs on both databases; medians are exact
    to the hour.
    """
    pending = Application.status == "pending"
    decided_in_period = _decided_in(period)
    # Every decision's hours, in the period or not: the histogram weighs each (group, hour)
    # by its decisions in the period (see ``_rolled_up``), and the plain column keeps the
    # (key, decision_hours) order of the covering indexes.
    hours = Application.decision_hours.label("hours")
    key = _application_key(session, by, root_path, top=top).label("key") if by else None
    conditions = _counted(session, root_path, period) + (() if only is None else (only,))
    grouped = (
        sa.select(
            *([key] if key is not None else []),
            hours,
            sa.func.count().filter(pending).label("pending"),
            sa.func.count().filter(sa.and_(pending, Application.due_at < now)).label("overdue"),
            sa.func.count().filter(sa.and_(decided_in_period, Application.status == "approved")).label("approved"),
            sa.func.count().filter(sa.and_(decided_in_period, Application.status == "rejected")).label("rejected"),
            sa.func.count().filter(Application.membership_active).label("members"),
        )
        .where(*conditions)
        .group_by(*([key] if key is not None else []), hours)
        .cte("grouped")
        .prefix_with("MATERIALIZED")  # per group and for the total below: one pass
    )
    return _rolled_up_figures(session, grouped, keyed=key is not None, total=only is None)


def _summarised(root_path: str, by: str | None) -> bool:
    """Whether the figures come from the coverage summary (``app.stats.models``), not the applications.

    The summary's rows are per the first two elements of the path: it answers for the top of
    the tree, and for a union just below the top in every grouping but by=union (which groups
    by the union's children, one level below what the summary keeps). Lower, a range of the
    union-path index is a small share of the table, and the applications are read.
    """
    depth = root_path.count("/") - 1
    return depth == 1 or (depth == 2 and by != "union")


# The columns of the grouped (key, hours) counts ``_rolled_up`` reads, and the summary's column each is read from.
GROUPED = (
    ("pending", "pending"), ("overdue", "pending"), ("approved", "approved"), ("rejected", "rejected"),
    ("members", "members"),
)  # fmt: skip


def _summary_figures(
    session: Session, root_path: str, period: Period, now: dt.datetime, *, by: str | None = None
) -> dict[str, Figures]:
    """What ``_application_figures`` answers, from the coverage summary; exact, and the same SQL on both databases.

    The summary holds, per (head of the path, key, hours to decision), the pending, decided and
    member counts: for all time it is the grouped pass of ``_application_figures`` itself,
    summed over the heads. Two parts depend on the clock and come from the applications:

    - a period's decisions: the summary gives the pending and the members (which no period
      limits), and the decisions of the period are read through ``ix_applications_decided_at``;
    - overdue: the pending applications minus those not yet due, read through
      ``ix_applications_pending_due`` (the pending ones by deadline).
    """
    summary = summary_rows()  # the summary and the deltas not yet folded: sum, then drop the all-zero keys
    # A grouping that is a kind reads that kind; by=union, by=station's total and the total: any kind adds up.
    kind = by if by in SUMMARY_KINDS else "occupation"
    key: Any = None
    if by == "union":
        key = _child_segment(session, summary.c.head, root_path)
    elif by is not None:
        key = summary.c.value
    keys = [key.label("key")] if key is not None else []
    in_scope = (summary.c.kind == kind, within_subtree(summary.c.head, root_path))
    hours = sa.func.nullif(summary.c.hours, -1)
    all_time = period.since is None and period.until is None
    if all_time:
        parts = [
            sa.select(
                *keys, hours.label("hours"), *(sa.func.sum(summary.c[name]).label(name) for name in SUMMARY_COUNTS)
            )
            .where(*in_scope)
            .group_by(*keys, hours)
            .having(sa.or_(*(sa.func.sum(summary.c[name]) != 0 for name in SUMMARY_COUNTS)))
        ]
    else:
        lasting = (  # what no period limits: the pending and the members, in one row per key (no decisions)
            sa.select(
                *keys,
                sa.cast(sa.null(), sa.Integer).label("hours"),
                sa.func.sum(summary.c.pending).label("pending"),
                sa.literal(0).label("approved"),
                sa.literal(0).label("rejected"),
                sa.func.sum(summary.c.members).label("members"),
            )
            .where(*in_scope)
            .group_by(*keys)
            .having(sa.or_(sa.func.sum(summary.c.pending) != 0, sa.func.sum(summary.c.members) != 0))
        )
        application_key = [_application_key(session, by, root_path).label("key")] if by else []
        decided = (
            sa.select(
                *application_key,
                Application.decision_hours.label("hours"),
                sa.literal(0).label("pending"),
                sa.func.count().filter(Application.status == "approved").label("approved"),
                sa.func.count().filter(Application.status == "rejected").label("rejected"),
                sa.literal(0).label("members"),
            )
            .where(within_subtree(Application.union_path, root_path), _decided_in(period))
            .group_by(*application_key, Application.decision_hours)
        )
        parts = [lasting, decided]
    # One row per (key, hours), with ``overdue`` as ``pending`` for now (less those not yet due, below); a
    # period's two parts are added up per (key, hours) first.
    rows = (sa.union_all(*parts) if len(parts) > 1 else parts[0]).subquery("rows")
    summed = len(parts) > 1
    grouped = (
        sa.select(
            *([rows.c.key] if key is not None else []),
            rows.c.hours,
            *((sa.func.sum(rows.c[name]) if summed else rows.c[name]).label(label) for label, name in GROUPED),
        )
        .group_by(*(([rows.c.key] if key is not None else []) + [rows.c.hours] if summed else []))
        .cte("grouped")
        .prefix_with("MATERIALIZED")
    )
    result = _rolled_up_figures(session, grouped, keyed=key is not None)
    # Overdue: pending, due before now. Counted as the pending ones less those not yet due (a
    # pending application not yet due is at most a few days old, the smaller set to read).
    pending_key = _application_key(session, by, root_path).label("key") if by else sa.literal(TOTAL).label("key")
    not_due = session.execute(
        sa.select(pending_key, sa.func.count())
        .where(
            Application.status == "pending",
            Application.due_at >= now,
            within_subtree(Application.union_path, root_path),
        )
        .group_by(pending_key)
    )
    for group, count in not_due:
        for name in dict.fromkeys([str(group), TOTAL]):
            if name in result:
                result[name].overdue -= int(count)
    return result


def _rolled_up_figures(session: Session, grouped: Any, *, keyed: bool, total: bool = True) -> dict[str, Figures]:
    """Per key (``keyed``) and under ``TOTAL``: the figures of the ``grouped`` (key, hours) counts, with medians."""
    parts = [_rolled_up(grouped, keyed=True)] if keyed else []
    if total:
        parts.append(_rolled_up(grouped, keyed=False))
    result: dict[str, Figures] = {}
    for group, pending_count, overdue, approved, rejected, members, median_hours in session.execute(
        sa.union_all(*parts)
    ):
        result[TOTAL if group is None else str(group)] = Figures(
            active_members=int(members),
            pending=int(pending_count),
            overdue=int(overdue),
            approved=int(approved),
            rejected=int(rejected),
            median_days_to_decision=None if median_hours is None else _round(float(median_hours) / 24),
        )
    return result


_MEMBERSHIP_FIGURES = {
    "retained": "retained_members",
    "withdrawn": "withdrawn_members",
    "removed": "removed_members",
}


def _add_membership_figures(
    session: Session,
    groups: dict[str, Figures],
    root_path: str,
    *,
    by: str | None = None,
    only: sa.ColumnElement[bool] | None = None,
) -> None:
    """Add the retained, withdrawn and removed memberships of the subtree to ``groups`` (per key and ``TOTAL``).

    Counted from the memberships, by the union that holds each row (a retained membership
    moved to a union above the old one); grouped by the same keys as the applications'
    figures, the union's from the membership's union and the others from the granting
    application. Active members stay counted in the applications' pass. A second, small
    statement: these statuses are a minority of the memberships, and ``ix_memberships_union_id``
    reaches them.
    """
    statuses = list(_MEMBERSHIP_FIGURES)
    if by == "union":
        key: Any = _child_segment(session, Union.path, root_path)
    elif by is not None:
        key = _application_key(session, by, root_path)
    else:
        key = sa.literal(TOTAL)
    statement = (
        sa.select(sa.cast(key, sa.String).label("key"), Membership.status, sa.func.count())
        .select_from(Membership)
        .join(Union, Union.id == Membership.union_id)
        .join(Application, Application.id == Membership.application_id)
        .where(within_subtree(Union.path, root_path), Membership.status.in_(statuses))
        .group_by(sa.cast(key, sa.String), Membership.status)
    )
    if only is not None:
        statement = statement.where(only)
    for group, status, count in session.execute(statement):
        name = _MEMBERSHIP_FIGURES[status]
        keys = [str(group)] if by is not None else []
        if only is None:
            keys.append(TOTAL)
        for k in dict.fromkeys(keys):
            figures = groups.setdefault(k, Figures())
            setattr(figures, name, getattr(figures, name) + int(count))


def _application_key(session: Session, by: str, root_path: str, *, top: bool = False) -> Any:
    if by == "union":
        if top and _is_postgres(session):
            return TOP_CHILD  # the same text, read in order from its index (see ``ORDERED_GROUPINGS``)
        return _child_segment(session, Application.union_path, root_path)
    if by == "region":
        return Application.region_code
    if by == "station":
        return Application.station_id
    return getattr(Application, by)


COUNTS = ("pending", "overdue", "approved", "rejected", "members")


def _rolled_up(grouped: Any, *, keyed: bool) -> sa.Select[Any]:
    """One row per key (``keyed``) or one row for all, key NULL: the sums and the median of the hour histogram.

    Within a group, ``running`` is the number of decisions taking at most this many hours
    and ``decided`` the group's number of decisions. The value at 0-based rank r is the
    first ``hours`` whose running count exceeds r; the median is the mean of the values
    at ranks (decided - 1) // 2 and decided // 2, that is of the first hours with
    2·running ≥ decided and of the first with 2·running > decided.
    """
    if keyed:
        source = grouped
    else:  # the whole subtree: one histogram, a row per hour
        sums = [sa.func.sum(grouped.c[name]).label(name) for name in COUNTS]
        source = sa.select(grouped.c.hours, *sums).group_by(grouped.c.hours).subquery("by_hours")
    weight = source.c.approved + source.c.rejected  # decisions in the period
    partition = [source.c.key] if keyed else None
    ranked = sa.select(
        source,
        sa.func.sum(weight).over(partition_by=partition, order_by=source.c.hours).label("running"),
        sa.func.sum(weight).over(partition_by=partition).label("decided"),
    ).subquery("ranked")
    with_hours = sa.and_(ranked.c.hours.is_not(None), ranked.c.approved + ranked.c.rejected > 0)
    lower = sa.func.min(ranked.c.hours).filter(sa.and_(with_hours, 2 * ranked.c.running >= ranked.c.decided))
    upper = sa.func.min(ranked.c.hours).filter(sa.and_(with_hours, 2 * ranked.c.running > ranked.c.decided))
    columns = [*(sa.func.coalesce(sa.func.sum(ranked.c[name]), 0) for name in COUNTS), (lower + upper) / 2.0]
    if keyed:
        return sa.select(sa.cast(ranked.c.key, sa.String), *columns).group_by(ranked.c.key)
    return sa.select(sa.cast(sa.null(), sa.String), *columns).select_from(ranked)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _labelled_rows(session: Session, by: str, root: Union, groups: Mapping[str, Figures]) -> list[CoverageRow]:
    if by == "union":
        rows = [CoverageRow(str(root.id), f"{root.name}（本级）", groups.get("", Figures()), own=True)]
        children = session.execute(
            sa.select(Union.id, Union.name).where(Union.parent_id == root.id).order_by(Union.id)
        ).all()
        rows.extend(CoverageRow(str(i), name, groups.get(str(i), Figures()), own=False) for i, name in children)
        return rows
    if by in ("occupation", "employment_form"):
        vocabulary = OCCUPATIONS if by == "occupation" else EMPLOYMENT_FORMS
        # Every group of the vocabulary is listed, zeros included: an empty group is a finding.
        keys = list(vocabulary) + sorted(set(groups) - set(vocabulary))
        return [CoverageRow(k, vocabulary.get(k, k), groups.get(k, Figures())) for k in keys]
    return [CoverageRow(code, display_name(code), groups[code]) for code in sorted(groups)]  # by=region


# --- funnel ---------------------------------------------------------------------------------------------------------


@dataclass
class FunnelFigures:
    """Scans → distinct devices → phones proved → applications → approvals, for one population of codes."""

    scans: int = 0
    unique_devices: int = 0
    phones_proved: int = 0
    applications: int = 0
    approvals: int = 0

    @property
    def conversion(self) -> float | None:
        """Approvals per scan: what share of the scans ended in a membership."""
        return round(self.approvals / self.scans, 4) if self.scans else None


@dataclass
class FunnelRow:
    key: str
    label: str
    figures: FunnelFigures


@dataclass
class Funnel:
    subject: str  # "join_code" | "station" | "union"
    id: str
    label: str
    since: dt.datetime | None
    until: dt.datetime | None
    figures: FunnelFigures
    # The next level down, most scanned first: stations of a union, codes of a station.
    items: list[FunnelRow] = field(default_factory=list)


def funnel(
    session: Session,
    scope: Actor,
    *,
    join_code_id: str | None = None,
    station_id: str | None = None,
    union_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
) -> Funnel:
    """The join funnel of one join code, one station or one union's subtree (the scope root by default).

    Attribution: a scan belongs to its code and the code's station; an application to
    the code it was filed through (the join token is part of the form). A proved phone
    belongs to a code when the person signed in on a device that had scanned the code
    within the day before (the sign-in sent the scan's ``X-Device-Id``; the latest scan
    wins, see ``ScanSignIn``), or when the person filed an application through the code
    (a client that sends no device id is still counted once it applies).
    ``phones_proved`` counts distinct people over both, so it is at least the number of
    distinct applicants and a person who signed in twice or applied twice counts once.
    ``unique_devices`` counts distinct devices among the scans (clients that send
    ``X-Device-Id``). A union's funnel covers the stations its subtree manages.
    """
    chosen = [name for name, value in (("join_code_id", join_code_id), ("station_id", station_id)) if value]
    if union_id:
        chosen.append("union_id")
    if len(chosen) > 1:
        raise ValidationFailed(errors={"_schema": ["join_code_id、station_id、union_id 至多指定一个"]})
    period = Period(since, until)

    if join_code_id:
        code, station = _join_code_in_scope(session, scope, join_code_id)
        figures = _funnel_figures(session, JoinCode.id, JoinCode.id == code.id, period).get(code.id, FunnelFigures())
        return Funnel("join_code", str(code.id), station.name, since, until, figures)

    if station_id:
        station = get_station(session, scope, parse_id(station_id))
        per_code = _funnel_figures(session, JoinCode.id, JoinCode.station_id == station.id, period)
        codes = session.execute(
            sa.select(JoinCode.id, JoinCode.created_at).where(JoinCode.station_id == station.id)
        ).all()
        items = [
            FunnelRow(str(code_id), f"{created:%Y-%m-%d} 发放", per_code.get(code_id, FunnelFigures()))
            for code_id, created in codes
        ]
        return Funnel("station", str(station.id), station.name, since, until, _sum(items), _top(items, limit))

    root = _scope_root(session, scope, union_id)
    managed = (
        sa.select(Station.id).join(Union, Union.id == Station.union_id).where(within_subtree(Union.path, root.path))
    )
    stations = dict(session.execute(sa.select(Station.id, Station.name).where(Station.id.in_(managed))).all())
    per_station = _funnel_figures(session, JoinCode.station_id, JoinCode.station_id.in_(managed), period)
    items = [FunnelRow(str(i), name, per_station.get(i, FunnelFigures())) for i, name in stations.items()]
    return Funnel("union", str(root.id), root.name, since, until, _sum(items), _top(items, limit))


def _join_code_in_scope(session: Session, scope: Actor, code_id: str) -> tuple[JoinCode, Station]:
    return joincodes_service.join_code_and_station(session, scope, code_id)


def _funnel_figures(
    session: Session, group: Any, codes: sa.ColumnElement[bool], period: Period
) -> dict[int, FunnelFigures]:
    """Funnel figures of the join codes matching ``codes``, grouped by ``JoinCode.id`` or ``JoinCode.station_id``."""
    result: dict[int, FunnelFigures] = defaultdict(FunnelFigures)
    scans = (
        sa.select(group, sa.func.count(), sa.func.count(sa.distinct(JoinScan.device_hash)))
        .join(JoinCode, JoinCode.id == JoinScan.join_code_id)
        .where(codes, period.spans(JoinScan.scanned_at))
        .group_by(group)
    )
    for key, count, devices in session.execute(scans):
        result[key].scans = count
        result[key].unique_devices = devices
    filed_through = sa.and_(codes, period.spans(Application.submitted_at))
    applications = (
        sa.select(group, sa.func.count(), sa.func.count().filter(Application.status == "approved"))
        .join(JoinCode, JoinCode.id == Application.join_code_id)
        .where(filed_through)
        .group_by(group)
    )
    for key, filed, approved in session.execute(applications):
        result[key].applications = filed
        result[key].approvals = approved
    people = sa.union(  # UNION, not UNION ALL: a person counts once per group
        sa.select(group.label("grp"), ScanSignIn.person_id.label("person_id"))
        .join(JoinCode, JoinCode.id == ScanSignIn.join_code_id)
        .where(codes, period.spans(ScanSignIn.signed_in_at)),
        sa.select(group.label("grp"), Application.person_id.label("person_id"))
        .join(JoinCode, JoinCode.id == Application.join_code_id)
        .where(filed_through),
    ).subquery("people")
    for key, proved in session.execute(sa.select(people.c.grp, sa.func.count()).group_by(people.c.grp)):
        result[key].phones_proved = proved
    return result


def _sum(items: Iterable[FunnelRow]) -> FunnelFigures:
    total = FunnelFigures()
    for item in items:
        for name in ("scans", "unique_devices", "phones_proved", "applications", "approvals"):
            setattr(total, name, getattr(total, name) + getattr(item.figures, name))
    return total


def _top(items: list[FunnelRow], limit: int) -> list[FunnelRow]:
    ranked = sorted(items, key=lambda row: (-row.figures.scans, -row.figures.applications, int(row.key)))
    return ranked[:limit]


# --- blind spots ----------------------------------------------------------------------------------------------------


@dataclass
class BlindStation:
    station: Station
    employer: Employer | None
    occupations: list[str]
    fallback_union: dict[str, str] | None  # None: not even a federation accepts (no_union_available)
    scans: int
    unique_devices: int
    applicants: int

    @property
    def workers(self) -> int:
        """Workers seen there: the larger of distinct scanning devices and distinct applicants.

        The two sets overlap (most applicants scanned first) and cannot be joined, so
        the larger is the honest lower bound of the people who reached the place.
        """
        return max(self.unique_devices, self.applicants)


@dataclass
class BlindGroup:
    key: str
    label: str
    stations: int
    workers: int


@dataclass
class EmployerWithoutUnion:
    employer: Employer
    members: int


@dataclass
class BlindSpots:
    union: Union
    stations: list[BlindStation]
    regions: list[BlindGroup]
    occupations: list[BlindGroup]
    employers_without_union: list[EmployerWithoutUnion]


def blind_spots(session: Session, scope: Actor, *, union_id: str | None = None, limit: int = 200) -> BlindSpots:
    """Stations where workers can reach only a fallback federation (rule 5), most workers first.

    Every station managed within the subtree is routed now, for its default occupation
    and for every occupation applied with there, so a station shows up before anyone
    has applied and drops out as soon as a union that takes its workers is built.
    Decisions are shared between stations that only differ in id (same region,
    employer and occupation, and no station override rule), which keeps a province's
    ten thousand stations to a few hundred routings.
    """
    root = _scope_root(session, scope, union_id)
    stations = list(
        session.scalars(
            sa.select(Station)
            .join(Union, Union.id == Station.union_id)
            .where(within_subtree(Union.path, root.path))
            .order_by(Station.id)
        )
    )
    station_ids = [s.id for s in stations]
    applied = _occupations_applied(session, station_ids)
    with_station_rule = _stations_with_override(session, station_ids)
    decisions: dict[tuple[Any, ...], dict[str, str] | bool | None] = {}

    blind: list[tuple[Station, list[str], dict[str, str] | None]] = []
    for station in stations:
        fallback_occupations: list[str] = []
        fallback_union: dict[str, str] | None = None
        for occupation in [station.occupation, *sorted(applied.get(station.id, set()) - {station.occupation})]:
            key: tuple[Any, ...] = (
                (station.id,) if station.id in with_station_rule else (station.region_code, station.employer_id)
            ) + (occupation,)
            if key not in decisions:
                decisions[key] = _fallback_outcome(session, station, occupation)
            outcome = decisions[key]
            if outcome is False:
                continue
            fallback_occupations.append(occupation)
            if isinstance(outcome, dict):
                fallback_union = outcome
        if fallback_occupations:
            blind.append((station, fallback_occupations, fallback_union))

    reach = _station_reach(session, [s.id for s, _, _ in blind])
    employers = _employers(session, {s.employer_id for s, _, _ in blind if s.employer_id is not None})
    rows = [
        BlindStation(
            station=station,
            employer=employers.get(station.employer_id) if station.employer_id else None,
            occupations=occupations,
            fallback_union=union,
            scans=reach[station.id][0],
            unique_devices=reach[station.id][1],
            applicants=reach[station.id][2],
        )
        for station, occupations, union in blind
    ]
    rows.sort(key=lambda row: (-row.workers, -row.scans, row.station.id))
    return BlindSpots(
        union=root,
        stations=rows[:limit],
        regions=_blind_groups(rows, lambda row: [row.station.region_code], display_name),
        occupations=_blind_groups(rows, lambda row: row.occupations, lambda code: OCCUPATIONS.get(code, code)),
        employers_without_union=_employers_without_union(session, root.path, limit),
    )


def _fallback_outcome(session: Session, station: Station, occupation: str) -> dict[str, str] | bool | None:
    """The fallback union when only rule 5 takes the worker, None when no union does, False otherwise."""
    try:
        decision = route_station(session, station, occupation)
    except AppError as exc:
        if exc.code == "no_union_available":
            return None
        raise
    return decision.union_ref() if decision.is_blind_spot else False


def _occupations_applied(session: Session, station_ids: list[int]) -> dict[int, set[str]]:
    result: dict[int, set[str]] = defaultdict(set)
    if station_ids:
        rows = session.execute(
            sa.select(Application.station_id, Application.occupation)
            .where(Application.station_id.in_(station_ids))
            .distinct()
        )
        for station_id, occupation in rows:
            result[station_id].add(occupation)
    return result


def _stations_with_override(session: Session, station_ids: list[int]) -> set[int]:
    if not station_ids:
        return set()
    return set(
        session.scalars(sa.select(RoutingRule.station_id).where(RoutingRule.station_id.in_(station_ids)).distinct())
    )


def _station_reach(session: Session, station_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """Per station: scans, distinct scanning devices, distinct applicants (people)."""
    reach: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    if station_ids:
        scans = session.execute(
            sa.select(JoinCode.station_id, sa.func.count(), sa.func.count(sa.distinct(JoinScan.device_hash)))
            .join(JoinCode, JoinCode.id == JoinScan.join_code_id)
            .where(JoinCode.station_id.in_(station_ids))
            .group_by(JoinCode.station_id)
        )
        for station_id, count, devices in scans:
            reach[station_id][0:2] = [count, devices]
        applicants = session.execute(
            sa.select(Application.station_id, sa.func.count(sa.distinct(Application.identity_id)))
            .where(Application.station_id.in_(station_ids))
            .group_by(Application.station_id)
        )
        for station_id, people in applicants:
            reach[station_id][2] = people
    return {station_id: (r[0], r[1], r[2]) for station_id, r in reach.items()} | {
        station_id: (0, 0, 0) for station_id in station_ids if station_id not in reach
    }


def _employers(session: Session, ids: set[int]) -> dict[int, Employer]:
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(sa.select(Employer).where(Employer.id.in_(ids)))}


def _blind_groups(rows: list[BlindStation], keys_of: Any, label_of: Any) -> list[BlindGroup]:
    stations: dict[str, int] = defaultdict(int)
    workers: dict[str, int] = defaultdict(int)
    for row in rows:
        for key in keys_of(row):
            stations[key] += 1
            workers[key] += row.workers
    ranked = sorted(stations, key=lambda key: (-workers[key], -stations[key], key))
    return [BlindGroup(key, label_of(key), stations[key], workers[key]) for key in ranked]


def _employers_without_union(session: Session, root_path: str, limit: int) -> list[EmployerWithoutUnion]:
    """Employers whose workers are members in the subtree, though neither they nor their HQ chain has a union."""
    counts = dict(
        session.execute(
            sa.select(Application.employer_id, sa.func.count())
            .select_from(Membership)
            .join(Union, Union.id == Membership.union_id)
            .join(Application, Application.id == Membership.application_id)
            .where(
                Membership.status == "active",
                Application.employer_id.is_not(None),
                within_subtree(Union.path, root_path),
            )
            .group_by(Application.employer_id)
        ).all()
    )
    if not counts:
        return []
    employers = _with_parent_chains(session, {employer_id for employer_id in counts if employer_id is not None})
    with_union = set(
        session.scalars(
            sa.select(Union.employer_id).where(Union.kind == "enterprise", Union.employer_id.in_(list(employers)))
        )
    )
    result = []
    for employer_id, members in counts.items():
        covered = any(employer.id in with_union for employer in parent_chain(employer_id, employers.get))
        if not covered and employer_id in employers:
            result.append(EmployerWithoutUnion(employers[employer_id], int(members)))
    result.sort(key=lambda row: (-row.members, row.employer.id))
    return result[:limit]


def _with_parent_chains(session: Session, ids: set[int]) -> dict[int, Employer]:
    """The employers and every HQ above them, one query per level of the HQ chains."""
    employers: dict[int, Employer] = {}
    wanted = set(ids)
    while wanted:
        found = _employers(session, wanted)
        employers.update(found)
        wanted = {e.parent_id for e in found.values() if e.parent_id is not None} - employers.keys()
    return employers
