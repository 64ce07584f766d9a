"""A station's applications by union path (coverage's pages of stations)

Revision ID: 0011_station_scope_index
Revises: 0010_scan_sign_ins
Create Date: 2026-11-28 20:01:25.828717
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0011_station_scope_index'
down_revision: str | Sequence[str] | None = '0010_scan_sign_ins'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        # The new index first: a station's applications are never without one.
        batch_op.create_index('ix_applications_station_union_path', ['station_id', 'union_path'], unique=False, postgresql_ops={'union_path': 'text_pattern_ops'})
        batch_op.drop_index(batch_op.f('ix_applications_station_id'))


def downgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_station_id'), ['station_id'], unique=False)
        batch_op.drop_index('ix_applications_station_union_path', postgresql_ops={'union_path': 'text_pattern_ops'})

