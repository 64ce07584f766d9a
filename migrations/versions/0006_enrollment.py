"""Enrollment: identities, applications, memberships, member numbers, idempotency keys

Revision ID: 0006_enrollment
Revises: 0005_audit
Create Date: 2026-11-28 17:29:31.516091
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text  # noqa: F401  # autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql
import app.db

revision: str = '0006_enrollment'
down_revision: str | Sequence[str] | None = '0005_audit'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('identities',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id_number_index', sa.String(length=64), nullable=False),
    sa.Column('id_number_sealed', sa.String(length=255), nullable=False),
    sa.Column('name_sealed', sa.String(length=255), nullable=False),
    sa.Column('name_masked', sa.String(length=40), nullable=False),
    sa.Column('id_number_masked', sa.String(length=18), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=6), nullable=False),
    sa.Column('member_no', sa.String(length=32), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identities')),
    sa.UniqueConstraint('id_number_index', name=op.f('uq_identities_id_number_index')),
    sa.UniqueConstraint('member_no', name=op.f('uq_identities_member_no'))
    )
    op.create_table('member_number_sequences',
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'year', name=op.f('pk_member_number_sequences'))
    )
    op.create_table('idempotency_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_idempotency_keys_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('person_id', 'key', name='uq_idempotency_keys_person_key')
    )
    op.create_table('applications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('join_code_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('station_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('employer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('employer_name', sa.String(length=200), nullable=True),
    sa.Column('union_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('union_path', sa.String(length=400), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('occupation', sa.String(length=32), nullable=False),
    sa.Column('employment_form', sa.String(length=32), nullable=False),
    sa.Column('is_transfer', sa.Boolean(), nullable=False),
    sa.Column('consent_version', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('route_rule', sa.String(length=16), nullable=False),
    sa.Column('route_trace', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('decision_reason', sa.String(length=500), nullable=True),
    sa.Column('decided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('member_no', sa.String(length=32), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'returned', 'withdrawn')", name=op.f('ck_applications_status')),
    sa.ForeignKeyConstraint(['decided_by'], ['officers.id'], name=op.f('fk_applications_decided_by_officers')),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_applications_employer_id_employers')),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_applications_identity_id_identities')),
    sa.ForeignKeyConstraint(['join_code_id'], ['join_codes.id'], name=op.f('fk_applications_join_code_id_join_codes')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_applications_person_id_persons')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_applications_station_id_stations')),
    sa.ForeignKeyConstraint(['union_id'], ['unions.id'], name=op.f('fk_applications_union_id_unions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications'))
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_join_code_id'), ['join_code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_occupation'), ['occupation'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_station_id'), ['station_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_union_id'), ['union_id'], unique=False)
        batch_op.create_index('ix_applications_union_path_created', ['union_path', 'created_at'], unique=False, postgresql_ops={'union_path': 'text_pattern_ops'})
        batch_op.create_index('uq_applications_open_identity', ['identity_id'], unique=True, postgresql_where=sa.text("status IN ('pending', 'returned')"), sqlite_where=sa.text("status IN ('pending', 'returned')"))

    op.create_table('memberships',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('union_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_no', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('since', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'transferred_out', 'ended')", name=op.f('ck_memberships_status')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_memberships_application_id_applications')),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_memberships_identity_id_identities')),
    sa.ForeignKeyConstraint(['union_id'], ['unions.id'], name=op.f('fk_memberships_union_id_unions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_member_no'), ['member_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_union_id'), ['union_id'], unique=False)
        batch_op.create_index('uq_memberships_active_identity', ['identity_id'], unique=True, postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))



def downgrade() -> None:
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_memberships_active_identity', postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_memberships_union_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_member_no'))
        batch_op.drop_index(batch_op.f('ix_memberships_identity_id'))

    op.drop_table('memberships')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('uq_applications_open_identity', postgresql_where=sa.text("status IN ('pending', 'returned')"), sqlite_where=sa.text("status IN ('pending', 'returned')"))
        batch_op.drop_index('ix_applications_union_path_created', postgresql_ops={'union_path': 'text_pattern_ops'})
        batch_op.drop_index(batch_op.f('ix_applications_union_id'))
        batch_op.drop_index(batch_op.f('ix_applications_status'))
        batch_op.drop_index(batch_op.f('ix_applications_station_id'))
        batch_op.drop_index(batch_op.f('ix_applications_region_code'))
        batch_op.drop_index(batch_op.f('ix_applications_person_id'))
        batch_op.drop_index(batch_op.f('ix_applications_occupation'))
        batch_op.drop_index(batch_op.f('ix_applications_join_code_id'))
        batch_op.drop_index(batch_op.f('ix_applications_identity_id'))
        batch_op.drop_index(batch_op.f('ix_applications_employer_id'))
        batch_op.drop_index(batch_op.f('ix_applications_due_at'))

    op.drop_table('applications')
    op.drop_table('idempotency_keys')
    op.drop_table('member_number_sequences')
    op.drop_table('identities')
