"""join_scans and audit_events partitioned by month on PostgreSQL (declarative range partitioning)

Each table is rebuilt as a partitioned table of the same name, columns, constraints, indexes,
id sequence (and, for audit events, the append-only trigger); the primary key gains the
partition key, as PostgreSQL requires of a partitioned table's unique constraints. Partitions:
one per calendar month in Beijing time, from the month of the oldest row to three months
ahead, and a default one for anything outside them (``app.partitions`` keeps them from then
on). The rows are copied across inside the migration's transaction: on a large table that
takes a while, and the table is locked meanwhile — plan it for a quiet hour.

SQLite keeps plain tables: nothing changes there.

Revision ID: 0021_partition_scans_events
Revises: 0016_identity_phone
Create Date: 2026-12-01 12:30:00.000000
"""

import datetime as dt
from collections.abc import Sequence

from alembic import op

revision: str = '0021_partition_scans_events'
down_revision: str | Sequence[str] | None = '0020_liaison'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHINA = dt.timezone(dt.timedelta(hours=8))
MONTHS_AHEAD = 3

# Frozen here (not read from the models): what the tables are at this revision.
TABLES = {
    'join_scans': {
        'key': 'scanned_at',
        'columns': (
            "id bigint NOT NULL DEFAULT nextval('join_scans_id_seq'::regclass),"
            ' join_code_id bigint NOT NULL, scanned_at timestamp with time zone NOT NULL,'
            ' channel varchar(16) NOT NULL, device_hash varchar(32)'
        ),
        'constraints': (
            "CONSTRAINT ck_join_scans_channel CHECK (channel IN ('miniprogram', 'web')),"
            ' CONSTRAINT fk_join_scans_join_code_id_join_codes FOREIGN KEY (join_code_id)'
            ' REFERENCES join_codes (id) ON DELETE CASCADE'
        ),
        'indexes': {
            'ix_join_scans_code_time': '(join_code_id, scanned_at)',
            'ix_join_scans_code_device': '(join_code_id, device_hash)',
            'ix_join_scans_device_time': '(device_hash, scanned_at)',
        },
        'names': 'id, join_code_id, scanned_at, channel, device_hash',
    },
    'audit_events': {
        'key': 'occurred_at',
        'columns': (
            "id bigint NOT NULL DEFAULT nextval('audit_events_id_seq'::regclass),"
            ' occurred_at timestamp with time zone NOT NULL, actor_kind varchar(16) NOT NULL, actor_id bigint,'
            ' action varchar(64) NOT NULL, object_type varchar(32) NOT NULL, object_id varchar(64) NOT NULL,'
            ' union_path varchar(400) NOT NULL, request_id varchar(64), details jsonb NOT NULL'
        ),
        'constraints': None,
        'indexes': {
            'ix_audit_events_occurred_at': '(occurred_at)',
            'ix_audit_events_action': '(action)',
            'ix_audit_events_object_id': '(object_id)',
            'ix_audit_events_union_path': '(union_path text_pattern_ops)',
        },
        'names': (
            'id, occurred_at, actor_kind, actor_id, action, object_type, object_id, union_path, request_id, details'
        ),
    },
}
AUDIT_TRIGGER = (
    'CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events '
    'FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_update()'
)


def _postgres() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def _month(moment: dt.datetime) -> tuple[int, int]:
    local = moment.astimezone(CHINA)
    return local.year, local.month


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _start(year: int, month: int) -> str:
    return f"'{dt.datetime(year, month, 1, tzinfo=CHINA).isoformat()}'"


def _set_aside(table: str, spec: dict) -> None:
    """Rename the plain table and its index-backed names out of the way (index names are per schema)."""
    op.execute(f'ALTER TABLE {table} RENAME TO {table}_plain')
    op.execute(f'ALTER TABLE {table}_plain RENAME CONSTRAINT pk_{table} TO pk_{table}_plain')
    for index in spec['indexes']:
        op.execute(f'ALTER INDEX {index} RENAME TO {index}_plain')
    if table == 'audit_events':
        op.execute('DROP TRIGGER audit_events_append_only ON audit_events_plain')


def _create(table: str, spec: dict, *, partitioned: bool) -> None:
    key = spec['key']
    primary_key = f'CONSTRAINT pk_{table} PRIMARY KEY (id, {key})' if partitioned else f'CONSTRAINT pk_{table} PRIMARY KEY (id)'
    parts = [spec['columns'], primary_key] + ([spec['constraints']] if spec['constraints'] else [])
    tail = f' PARTITION BY RANGE ({key})' if partitioned else ''
    op.execute(f'CREATE TABLE {table} ({", ".join(parts)}){tail}')
    for index, columns in spec['indexes'].items():
        op.execute(f'CREATE INDEX {index} ON {table} {columns}')
    if table == 'audit_events':
        op.execute(AUDIT_TRIGGER)


def _fill_and_drop_plain(table: str, spec: dict) -> None:
    op.execute(f'INSERT INTO {table} ({spec["names"]}) SELECT {spec["names"]} FROM {table}_plain')
    op.execute(f'ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id')
    op.execute(f'DROP TABLE {table}_plain')


def upgrade() -> None:
    if not _postgres():
        return
    bind = op.get_bind()
    now = bind.exec_driver_sql('SELECT now()').scalar()
    for table, spec in TABLES.items():
        oldest = bind.exec_driver_sql(f'SELECT min({spec["key"]}) FROM {table}').scalar()  # noqa: S608  # names above
        _set_aside(table, spec)
        _create(table, spec, partitioned=True)
        op.execute(f'CREATE TABLE {table}_default PARTITION OF {table} DEFAULT')
        year, month = _month(oldest or now)
        last = _month(now)
        for _ in range(MONTHS_AHEAD):
            last = _next(*last)
        while (year, month) <= last:
            following = _next(year, month)
            op.execute(
                f'CREATE TABLE {table}_y{year:04d}m{month:02d} PARTITION OF {table}'
                f' FOR VALUES FROM ({_start(year, month)}) TO ({_start(*following)})'
            )
            year, month = following
        _fill_and_drop_plain(table, spec)


def downgrade() -> None:
    if not _postgres():
        return
    for table, spec in TABLES.items():
        _set_aside(table, spec)  # the partitioned table, with its partitions
        _create(table, spec, partitioned=False)
        _fill_and_drop_plain(table, spec)  # dropping the parent drops every partition
