"""The review queue's pending applications in queue order: a covering index, and one per union

Revision ID: 0023_pending_queue_indexes
Revises: 0016_identity_phone
Create Date: 2026-12-01 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023_pending_queue_indexes'
down_revision: str | Sequence[str] | None = "0022_directory_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(
            'ix_applications_pending_queue',
            ['submitted_at', 'id'],
            unique=False,
            postgresql_include=['union_path', 'union_id', 'station_id', 'occupation', 'due_at', 'person_id'],
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )
        batch_op.create_index(
            'ix_applications_pending_union',
            ['union_id', 'submitted_at', 'id'],
            unique=False,
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_pending_union', postgresql_where=PENDING, sqlite_where=PENDING)
        batch_op.drop_index('ix_applications_pending_queue', postgresql_where=PENDING, sqlite_where=PENDING)
