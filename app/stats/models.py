"""Indexes the statistics read through; the tables themselves belong to enrollment.

Declared here, on enrollment's tables, so that enrollment's models stay about
enrollment; ``app.models`` imports this module so Alembic sees them.

- Pending applications of a subtree, with their deadlines (pending and overdue
  figures, and the review queue's "overdue" filter): a partial index over a tenth
  of the table.
- Decisions by time: the period figures (approvals, rejections, medians) of a
  narrow period read only that period's rows.
- Active memberships by union, with the application they came from: member counts
  of a subtree without touching ended memberships.
- Per grouping of the coverage query (occupation, region, employment form, and on
  PostgreSQL the root's child for by=union), the applications sorted by (key,
  decision_hours) and carrying every other column the statement reads: at the top of
  the tree it is read whole, in order, by a parallel index-only scan feeding a
  streaming aggregate (see ``app.stats.service``). About
  90 MB each per million applications on PostgreSQL, and written only when an
  application is filed or decided.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from app.enrollment.models import Application, Membership

PENDING = "status = 'pending'"
ACTIVE = "status = 'active'"

ix_applications_pending_path = sa.Index(
    "ix_applications_pending_union_path",
    Application.union_path,
    Application.due_at,
    postgresql_ops={"union_path": "text_pattern_ops"},
    postgresql_where=sa.text(PENDING),
    sqlite_where=sa.text(PENDING),
)
ix_applications_decided_at = sa.Index("ix_applications_decided_at", Application.decided_at)
ix_memberships_active_union = sa.Index(
    "ix_memberships_active_union",
    Membership.union_id,
    Membership.application_id,
    postgresql_where=sa.text(ACTIVE),
    sqlite_where=sa.text(ACTIVE),
)


def _in_key_order(name: str, key: InstrumentedAttribute[str] | sa.ColumnElement[str]) -> sa.Index:
    return sa.Index(
        name,
        key,
        Application.decision_hours,
        postgresql_include=["union_path", "status", "decided_at", "due_at", "membership_active"],
    )


ix_applications_occupation_hours = _in_key_order("ix_applications_occupation_hours", Application.occupation)
ix_applications_region_hours = _in_key_order("ix_applications_region_hours", Application.region_code)
ix_applications_form_hours = _in_key_order("ix_applications_form_hours", Application.employment_form)
# by=union at the top of the tree groups by the second element of the path (the child of
# the root, a city federation in a province's tree). PostgreSQL only: SQLite has no split_part
# and no need, and what it indexes is that expression exactly (``TOP_CHILD``).
# The constants are written into the SQL, not bound: a bound parameter would not match the index.
TOP_CHILD = sa.func.split_part(Application.union_path, sa.literal_column("'/'"), sa.literal_column("3"))
ix_applications_top_child_hours = _in_key_order("ix_applications_top_child_hours", TOP_CHILD).ddl_if(
    dialect="postgresql"
)
