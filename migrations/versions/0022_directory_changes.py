"""directory_changes: the version of what join codes resolve to (one row per change of the directory)

Revision ID: 0022_directory_changes
Revises: 0016_identity_phone
Create Date: 2026-12-01 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = '0022_directory_changes'
down_revision: str | Sequence[str] | None = "0021_partition_scans_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'directory_changes',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('changed_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_changes')),
    )


def downgrade() -> None:
    op.drop_table('directory_changes')
