"""Join codes, their append-only scan events and cached mini-program codes

Revision ID: 0004_joincodes
Revises: 0003_directory
Create Date: 2026-11-28 16:43:23.085763
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0004_joincodes'
down_revision: str | Sequence[str] | None = '0003_directory'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('join_codes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('station_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('revoked_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('replaced_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['officers.id'], name=op.f('fk_join_codes_created_by_id_officers')),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['join_codes.id'], name=op.f('fk_join_codes_replaced_by_id_join_codes')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['officers.id'], name=op.f('fk_join_codes_revoked_by_id_officers')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_join_codes_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_join_codes')),
    sa.UniqueConstraint('token', name=op.f('uq_join_codes_token'))
    )
    with op.batch_alter_table('join_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_join_codes_station_id'), ['station_id'], unique=False)

    op.create_table('join_code_wxacodes',
    sa.Column('join_code_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('page', sa.String(length=128), nullable=False),
    sa.Column('env_version', sa.String(length=8), nullable=False),
    sa.Column('image_png', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['join_code_id'], ['join_codes.id'], name=op.f('fk_join_code_wxacodes_join_code_id_join_codes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('join_code_id', 'page', 'env_version', name=op.f('pk_join_code_wxacodes'))
    )
    op.create_table('join_scans',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('join_code_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scanned_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('device_hash', sa.String(length=32), nullable=True),
    sa.CheckConstraint("channel IN ('miniprogram', 'web')", name=op.f('ck_join_scans_channel')),
    sa.ForeignKeyConstraint(['join_code_id'], ['join_codes.id'], name=op.f('fk_join_scans_join_code_id_join_codes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_join_scans'))
    )
    with op.batch_alter_table('join_scans', schema=None) as batch_op:
        batch_op.create_index('ix_join_scans_code_device', ['join_code_id', 'device_hash'], unique=False)
        batch_op.create_index('ix_join_scans_code_time', ['join_code_id', 'scanned_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('join_scans', schema=None) as batch_op:
        batch_op.drop_index('ix_join_scans_code_time')
        batch_op.drop_index('ix_join_scans_code_device')

    op.drop_table('join_scans')
    op.drop_table('join_code_wxacodes')
    with op.batch_alter_table('join_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_join_codes_station_id'))

    op.drop_table('join_codes')