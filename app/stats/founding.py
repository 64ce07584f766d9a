"""The founding ledger's figures (建会统计): targets, with a union, the founding rate, cases by stage, overdue.

How the figures add up (the rule coverage keeps, ``app.stats.service``):

- a target counts once, for the union that keeps it (``FoundingTarget.union_id``), while a
  list names it (a target that left every list, ``gone``, is no longer a unit to found);
- a case counts once, for its responsible union (``FoundingCase.union_id``);
- a union's figures "with its subtree" are sums over disjoint sets of rows, so a parent's
  total is exactly its own (本级) plus its children's totals, at every level, and officers
  at two levels see the same number for the same union.

``by=union`` lists the root's own row and one per direct child with that child's whole
subtree; ``by=region|sector|source`` group the targets (and the cases, by their target) by
that field. The founding rate is with_union / targets of the row; rates are never summed.

A target "has a union" when its employer has an enterprise union (an active case creates or
links one, issue 18's "founded means routed"), or when its case ended in a joint union
(``joined_joint_union``: its workers have a base union, 联合基层工会).

A liaison (``Actor.sectors``) sees the same figures restricted to its sectors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from app.actors import Actor, within_subtree
from app.clock import CHINA
from app.db import parse_id
from app.directory.models import Union
from app.directory.regions import display_name
from app.directory.service import get_union
from app.errors import ValidationFailed
from app.founding.models import FoundingCase, FoundingTarget
from app.founding.service import has_union_condition, overdue_condition
from app.founding.vocabulary import OPEN_STAGES, SECTORS, TARGET_SOURCES
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

FOUNDING_GROUPINGS = ("region", "sector", "source", "union")
# Every stage of an open case: before ``active``, and ``deferred`` (paused, still to be founded).
IN_PROGRESS_STAGES: tuple[str, ...] = OPEN_STAGES
# A unit without a union is flagged when it is this large and this old (规模以上、成立满五年).
FLAG_HEADCOUNT = 50
FLAG_YEARS = 5


@dataclass
class FoundingFigures:
    """The ledger's figures of one group (or of the whole scope)."""

    targets: int = 0
    with_union: int = 0
    in_progress: dict[str, int] = field(default_factory=lambda: dict.fromkeys(IN_PROGRESS_STAGES, 0))
    overdue: int = 0

    @property
    def founding_rate(self) -> float | None:
        """Share of the targets that have a union (None without targets)."""
        return round(self.with_union / self.targets, 4) if self.targets else None

    @property
    def in_progress_total(self) -> int:
        return sum(self.in_progress.values())

    @property
    def without_union(self) -> int:
        return self.targets - self.with_union


@dataclass
class FoundingRow:
    key: str
    label: str
    figures: FoundingFigures
    own: bool | None = None  # by=union: the root's own row (本级) or a child's whole subtree


@dataclass
class FoundingStats:
    by: str
    union: Union
    as_of: dt.datetime
    sectors: tuple[str, ...] | None
    items: list[FoundingRow]
    total: FoundingFigures


def _child_segment(session: Session, path: Any, root_path: str) -> sa.ColumnElement[str]:
    """The id (as text) of the root's child whose subtree holds ``path``; ``''`` for the root itself."""
    start = len(root_path) + 1
    rest = sa.func.substr(path, start)
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.split_part(rest, "/", 1)
    return sa.case((path == root_path, ""), else_=sa.func.substr(path, start, sa.func.instr(rest, "/") - 1))


def scope_root(session: Session, scope: Actor, union_id: str | None) -> Union:
    """The union whose subtree is counted: the actor's own, or ``union_id`` inside it (404 outside)."""
    return get_union(session, scope, scope.union_id if union_id is None else parse_id(union_id))


def _sector_filter(scope: Actor) -> sa.ColumnElement[bool]:
    return sa.true() if scope.sectors is None else FoundingTarget.sector.in_(scope.sectors)


def today(now: dt.datetime) -> dt.date:
    return now.astimezone(CHINA).date()


def founding_stats(
    session: Session, scope: Actor, *, by: str, now: dt.datetime, union_id: str | None = None
) -> FoundingStats:
    """The ledger's figures of the scope (or of ``union_id``'s subtree inside it), grouped ``by``."""
    if by not in FOUNDING_GROUPINGS:
        raise ValidationFailed(errors={"by": [f"须为 {' | '.join(FOUNDING_GROUPINGS)} 之一"]})
    root = scope_root(session, scope, union_id)
    groups: dict[str, FoundingFigures] = {}
    total = FoundingFigures()

    keeper = aliased(Union)
    target_key = _key(session, by, root.path, keeper.path)
    targets = (
        sa.select(
            target_key.label("key"), sa.func.count().label("targets"), sa.func.count().filter(has_union_condition())
        )
        .select_from(FoundingTarget)
        .join(keeper, keeper.id == FoundingTarget.union_id)
        .where(within_subtree(keeper.path, root.path), FoundingTarget.gone.is_(False), _sector_filter(scope))
        .group_by(target_key)
    )
    for key, count, with_union in session.execute(targets):
        figures = groups.setdefault(str(key), FoundingFigures())
        figures.targets, figures.with_union = int(count), int(with_union)
        total.targets += int(count)
        total.with_union += int(with_union)

    responsible = aliased(Union)
    case_key = _key(session, by, root.path, responsible.path)
    late = overdue_condition(today(now))  # as a case shows it: open and past its planned date
    cases = (
        sa.select(case_key.label("key"), FoundingCase.stage, sa.func.count(), sa.func.count().filter(late))
        .select_from(FoundingCase)
        .join(FoundingTarget, FoundingTarget.id == FoundingCase.target_id)
        .join(responsible, responsible.id == FoundingCase.union_id)
        .where(
            within_subtree(responsible.path, root.path),
            FoundingCase.stage.in_(IN_PROGRESS_STAGES),
            _sector_filter(scope),
        )
        .group_by(case_key, FoundingCase.stage)
    )
    for key, stage, count, overdue in session.execute(cases):
        figures = groups.setdefault(str(key), FoundingFigures())
        figures.in_progress[stage] += int(count)
        figures.overdue += int(overdue)
        total.in_progress[stage] += int(count)
        total.overdue += int(overdue)

    return FoundingStats(
        by=by,
        union=root,
        as_of=now,
        sectors=scope.sectors,
        items=_labelled(session, by, root, groups, scope.sectors),
        total=total,
    )


def _key(session: Session, by: str, root_path: str, union_path: Any) -> Any:
    if by == "union":
        return _child_segment(session, union_path, root_path)
    return {"region": FoundingTarget.region_code, "sector": FoundingTarget.sector, "source": FoundingTarget.source}[by]


def _labelled(
    session: Session, by: str, root: Union, groups: dict[str, FoundingFigures], sectors: Sequence[str] | None
) -> list[FoundingRow]:
    if by == "union":
        rows = [FoundingRow(str(root.id), f"{root.name}（本级）", groups.get("", FoundingFigures()), own=True)]
        children = session.execute(
            sa.select(Union.id, Union.name).where(Union.parent_id == root.id).order_by(Union.id)
        ).all()
        rows.extend(FoundingRow(str(i), name, groups.get(str(i), FoundingFigures()), own=False) for i, name in children)
        return rows
    if by in ("sector", "source"):
        vocabulary = SECTORS if by == "sector" else TARGET_SOURCES
        listed: Iterable[str] = vocabulary if by == "source" or sectors is None else sectors
        # Every code is listed, zeros included: a sector with no target is a finding too.
        keys = list(listed) + sorted(set(groups) - set(listed))
        return [FoundingRow(k, vocabulary.get(k, k), groups.get(k, FoundingFigures())) for k in keys]
    return [FoundingRow(code, display_name(code), groups[code]) for code in sorted(groups)]  # by=region


# --- units without a union (应建未建), largest first --------------------------------------------------------------


@dataclass
class UnbuiltUnit:
    target: FoundingTarget
    union_name: str  # the union that keeps the record
    flagged: bool  # FLAG_HEADCOUNT staff or more, and FLAG_YEARS years old or more
    years: int | None  # whole years since it was founded
    case_id: int | None  # its open case, if one is under way
    case_stage: str | None

    @property
    def region_name(self) -> str:
        return display_name(self.target.region_code)

    @property
    def union(self) -> dict[str, str]:
        return {"id": str(self.target.union_id), "name": self.union_name}

    @property
    def case(self) -> dict[str, str] | None:
        return {"id": str(self.case_id), "stage": self.case_stage or ""} if self.case_id else None


_SIZE = sa.func.coalesce(FoundingTarget.headcount, -1)  # unknown headcounts after every counted one


def _unbuilt_statement(session: Session, scope: Actor, root: Union) -> sa.Select[Any]:
    """The units of ``root``'s subtree without a union, with their keeper's name and their open case, largest first."""
    open_case = (
        sa.select(FoundingCase.id, FoundingCase.stage, FoundingCase.target_id)
        .where(FoundingCase.stage.not_in(("active", "joined_joint_union", "not_applicable")))
        .subquery("open_case")
    )
    return (
        sa.select(FoundingTarget, Union.name, open_case.c.id, open_case.c.stage)
        .join(Union, Union.id == FoundingTarget.union_id)
        .outerjoin(open_case, open_case.c.target_id == FoundingTarget.id)
        .where(
            within_subtree(Union.path, root.path),
            FoundingTarget.gone.is_(False),
            sa.not_(has_union_condition()),
            _sector_filter(scope),
        )
        .order_by(_SIZE.desc(), FoundingTarget.id.desc())
    )


def _unit(row: Any, on: dt.date) -> UnbuiltUnit:
    target, union_name, case_id, case_stage = row
    return UnbuiltUnit(
        target=target,
        union_name=union_name,
        flagged=is_flagged(target.headcount, target.founded_on, on),
        years=_years(target.founded_on, on),
        case_id=case_id,
        case_stage=case_stage,
    )


def unbuilt(
    session: Session,
    scope: Actor,
    *,
    now: dt.datetime,
    union_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Units of the subtree that should have a union and have none, largest first (by headcount, then newest id).

    A unit whose headcount is unknown comes after every counted one. The cursor is the
    last row's (headcount, id); keyset pages stay right while targets are added.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    statement = _unbuilt_statement(session, scope, scope_root(session, scope, union_id))
    if cursor:
        last_size, last_id = _decode_cursor(cursor)
        statement = statement.where(sa.tuple_(_SIZE, FoundingTarget.id) < sa.tuple_(last_size, last_id))
    on = today(now)
    items = [_unit(row, on) for row in session.execute(statement.limit(limit + 1)).all()]
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        last = items[-1].target
        next_cursor = _encode_cursor(last.headcount if last.headcount is not None else -1, last.id)
    return Page(items=items, next_cursor=next_cursor)


def all_unbuilt(session: Session, scope: Actor, *, now: dt.datetime, root: Union) -> Iterator[UnbuiltUnit]:
    """Every unit of ``unbuilt``, in its order, read in one pass (the monthly report's list)."""
    on = today(now)
    for row in session.execute(_unbuilt_statement(session, scope, root).execution_options(yield_per=1000)):
        yield _unit(row, on)


def is_flagged(headcount: int | None, founded_on: dt.date | None, on: dt.date) -> bool:
    years = _years(founded_on, on)
    return headcount is not None and headcount >= FLAG_HEADCOUNT and years is not None and years >= FLAG_YEARS


def _years(founded_on: dt.date | None, on: dt.date) -> int | None:
    if founded_on is None:
        return None
    return on.year - founded_on.year - ((on.month, on.day) < (founded_on.month, founded_on.day))


def _encode_cursor(size: int, target_id: int) -> str:
    return encode_cursor([size, target_id])


def _decode_cursor(cursor: str) -> tuple[int, int]:
    size, target_id = decode_cursor(cursor, [FoundingTarget.headcount, FoundingTarget.id])
    return int(size), int(target_id)
