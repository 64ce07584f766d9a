"""崇川区 is 320613 since its 2020 merger with 港闸区, not 320602: stored region codes move

Revision ID: 0014_chongchuan_320613
Revises: 0013_coverage_top_child
Create Date: 2026-11-29 10:00:00.000000

Moved: where a union, employer or station is, what an override rule matches, and the
region an application was filed from (copied from its station). Kept, because they
were issued under the old code and keep it for life: ID numbers, USCCs and member
numbers, and so the member-number counters (``member_number_sequences`` counts the
numbers issued under a prefix; new members of the union get 320613… numbers from a
counter of their own, which cannot collide). The audit log is history: untouched.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014_chongchuan_320613'
down_revision: str | Sequence[str] | None = '0013_coverage_top_child'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RETIRED, CURRENT = '320602', '320613'
TABLES = ('unions', 'employers', 'stations', 'routing_rules', 'applications')


def _move(old: str, new: str) -> None:
    for name in TABLES:
        table = sa.table(name, sa.column('region_code', sa.String(6)))
        op.execute(table.update().where(table.c.region_code == old).values(region_code=new))


def upgrade() -> None:
    _move(RETIRED, CURRENT)


def downgrade() -> None:
    _move(CURRENT, RETIRED)
