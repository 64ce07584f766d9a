"""Coverage statistics: indexes for pending applications by subtree, decisions by time, active memberships

Revision ID: 0008_coverage
Revises: 0007_review
Create Date: 2026-11-28 18:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_coverage"
down_revision: str | Sequence[str] | None = '0007_review'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_applications_pending_union_path",
        "applications",
        ["union_path", "due_at"],
        unique=False,
        postgresql_ops={"union_path": "text_pattern_ops"},
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_applications_decided_at", "applications", ["decided_at"], unique=False)
    op.create_index(
        "ix_memberships_active_union",
        "memberships",
        ["union_id", "application_id"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
        sqlite_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_memberships_active_union",
        table_name="memberships",
        postgresql_where=sa.text("status = 'active'"),
        sqlite_where=sa.text("status = 'active'"),
    )
    op.drop_index("ix_applications_decided_at", table_name="applications")
    op.drop_index(
        "ix_applications_pending_union_path",
        table_name="applications",
        postgresql_ops={"union_path": "text_pattern_ops"},
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
