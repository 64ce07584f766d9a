"""Officer role ``liaison`` and the sectors a liaison is bound to (officer_sectors)

A liaison is a department's reader of the founding data of its sectors; it sees no
person's data and changes nothing. The sector codes are checked by the service (the
founding vocabulary), not by the table, so that a new sector needs no migration.

Revision ID: 0020_liaison
Revises: 0019_founding
Create Date: 2026-12-01 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020_liaison'
down_revision: str | Sequence[str] | None = '0019_founding'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_officers_role'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_officers_role'), "role IN ('reviewer', 'admin', 'viewer', 'liaison')"
        )
    op.create_table(
        'officer_sectors',
        sa.Column('officer_id', _ID, nullable=False),
        sa.Column('sector', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ['officer_id'], ['officers.id'], name=op.f('fk_officer_sectors_officer_id_officers'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('officer_id', 'sector', name=op.f('pk_officer_sectors')),
    )


def downgrade() -> None:
    op.drop_table('officer_sectors')
    op.execute("DELETE FROM officers WHERE role = 'liaison'")
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_officers_role'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_officers_role'), "role IN ('reviewer', 'admin', 'viewer')")
