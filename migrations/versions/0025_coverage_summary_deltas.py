"""coverage_summary_deltas: on PostgreSQL the triggers append each statement's net change instead of upserting

Revision ID: 0025_coverage_summary_deltas
Revises: 0024_coverage_summary
Create Date: 2026-12-01 19:30:00.000000

0024's statement-level triggers upserted into ``coverage_summary``: every submit of a union's
pending couriers added 1 to the same three rows (one per kind), and each held those rows' locks
until its commit, so a depot's submits committed one after another (measured: 8 concurrent
submits, 4–6 of them waiting on a transaction lock at any moment, ~50 submits/s). Now the
function inserts the same grouped, net rows into ``coverage_summary_deltas``, which no other
transaction locks; ``app.stats.summary.fold`` adds them into the summary later, and readers add
the deltas not yet folded. SQLite's row-level triggers are unchanged (one writer at a time there);
the table exists on both so that the models are the same.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0025_coverage_summary_deltas"
down_revision: str | Sequence[str] | None = "0024_coverage_summary"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _summary_migration() -> Any:
    """0024, whose SQL builders (the grouped counts of a transition table) this function reuses."""
    path = Path(__file__).with_name("0024_coverage_summary.py")
    spec = importlib.util.spec_from_file_location("coverage_summary_0024", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _function() -> str:
    m = _summary_migration()
    columns = f"{m.KEY}, {', '.join(m.COUNTS)}"
    return f"""
CREATE OR REPLACE FUNCTION coverage_summary_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO coverage_summary_deltas ({columns})
        SELECT {m.KEY}, {m.SUMS} FROM ({m._grouped("new_rows", "strpos")}) d GROUP BY {m.KEY};
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO coverage_summary_deltas ({columns})
        SELECT {m.KEY}, {m.SUMS} FROM ({m._grouped("old_rows", "strpos", "-")}) d GROUP BY {m.KEY};
    ELSE
        -- What the statement changed, net: most updates (a version, a trace) change no count at all.
        INSERT INTO coverage_summary_deltas ({columns})
        SELECT {m.KEY}, {m.SUMS}
        FROM ({m._grouped("new_rows", "strpos")} UNION ALL {m._grouped("old_rows", "strpos", "-")}) d
        GROUP BY {m.KEY} HAVING {m.NONZERO};
    END IF;
    RETURN NULL;
END
$$
"""


TRUNCATE_FUNCTION = """CREATE OR REPLACE FUNCTION coverage_summary_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN TRUNCATE coverage_summary, coverage_summary_deltas; RETURN NULL; END $$"""


def upgrade() -> None:
    op.create_table(
        "coverage_summary_deltas",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_summary_deltas")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function())
        op.execute(TRUNCATE_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        m = _summary_migration()
        op.execute(m.POSTGRES_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
        op.execute(m.POSTGRES_TRIGGERS[3].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
        # The deltas not yet folded, into the summary, before their table goes.
        op.execute(
            f"INSERT INTO coverage_summary AS s ({m.KEY}, {', '.join(m.COUNTS)})"
            f" SELECT {m.KEY}, {m.SUMS} FROM coverage_summary_deltas GROUP BY {m.KEY}"
            f" ON CONFLICT ({m.KEY}) DO UPDATE SET {m.ADD}"
        )
    op.drop_table("coverage_summary_deltas")
