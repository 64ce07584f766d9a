"""Join-code tables: the codes posted at stations, their scan events and cached mini-program codes."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigId, IdPk, TimestampMixin, UTCDateTime, utcnow
from app.directory.models import Station

SCAN_CHANNELS = ("miniprogram", "web")


def code_status(revoked_at: dt.datetime | None, expires_at: dt.datetime | None, now: dt.datetime) -> str:
    """``revoked``, ``expired`` or ``active`` (live) at ``now``: the rule of ``JoinCode.status_at``."""
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and expires_at <= now:
        return "expired"
    return "active"


class JoinCode(TimestampMixin, Base):
    """A random token for a station, printed as a QR code; it may expire, be revoked or be rotated.

    Deliberately no counter columns: scans are rows of ``JoinScan`` so that a
    campaign morning's burst of scans never queues on this row (see ``JoinScan``).
    """

    __tablename__ = "join_codes"

    id: Mapped[IdPk]
    station_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("stations.id"), index=True)
    token: Mapped[str] = mapped_column(sa.String(32), unique=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("officers.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("officers.id"))
    # Set when the code was rotated: the code that replaced it.
    replaced_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("join_codes.id"))

    station: Mapped[Station] = relationship(lazy="raise")

    # A code is live (admits workers) until it is revoked or its expiry passes: ``status_at`` says so
    # of a loaded code, ``live_at`` is the same rule in SQL. Nothing else restates it.

    def status_at(self, now: dt.datetime) -> str:
        """``revoked``, ``expired`` or ``active`` (live) at ``now``."""
        return code_status(self.revoked_at, self.expires_at, now)

    @classmethod
    def live_at(cls, now: dt.datetime) -> sa.ColumnElement[bool]:
        """The SQL condition for ``status_at(now) == "active"``."""
        return sa.and_(cls.revoked_at.is_(None), sa.or_(cls.expires_at.is_(None), cls.expires_at > now))


class JoinScan(Base):
    """One scan of a join code (a resolve by the mini-program, or the landing page in a browser).

    Why append-only rows and not a ``scans = scans + 1`` column: an UPDATE takes the
    row lock until commit, so a whole depot scanning one code within minutes would
    queue behind each other on that one row. INSERTs of distinct rows take no lock
    any other scan waits for, so scans of one code proceed as concurrently as scans
    of different codes (``bench/join_scans.py`` measures it). The totals are a
    ``COUNT``/``MIN``/``MAX`` over the ``(join_code_id, scanned_at)`` index, which is
    cheap per code; the events also keep what a counter would lose (the time of
    every scan, the channel, distinct devices) for the funnel statistics.
    """

    __tablename__ = "join_scans"
    __table_args__ = (
        sa.CheckConstraint(f"channel IN {SCAN_CHANNELS!r}", name="channel"),
        sa.Index("ix_join_scans_code_time", "join_code_id", "scanned_at"),
        sa.Index("ix_join_scans_code_device", "join_code_id", "device_hash"),
        # A sign-in looks up the device's latest scan (``ScanSignIn``).
        sa.Index("ix_join_scans_device_time", "device_hash", "scanned_at"),
        # On PostgreSQL, one partition per month (``app.partitions``: created ahead, dropped past the
        # scans' retention); the primary key includes the partition key, as PostgreSQL requires.
        # SQLite keeps a plain table whose key is ``id`` alone (the rowid): ``id`` is unique either way.
        {"postgresql_partition_by": "RANGE (scanned_at)"},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    join_code_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("join_codes.id", ondelete="CASCADE"))
    scanned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    # A keyed hash of the device id the client sent (never the id itself); NULL when none was sent.
    device_hash: Mapped[str | None] = mapped_column(sa.String(32))


class ScanSignIn(Base):
    """A worker proved a phone number on a device that had just scanned a join code: the funnel's second step.

    Scans carry no person (no one is signed in yet) and an application carries the code
    only when one is filed, so the step between — "phones proved after a scan" — is tied
    at sign-in time: when the sign-in request sends the ``X-Device-Id`` the scan sent, it
    is attributed to that device's latest scan within ``ATTRIBUTION_WINDOW`` (last touch).
    Append-only, like the scans.
    """

    __tablename__ = "scan_sign_ins"
    __table_args__ = (
        sa.CheckConstraint("method IN ('sms', 'wechat')", name="method"),
        sa.Index("ix_scan_sign_ins_code_time", "join_code_id", "signed_in_at"),
    )

    id: Mapped[IdPk]
    join_code_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("join_codes.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("persons.id"), index=True)
    signed_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    method: Mapped[str] = mapped_column(sa.String(8))


class WxaCode(Base):
    """A WeChat mini-program code fetched for a join code. Such codes never expire, so each is fetched once."""

    __tablename__ = "join_code_wxacodes"

    join_code_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("join_codes.id", ondelete="CASCADE"), primary_key=True
    )
    # The page and version the code opens are part of the image: a new one in the config means a new image.
    page: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    env_version: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    image_png: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DirectoryChange(Base):
    """One row per flush that changed what a join code resolves to: the newest id is the directory's version.

    A resolve's answer (the code, its station and employer, the union the routing engine
    previews) is cached in each app process (``app.joincodes.resolved``); a process
    compares the newest id here with the one its cache was filled under, at most every
    ``VERSION_CHECK_SECONDS``, and forgets everything when they differ. The row is
    written in the same transaction as the change (``app.joincodes.resolved`` hooks
    every session's flush), so a committed change is never missed. Rows rather than
    one counter row: an INSERT makes no officer's transaction wait on another's.
    """

    __tablename__ = "directory_changes"

    id: Mapped[IdPk]
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
