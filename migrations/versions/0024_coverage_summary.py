"""coverage_summary: coverage's counts per (grouping, head of the path, value, hours), kept by triggers

Revision ID: 0024_coverage_summary
Revises: 0023_pending_queue_indexes
Create Date: 2026-12-01 15:30:00.000000

The table (``app.stats.models.CoverageSummary``), the triggers on ``applications`` that
keep it in the same transaction as every change — statement-level ones with transition
tables on PostgreSQL (one grouped statement however many rows a statement touches), and
row-level ones on SQLite — and its backfill from the applications already there. Also the
pending applications by deadline (``ix_applications_pending_due``): coverage's overdue
figure counts the pending applications not yet due from it; and on PostgreSQL the
decisions by time (``ix_applications_decided_at``) carry what coverage reads of a period's;
a station's applications (``ix_applications_station_union_path``) carry what a page of
stations counts; and the memberships retained, withdrawn or removed by union (``ix_memberships_lasting_union``):
coverage counts them without reading the active ones. And, for the review queue, the queue
order of every status (``ix_applications_queue_order``) carries the union path on PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_coverage_summary"
down_revision: str | Sequence[str] | None = "0023_pending_queue_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")
LASTING = sa.text("status IN ('retained', 'withdrawn', 'removed')")
STATION_READS = ['status', 'decided_at', 'decision_hours', 'due_at', 'membership_active']
DECIDED_READS = ['union_path', 'status', 'decision_hours', 'occupation', 'region_code', 'employment_form']
KINDS = (("occupation", "occupation"), ("region", "region_code"), ("employment_form", "employment_form"))
COUNTS = ("pending", "approved", "rejected", "members")
KEY = "kind, head, value, hours"


def _head(row: str, find: str) -> str:
    """The first two elements of ``row.union_path`` (``/1/5/`` of ``/1/5/17/``; ``/1/`` of ``/1/``)."""
    path = f"{row}.union_path"
    first = f"{find}(substr({path}, 2), '/')"
    return f"substr({path}, 1, 1 + {first} + {find}(substr({path}, 2 + {first}), '/'))"


def _counts(row: str) -> list[str]:
    decided = f"{row}.decided_at IS NOT NULL"
    return [
        f"CASE WHEN {row}.status = 'pending' THEN 1 ELSE 0 END",
        f"CASE WHEN {row}.status = 'approved' AND {decided} THEN 1 ELSE 0 END",
        f"CASE WHEN {row}.status = 'rejected' AND {decided} THEN 1 ELSE 0 END",
        f"CASE WHEN {row}.membership_active THEN 1 ELSE 0 END",
    ]


def _counted(row: str) -> str:
    """The applications coverage counts: pending, decided (with a decision time) or granting an active membership."""
    return (
        f"({row}.status = 'pending' OR ({row}.status IN ('approved', 'rejected') AND {row}.decided_at IS NOT NULL)"
        f" OR {row}.membership_active)"
    )


def _grouped(source: str, find: str, sign: str = "") -> str:
    """Per summary key, the counts of the counted rows of ``source`` (alias ``r``), times ``sign``."""
    counts = ", ".join(f"{sign}sum({c}) AS {name}" for c, name in zip(_counts("r"), COUNTS, strict=True))
    return " UNION ALL ".join(
        f"SELECT '{kind}' AS kind, {_head('r', find)} AS head, r.{column} AS value,"
        f" coalesce(r.decision_hours, -1) AS hours, {counts}"
        f" FROM {source} r WHERE {_counted('r')} GROUP BY 1, 2, 3, 4"
        for kind, column in KINDS
    )


ADD = ", ".join(f"{name} = s.{name} + excluded.{name}" for name in COUNTS)
# SQLite takes no alias for the table an INSERT inside a trigger writes: the bare name is the row already there.
SQLITE_ADD = ", ".join(f"{name} = {name} + excluded.{name}" for name in COUNTS)
SUBTRACT = ", ".join(f"{name} = s.{name} - d.{name}" for name in COUNTS)
ON_KEY = " AND ".join(f"s.{column} = d.{column}" for column in KEY.split(", "))
NONZERO = " OR ".join(f"sum({name}) <> 0" for name in COUNTS)
SUMS = ", ".join(f"sum({name})" for name in COUNTS)

POSTGRES_FUNCTION = f"""
CREATE FUNCTION coverage_summary_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO coverage_summary AS s ({KEY}, {", ".join(COUNTS)})
        SELECT {KEY}, {SUMS} FROM ({_grouped("new_rows", "strpos")}) d
        GROUP BY {KEY} ORDER BY {KEY}
        ON CONFLICT ({KEY}) DO UPDATE SET {ADD};
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE coverage_summary s SET {SUBTRACT}
        FROM (SELECT {KEY}, {", ".join(f"sum({n}) AS {n}" for n in COUNTS)}
              FROM ({_grouped("old_rows", "strpos")}) g GROUP BY {KEY}) d
        WHERE {ON_KEY};
    ELSE
        -- What the statement changed, net: most updates (a version, a trace) change no count at all.
        INSERT INTO coverage_summary AS s ({KEY}, {", ".join(COUNTS)})
        SELECT {KEY}, {SUMS}
        FROM ({_grouped("new_rows", "strpos")} UNION ALL {_grouped("old_rows", "strpos", "-")}) d
        GROUP BY {KEY} HAVING {NONZERO} ORDER BY {KEY}
        ON CONFLICT ({KEY}) DO UPDATE SET {ADD};
    END IF;
    RETURN NULL;
END
$$
"""

POSTGRES_TRIGGERS = (
    "CREATE TRIGGER coverage_summary_insert AFTER INSERT ON applications REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION coverage_summary_apply()",
    "CREATE TRIGGER coverage_summary_update AFTER UPDATE ON applications"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION coverage_summary_apply()",
    "CREATE TRIGGER coverage_summary_delete AFTER DELETE ON applications REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION coverage_summary_apply()",
    """CREATE FUNCTION coverage_summary_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN TRUNCATE coverage_summary; RETURN NULL; END $$""",
    "CREATE TRIGGER coverage_summary_truncate AFTER TRUNCATE ON applications"
    " FOR EACH STATEMENT EXECUTE FUNCTION coverage_summary_truncate()",
)


def _sqlite_add(row: str) -> str:
    return "; ".join(
        f"INSERT INTO coverage_summary ({KEY}, {', '.join(COUNTS)})"
        f" VALUES ('{kind}', {_head(row, 'instr')}, {row}.{column}, coalesce({row}.decision_hours, -1),"
        f" {', '.join(_counts(row))}) ON CONFLICT ({KEY}) DO UPDATE SET {SQLITE_ADD}"
        for kind, column in KINDS
    )


def _sqlite_subtract(row: str) -> str:
    return "; ".join(
        "UPDATE coverage_summary SET "
        + ", ".join(f"{name} = {name} - {c}" for name, c in zip(COUNTS, _counts(row), strict=True))
        + f" WHERE kind = '{kind}' AND head = {_head(row, 'instr')} AND value = {row}.{column}"
        f" AND hours = coalesce({row}.decision_hours, -1)"
        for kind, column in KINDS
    )


# The columns the counts and keys read: an update of any other column (a version, a trace) changes nothing.
READ = "status, decided_at, decision_hours, membership_active, union_path, occupation, region_code, employment_form"
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER coverage_summary_insert AFTER INSERT ON applications WHEN {_counted('NEW')}"
    f" BEGIN {_sqlite_add('NEW')}; END",
    f"CREATE TRIGGER coverage_summary_delete AFTER DELETE ON applications WHEN {_counted('OLD')}"
    f" BEGIN {_sqlite_subtract('OLD')}; END",
    f"CREATE TRIGGER coverage_summary_update_old AFTER UPDATE OF {READ} ON applications WHEN {_counted('OLD')}"
    f" BEGIN {_sqlite_subtract('OLD')}; END",
    f"CREATE TRIGGER coverage_summary_update_new AFTER UPDATE OF {READ} ON applications WHEN {_counted('NEW')}"
    f" BEGIN {_sqlite_add('NEW')}; END",
)


def backfill_select(dialect: str) -> str:
    """The summary of the applications there are: its rows (the tests compare what the triggers kept with it)."""
    return _grouped("applications", "strpos" if dialect == "postgresql" else "instr")


def backfill_sql(dialect: str) -> str:
    """The migration's backfill; the benches' seeds, which skip the triggers, run it too."""
    return f"INSERT INTO coverage_summary ({KEY}, {', '.join(COUNTS)}) {backfill_select(dialect)}"


def upgrade() -> None:
    op.create_table(
        'coverage_summary',
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('head', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=32), nullable=False),
        sa.Column('hours', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('pending', sa.Integer(), server_default='0', nullable=False),
        sa.Column('approved', sa.Integer(), server_default='0', nullable=False),
        sa.Column('rejected', sa.Integer(), server_default='0', nullable=False),
        sa.Column('members', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('kind', 'head', 'value', 'hours', name=op.f('pk_coverage_summary')),
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(
            'ix_applications_pending_due',
            ['due_at'],
            unique=False,
            postgresql_include=['union_path', 'occupation', 'region_code', 'employment_form', 'station_id'],
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(
            'ix_memberships_lasting_union',
            ['union_id', 'application_id'],
            unique=False,
            postgresql_where=LASTING,
            sqlite_where=LASTING,
        )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # The period's decisions, covered: coverage reads them by an index-only scan.
        op.drop_index('ix_applications_decided_at', table_name='applications')
        op.create_index(
            'ix_applications_decided_at', 'applications', ['decided_at'], unique=False, postgresql_include=DECIDED_READS
        )
        # A page of stations' figures, covered: read from the station index alone.
        op.drop_index('ix_applications_station_union_path', table_name='applications')
        op.create_index(
            'ix_applications_station_union_path', 'applications', ['station_id', 'union_path'], unique=False,
            postgresql_ops={'union_path': 'text_pattern_ops'}, postgresql_include=STATION_READS,
        )  # fmt: skip
        # The queue of every status, newest or oldest first, carrying the union path (a district's page).
        op.drop_index('ix_applications_queue_order', table_name='applications')
        op.create_index(
            'ix_applications_queue_order', 'applications', ['submitted_at', 'id'], unique=False,
            postgresql_include=['union_path'],
        )  # fmt: skip
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    op.execute(backfill_sql(dialect))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER coverage_summary_{name} ON applications")
        op.execute("DROP FUNCTION coverage_summary_apply()")
        op.execute("DROP FUNCTION coverage_summary_truncate()")
        op.drop_index('ix_applications_decided_at', table_name='applications')
        op.create_index('ix_applications_decided_at', 'applications', ['decided_at'], unique=False)
        op.drop_index('ix_applications_station_union_path', table_name='applications')
        op.create_index(
            'ix_applications_station_union_path', 'applications', ['station_id', 'union_path'], unique=False,
            postgresql_ops={'union_path': 'text_pattern_ops'},
        )  # fmt: skip
        op.drop_index('ix_applications_queue_order', table_name='applications')
        op.create_index('ix_applications_queue_order', 'applications', ['submitted_at', 'id'], unique=False)
    else:
        for name in ("insert", "delete", "update_old", "update_new"):
            op.execute(f"DROP TRIGGER coverage_summary_{name}")
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_memberships_lasting_union', postgresql_where=LASTING, sqlite_where=LASTING)
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_pending_due', postgresql_where=PENDING, sqlite_where=PENDING)
    op.drop_table('coverage_summary')
