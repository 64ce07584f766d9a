"""Directory (unions, employers, stations) and officer accounts

Revision ID: 0001_directory_officers
Revises: 
Create Date: 2026-11-28 16:34:09.803243
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
import app.db

revision: str = '0001_directory_officers'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('unions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('occupations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('employer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('accepting', sa.Boolean(), nullable=False),
    sa.Column('external_code', sa.String(length=64), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('federation', 'industry', 'regional', 'enterprise')", name=op.f('ck_unions_kind')),
    sa.ForeignKeyConstraint(['parent_id'], ['unions.id'], name=op.f('fk_unions_parent_id_unions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unions')),
    sa.UniqueConstraint('external_code', name=op.f('uq_unions_external_code'))
    )
    with op.batch_alter_table('unions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unions_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unions_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_unions_path', ['path'], unique=False, postgresql_ops={'path': 'text_pattern_ops'})
        batch_op.create_index(batch_op.f('ix_unions_region_code'), ['region_code'], unique=False)

    op.create_table('employers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('union_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_code', sa.String(length=64), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['employers.id'], name=op.f('fk_employers_parent_id_employers')),
    sa.ForeignKeyConstraint(['union_id'], ['unions.id'], name=op.f('fk_employers_union_id_unions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employers')),
    sa.UniqueConstraint('external_code', name=op.f('uq_employers_external_code')),
    sa.UniqueConstraint('uscc', name=op.f('uq_employers_uscc'))
    )
    with op.batch_alter_table('employers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employers_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_employers_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_employers_union_id'), ['union_id'], unique=False)

    # unions and employers refer to each other: this key can only follow both tables.
    with op.batch_alter_table('unions', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_unions_employer_id_employers'), 'employers', ['employer_id'], ['id'])

    op.create_table('officers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('union_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('reviewer', 'admin', 'viewer')", name=op.f('ck_officers_role')),
    sa.ForeignKeyConstraint(['union_id'], ['unions.id'], name=op.f('fk_officers_union_id_unions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officers')),
    sa.UniqueConstraint('username', name=op.f('uq_officers_username'))
    )
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officers_union_id'), ['union_id'], unique=False)

    op.create_table('stations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('employer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('occupation', sa.String(length=32), nullable=False),
    sa.Column('union_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_code', sa.String(length=64), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_stations_employer_id_employers')),
    sa.ForeignKeyConstraint(['union_id'], ['unions.id'], name=op.f('fk_stations_union_id_unions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stations')),
    sa.UniqueConstraint('external_code', name=op.f('uq_stations_external_code'))
    )
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stations_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stations_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_stations_union_id'), ['union_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stations_union_id'))
        batch_op.drop_index(batch_op.f('ix_stations_region_code'))
        batch_op.drop_index(batch_op.f('ix_stations_employer_id'))

    op.drop_table('stations')
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officers_union_id'))

    op.drop_table('officers')
    with op.batch_alter_table('unions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_unions_employer_id_employers'), type_='foreignkey')

    with op.batch_alter_table('employers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employers_union_id'))
        batch_op.drop_index(batch_op.f('ix_employers_region_code'))
        batch_op.drop_index(batch_op.f('ix_employers_parent_id'))

    op.drop_table('employers')
    with op.batch_alter_table('unions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unions_region_code'))
        batch_op.drop_index('ix_unions_path', postgresql_ops={'path': 'text_pattern_ops'})
        batch_op.drop_index(batch_op.f('ix_unions_parent_id'))
        batch_op.drop_index(batch_op.f('ix_unions_employer_id'))

    op.drop_table('unions')
