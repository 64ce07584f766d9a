"""An identity is bound to one phone (identities.person_id): the phone that first proved it

Existing identities are bound to the person of their earliest application (the phone that first
filed the ID number); an identity no application refers to cannot be used by anyone and is dropped.

Revision ID: 0016_identity_phone
Revises: 0015_rule_owner
Create Date: 2026-12-01 09:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016_identity_phone'
down_revision: str | Sequence[str] | None = '0015_rule_owner'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _foreign_keys(state: str) -> None:
    # SQLite's batch mode copies ``identities`` into a new table, which applications and memberships refer
    # to: their foreign keys are off while the copy replaces the table (PRAGMA is a no-op inside a
    # transaction, so both are also deferred to the commit), and on again after.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'PRAGMA foreign_keys = {state}')
        op.execute(f'PRAGMA defer_foreign_keys = {state}')


def upgrade() -> None:
    _foreign_keys('OFF')
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', BIG_ID, nullable=True))
    op.execute(
        'UPDATE identities SET person_id = (SELECT a.person_id FROM applications a'
        ' WHERE a.identity_id = identities.id ORDER BY a.id LIMIT 1)'
    )
    op.execute('DELETE FROM identities WHERE person_id IS NULL')
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.alter_column('person_id', existing_type=BIG_ID, nullable=False)
        batch_op.create_index(batch_op.f('ix_identities_person_id'), ['person_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_identities_person_id_persons'), 'persons', ['person_id'], ['id'])
    _foreign_keys('ON')


def downgrade() -> None:
    _foreign_keys('OFF')
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_identities_person_id_persons'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_identities_person_id'))
        batch_op.drop_column('person_id')
    _foreign_keys('ON')
