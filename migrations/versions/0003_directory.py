"""Routing override rules, and an index for routing's (region_code, kind) look-ups

Revision ID: 0003_directory
Revises: 0002_auth
Create Date: 2026-11-28 16:49:22.371935
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0003_directory'
down_revision: str | Sequence[str] | None = '0002_auth'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('routing_rules',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('union_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('employer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('occupation', sa.String(length=32), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(CASE WHEN station_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN employer_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN region_code IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_routing_rules_one_subject')),
    sa.CheckConstraint('region_code IS NULL OR occupation IS NOT NULL', name=op.f('ck_routing_rules_region_needs_occupation')),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_routing_rules_employer_id_employers')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_routing_rules_station_id_stations')),
    sa.ForeignKeyConstraint(['union_id'], ['unions.id'], name=op.f('fk_routing_rules_union_id_unions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rules'))
    )
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_rules_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routing_rules_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_routing_rules_station_id'), ['station_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routing_rules_union_id'), ['union_id'], unique=False)

    with op.batch_alter_table('unions', schema=None) as batch_op:
        batch_op.create_index('ix_unions_region_code_kind', ['region_code', 'kind'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('unions', schema=None) as batch_op:
        batch_op.drop_index('ix_unions_region_code_kind')

    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_rules_union_id'))
        batch_op.drop_index(batch_op.f('ix_routing_rules_station_id'))
        batch_op.drop_index(batch_op.f('ix_routing_rules_region_code'))
        batch_op.drop_index(batch_op.f('ix_routing_rules_employer_id'))

    op.drop_table('routing_rules')
