"""Applications keep the hours to decision and whether their membership is active (coverage in one pass)

Revision ID: 0009_decision_hours
Revises: 0008_coverage
Create Date: 2026-11-28 18:25:06.326544
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_decision_hours'
down_revision: str | Sequence[str] | None = '0008_coverage'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('membership_active', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.execute(
        "UPDATE applications SET membership_active = EXISTS (SELECT 1 FROM memberships m"
        " WHERE m.application_id = applications.id AND m.status = 'active')"
    )
    # Fill it for decisions already taken; new ones are stamped by the model on flush.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE applications SET decision_hours = GREATEST(0, FLOOR(EXTRACT(EPOCH FROM decided_at - submitted_at)"
            " / 3600))::integer WHERE decided_at IS NOT NULL"
        )
    else:
        op.execute(
            "UPDATE applications SET decision_hours = MAX(0, CAST((julianday(decided_at) - julianday(submitted_at))"
            " * 24 + 1e-9 AS INTEGER)) WHERE decided_at IS NOT NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('membership_active')
        batch_op.drop_column('decision_hours')
