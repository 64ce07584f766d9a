"""Erased persons and identities keep their rows, anonymised (persons.erased_at, identities.erased_at)

An identity's birth date is part of its ID number, so an erased identity has none: the column
becomes nullable.

Revision ID: 0018_erasure
Revises: 0017_membership_history
Create Date: 2026-12-01 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0018_erasure'
down_revision: str | Sequence[str] | None = '0017_membership_history'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _foreign_keys(state: str) -> None:
    # SQLite's batch mode copies ``identities`` and ``persons`` into new tables that other tables refer to
    # (see 0016_identity_phone): their foreign keys are off while the copies replace the tables.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'PRAGMA foreign_keys = {state}')
        op.execute(f'PRAGMA defer_foreign_keys = {state}')


def upgrade() -> None:
    _foreign_keys('OFF')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', app.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.alter_column('birth_date', existing_type=sa.Date(), nullable=True)
    _foreign_keys('ON')


def downgrade() -> None:
    _foreign_keys('OFF')
    # An erased identity has no birth date; the old schema wants one, so it gets a placeholder.
    op.execute("UPDATE identities SET birth_date = '1900-01-01' WHERE birth_date IS NULL")
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.alter_column('birth_date', existing_type=sa.Date(), nullable=False)
        batch_op.drop_column('erased_at')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
    _foreign_keys('ON')
