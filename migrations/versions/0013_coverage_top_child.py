"""Applications by the root's child and hours (coverage by union at the top of the tree), PostgreSQL only

Revision ID: 0013_coverage_top_child
Revises: 0012_coverage_key_order
Create Date: 2026-11-28 20:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013_coverage_top_child'
down_revision: str | Sequence[str] | None = '0012_coverage_key_order'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INCLUDE = ['union_path', 'status', 'decided_at', 'due_at', 'membership_active']


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return  # SQLite has no split_part, and no need (see app.enrollment.models)
    op.create_index(
        'ix_applications_top_child_hours',
        'applications',
        [sa.text("split_part(union_path, '/', 3)"), 'decision_hours'],
        unique=False,
        postgresql_include=INCLUDE,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_applications_top_child_hours', table_name='applications')
