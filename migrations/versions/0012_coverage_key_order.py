"""Applications in (key, hours) order for coverage's groupings, carrying what it reads

Revision ID: 0012_coverage_key_order
Revises: 0011_station_scope_index
Create Date: 2026-11-28 20:31:22.687927
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0012_coverage_key_order'
down_revision: str | Sequence[str] | None = '0011_station_scope_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        # The new indexes first (they serve lookups by occupation and region too), then the old ones go.
        batch_op.create_index('ix_applications_form_hours', ['employment_form', 'decision_hours'], unique=False, postgresql_include=['union_path', 'status', 'decided_at', 'due_at', 'membership_active'])
        batch_op.create_index('ix_applications_occupation_hours', ['occupation', 'decision_hours'], unique=False, postgresql_include=['union_path', 'status', 'decided_at', 'due_at', 'membership_active'])
        batch_op.create_index('ix_applications_region_hours', ['region_code', 'decision_hours'], unique=False, postgresql_include=['union_path', 'status', 'decided_at', 'due_at', 'membership_active'])
        batch_op.drop_index(batch_op.f('ix_applications_occupation'))
        batch_op.drop_index(batch_op.f('ix_applications_region_code'))


def downgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_occupation'), ['occupation'], unique=False)
        batch_op.drop_index('ix_applications_region_hours', postgresql_include=['union_path', 'status', 'decided_at', 'due_at', 'membership_active'])
        batch_op.drop_index('ix_applications_occupation_hours', postgresql_include=['union_path', 'status', 'decided_at', 'due_at', 'membership_active'])
        batch_op.drop_index('ix_applications_form_hours', postgresql_include=['union_path', 'status', 'decided_at', 'due_at', 'membership_active'])
