"""The coverage summary as readers see it (the summary plus the deltas not yet folded), and the fold.

See ``app.stats.models`` for what the rows hold and why PostgreSQL's triggers append deltas.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import conflict_insert
from app.stats.models import SUMMARY_COUNTS, CoverageSummary, CoverageSummaryDelta

log = logging.getLogger("ruhui.stats.summary")

KEY = ("kind", "head", "value", "hours")
_COLUMNS = (*KEY, *SUMMARY_COUNTS)


def summary_rows() -> sa.Subquery:
    """The summary's rows and the deltas' rows, one after the other: their sums per key are the figures.

    A key may appear more than once (and a delta's counts may be negative), so a reader sums before
    it filters out the keys whose counts are all zero.
    """
    summary, deltas = CoverageSummary.__table__, CoverageSummaryDelta.__table__
    return sa.union_all(
        sa.select(*(summary.c[name] for name in _COLUMNS)),
        sa.select(*(deltas.c[name] for name in _COLUMNS)),
    ).subquery("summary")


def fold(session: Session) -> int:
    """Add the deltas there are into the summary and delete them, in the caller's transaction; the keys changed.

    Safe beside submits (they only insert deltas) and beside another fold: a delta deleted by a
    concurrent fold is skipped here, so each is added exactly once. The caller commits.
    """
    summary = CoverageSummary.__table__
    dialect = session.get_bind().dialect
    source: sa.FromClause
    if dialect.name == "postgresql":
        # One statement: the deltas deleted are the deltas added (a concurrent insert is not seen by either).
        deleted = sa.delete(CoverageSummaryDelta).returning(*(getattr(CoverageSummaryDelta, n) for n in _COLUMNS))
        source = deleted.cte("moved")
    else:
        # SQLite's triggers add to the summary itself; a delta there could only come from a restore. One
        # writer at a time: the deltas read here are the deltas deleted below, in the same transaction.
        source = CoverageSummaryDelta.__table__
    keys = [source.c[name] for name in KEY]
    # (WHERE true: SQLite reads an ON after a bare INSERT … SELECT … FROM as the join's.)
    sums = sa.select(*keys, *(sa.func.sum(source.c[name]) for name in SUMMARY_COUNTS)).where(sa.true()).group_by(*keys)
    insert = conflict_insert(dialect)(CoverageSummary).from_select(list(_COLUMNS), sums.order_by(*keys))
    upsert = insert.on_conflict_do_update(
        index_elements=list(KEY), set_={name: summary.c[name] + insert.excluded[name] for name in SUMMARY_COUNTS}
    )
    moved = int(session.execute(upsert).rowcount)  # type: ignore[attr-defined]  # an INSERT's result has rowcount
    if dialect.name != "postgresql":
        session.execute(sa.delete(CoverageSummaryDelta))
    if moved:
        log.debug("coverage deltas folded", extra={"keys": moved})
    return moved


def fold_pending(session_factory: Callable[[], Session]) -> int:
    """``fold`` in a transaction of its own; what the outbox worker runs between its rounds."""
    with session_factory() as session:
        moved = fold(session)
        session.commit()
    return moved
