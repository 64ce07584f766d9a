"""Sign-ins tied to the join code a device just scanned (the funnel's phones proved after a scan)

Revision ID: 0010_scan_sign_ins
Revises: 0009_decision_hours
Create Date: 2026-11-28 19:51:06.656982
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0010_scan_sign_ins'
down_revision: str | Sequence[str] | None = '0009_decision_hours'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('scan_sign_ins',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('join_code_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('signed_in_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.CheckConstraint("method IN ('sms', 'wechat')", name=op.f('ck_scan_sign_ins_method')),
    sa.ForeignKeyConstraint(['join_code_id'], ['join_codes.id'], name=op.f('fk_scan_sign_ins_join_code_id_join_codes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_scan_sign_ins_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_sign_ins'))
    )
    with op.batch_alter_table('scan_sign_ins', schema=None) as batch_op:
        batch_op.create_index('ix_scan_sign_ins_code_time', ['join_code_id', 'signed_in_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_scan_sign_ins_person_id'), ['person_id'], unique=False)

    with op.batch_alter_table('join_scans', schema=None) as batch_op:
        batch_op.create_index('ix_join_scans_device_time', ['device_hash', 'scanned_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('join_scans', schema=None) as batch_op:
        batch_op.drop_index('ix_join_scans_device_time')

    with op.batch_alter_table('scan_sign_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scan_sign_ins_person_id'))
        batch_op.drop_index('ix_scan_sign_ins_code_time')

    op.drop_table('scan_sign_ins')
