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

The time-dependent parts are not summarised: which pending applications are overdue,
and a period's decisions, come from the applications' own indexes (the pending ones by
deadline, the decisions by time).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

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
