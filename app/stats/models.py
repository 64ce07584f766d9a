"""The coverage summary: the applications' coverage counts per (grouping, head of the path, value, hours).

Kept by triggers on ``applications`` (migration 0024, on both databases), in the same
transaction as the change to the application: a submission, a decision, a membership
granted or ended, a transfer, a union moved, an erasure. Coverage at the top of the tree
then sums a few thousand of these rows instead of reading every application
(``app.stats.service``); the figures stay exact and immediate.

Each application that coverage counts (pending, decided, or granting an active
membership) adds 1 to one row per ``kind`` — ``occupation``, ``region`` and
``employment_form``, so the totals can be read from any one kind — in the columns it
counts in:

- ``head``: the first two elements of its union's path (``/1/5/`` for ``/1/5/17/``, the
  root's own ``/1/``): enough for the top of the tree (by=union groups by the root's child)
  and for a union just below it (every grouping but by=union);
- ``value``: its occupation, region code or employment form;
- ``hours``: its whole hours to decision (``decision_hours``), -1 while none (a key
  column cannot be NULL): the histogram the medians are taken from;
- ``pending``, ``approved``, ``rejected`` (decided, with a decision time), ``members``
  (``membership_active``): integers, whose sums PostgreSQL adds as bigint (a bigint's sum is numeric, slower).

On PostgreSQL the triggers do not add to these rows themselves: every statement appends its
net change to ``coverage_summary_deltas`` instead (migration 0025), and ``fold`` moves the
deltas into the summary, one transaction at a time, from the outbox worker's loop. An upsert
into the summary would lock the few rows all of a union's submits share (one per kind, for
the pending ones of an occupation) until the submit commits, so a depot's submits would
queue behind each other's commits; an insert into the deltas locks nothing another submit
needs. Readers add the deltas not yet folded, so the figures stay exact and immediate
whether or not anything folds. SQLite has one writer at a time anyway: its triggers add
to the summary directly and its deltas stay empty.

The time-dependent parts are not summarised: which pending applications are overdue,
and a period's decisions, come from the applications' own indexes (the pending ones by
deadline, the decisions by time).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId

SUMMARY_KINDS = ("occupation", "region", "employment_form")
SUMMARY_COUNTS = ("pending", "approved", "rejected", "members")


class CoverageSummary(Base):
    __tablename__ = "coverage_summary"

    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    head: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    hours: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    pending: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    approved: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    rejected: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    members: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")


class CoverageSummaryDelta(Base):
    """A statement's net change to the summary (PostgreSQL), until ``fold`` adds it in; counts may be negative."""

    __tablename__ = "coverage_summary_deltas"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    head: Mapped[str] = mapped_column(sa.String(64))
    value: Mapped[str] = mapped_column(sa.String(32))
    hours: Mapped[int] = mapped_column(sa.Integer)
    pending: Mapped[int] = mapped_column(sa.Integer)
    approved: Mapped[int] = mapped_column(sa.Integer)
    rejected: Mapped[int] = mapped_column(sa.Integer)
    members: Mapped[int] = mapped_column(sa.Integer)
