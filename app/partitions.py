"""Monthly partitions of the append-only tables that grow with every scan and event (PostgreSQL only).

``join_scans`` (by ``scanned_at``) and ``audit_events`` (by ``occurred_at``) are
declaratively partitioned by range, one partition per calendar month in Beijing time
(``join_scans_y2026m12`` holds 2026-12-01 00:00 to 2027-01-01 00:00 +08:00), with a
``…_default`` partition that catches a row no month partition takes, so an insert
never fails because the monthly job was late. Migration ``0021_partition_scans_events``
converts the tables and creates the months up to ``MONTHS_AHEAD`` ahead;
``flask --app wsgi partitions ensure`` (daily from cron) keeps months ahead existing and
moves any rows the default partition caught into their month; ``partitions
drop-scans-before YYYY-MM`` applies the scans' retention (``SCAN_RETENTION_MONTHS``):
whole months are dropped, which is instant and leaves no dead rows to vacuum. Audit
events are kept: there is no command that drops them.

SQLite keeps plain tables: every function here does nothing there.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.clock import CHINA

# The partitioned tables and their partition keys.
PARTITIONED = {"join_scans": "scanned_at", "audit_events": "occurred_at"}
MONTHS_AHEAD = 3
# Scans are kept for this many whole months before the current one (a campaign year and the same month
# of the year before, for comparison); ``drop_scans_before`` refuses to drop any of them.
SCAN_RETENTION_MONTHS = 13
# DDL on a partitioned table waits for the lock only this long: a busy campaign morning's scans are never
# queued behind the monthly job (it fails, and the next run does the work).
LOCK_TIMEOUT = "5s"

_PARTITION_NAME = re.compile(rf"^({'|'.join(PARTITIONED)})_(y\d{{4}}m\d{{2}}|default)$")


class PartitionError(Exception):
    """A partition command that must not run as asked (the message says why)."""


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, moment: dt.datetime) -> Month:
        local = moment.astimezone(CHINA)
        return cls(local.year, local.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if not match or not 1 <= int(match[2]) <= 12:
            raise PartitionError(f"expected a month as YYYY-MM, not {text!r}")
        return cls(int(match[1]), int(match[2]))

    def plus(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=CHINA)

    def partition(self, table: str) -> str:
        return f"{table}_y{self.year:04d}m{self.month:02d}"

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def is_partition(name: str | None) -> bool:
    """Whether a table name is one of our partitions (the models describe the parent, not each month)."""
    return bool(name and _PARTITION_NAME.match(name))


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's ``include_name``: the partitions are not tables of the models."""
    return not (type_ == "table" and is_partition(name))


def is_partitioned(connection: Connection, table: str) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    return bool(
        connection.scalar(
            sa.text("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:table)"), {"table": table}
        )
    )


def month_partitions(connection: Connection, table: str) -> list[Month]:
    """The months that have a partition of ``table``, oldest first."""
    names = connection.scalars(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(:table)"
        ),
        {"table": table},
    )
    months = []
    for name in names:
        match = re.fullmatch(rf"{table}_y(\d{{4}})m(\d{{2}})", name)
        if match:
            months.append(Month(int(match[1]), int(match[2])))
    return sorted(months)


def _quoted_time(moment: dt.datetime) -> str:
    # Bounds are written into the DDL (it takes no parameters); an ISO timestamp of our own making.
    return f"'{moment.isoformat()}'"


def create_month(connection: Connection, table: str, month: Month) -> None:
    """Create ``month``'s partition of ``table``, moving into it any rows the default partition holds for it."""
    column = PARTITIONED[table]
    name, default = month.partition(table), f"{table}_default"
    low, high = _quoted_time(month.start), _quoted_time(month.plus(1).start)
    in_month = f"{column} >= {low} AND {column} < {high}"
    caught = connection.scalar(sa.text(f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {in_month})"))  # noqa: S608  # names from PARTITIONED, bounds of our own
    if not caught:
        connection.execute(sa.text(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ({low}) TO ({high})"))
        return
    # PostgreSQL refuses a new partition for rows the default still holds: take them out first, in the
    # same transaction, then attach the filled table (which builds its indexes and checks its bounds).
    connection.execute(sa.text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    connection.execute(sa.text(f"INSERT INTO {name} SELECT * FROM {default} WHERE {in_month}"))  # noqa: S608  # as above
    connection.execute(sa.text(f"DELETE FROM {default} WHERE {in_month}"))  # noqa: S608  # as above
    connection.execute(sa.text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({low}) TO ({high})"))


def ensure(connection: Connection, *, now: dt.datetime, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the missing month partitions up to ``months_ahead`` after ``now``'s month; returns their names.

    The first month is the oldest of: the oldest partition, and the month of the oldest
    row the default partition caught (so those rows move to a month of their own).
    """
    if months_ahead < 0:
        raise PartitionError("months ahead must be 0 or more")
    created: list[str] = []
    for table, column in PARTITIONED.items():
        if not is_partitioned(connection, table):
            continue
        connection.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        existing = month_partitions(connection, table)
        oldest_caught = connection.scalar(sa.text(f"SELECT min({column}) FROM {table}_default"))  # noqa: S608  # names from PARTITIONED
        first = Month.of(now)
        if existing:
            first = min(first, existing[0])
        if oldest_caught is not None:
            first = min(first, Month.of(oldest_caught))
        month, last = first, Month.of(now).plus(months_ahead)
        while month <= last:
            if month not in existing:
                create_month(connection, table, month)
                created.append(month.partition(table))
            month = month.plus(1)
    return created


def drop_scans_before(connection: Connection, before: Month, *, now: dt.datetime) -> list[str]:
    """Drop the scans of every month before ``before`` (their partitions, and what the default holds of them).

    Refuses a month inside the retention: the ``SCAN_RETENTION_MONTHS`` whole months
    before the current one are kept.
    """
    newest_allowed = Month.of(now).plus(-SCAN_RETENTION_MONTHS)
    if before > newest_allowed:
        raise PartitionError(
            f"scans are kept {SCAN_RETENTION_MONTHS} whole months: drop before {newest_allowed} at the latest"
        )
    if not is_partitioned(connection, "join_scans"):
        raise PartitionError("join_scans is not partitioned (PostgreSQL only, after migration 0021)")
    connection.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    dropped = []
    for month in month_partitions(connection, "join_scans"):
        if month < before:
            connection.execute(sa.text(f"DROP TABLE {month.partition('join_scans')}"))
            dropped.append(month.partition("join_scans"))
    connection.execute(sa.text("DELETE FROM join_scans_default WHERE scanned_at < :start"), {"start": before.start})
    return dropped
