"""Founding tables: targets (应建单位), what each department's list said of them, cases and their steps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigId, IdPk, JSONType, TimestampMixin, UTCDateTime, utcnow
from app.directory.models import Employer, Union
from app.founding.vocabulary import CASE_SOURCES, CLOSED_STAGES, SECTORS, STAGES, TARGET_SOURCES

__all__ = ["FoundingCase", "FoundingCaseStep", "FoundingListing", "FoundingTarget"]

_SECTOR_CODES = tuple(SECTORS)
_SOURCE_CODES = tuple(TARGET_SOURCES)
_OPEN_CASE = f"stage NOT IN {CLOSED_STAGES!r}"


class FoundingTarget(TimestampMixin, Base):
    """A unit that should have a union (应建单位): one per organisation, keyed by its USCC.

    A derived target of a blind-spot station with no employer on record has no USCC
    yet: it names the station (``station_id``) instead.

    Its fields are what the latest list that named it said (``source``); what each
    department's list said is kept in ``FoundingListing``, so a second import of the
    same source reports its difference. ``union_id`` is the union whose officers keep
    the record (who imported it, or the responsible union of a derived case): it
    decides who may see it. ``gone`` is set when no list names it any more.
    """

    __tablename__ = "founding_targets"
    __table_args__ = (
        sa.CheckConstraint(f"sector IN {_SECTOR_CODES!r}", name="sector"),
        sa.CheckConstraint(f"source IN {_SOURCE_CODES!r}", name="source"),
    )

    id: Mapped[IdPk]
    uscc: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    sector: Mapped[str] = mapped_column(sa.String(32), index=True)
    industry_code: Mapped[str | None] = mapped_column(sa.String(8))
    headcount: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    headcount_source: Mapped[str | None] = mapped_column(sa.String(32))
    founded_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    parent_uscc: Mapped[str | None] = mapped_column(sa.String(18))
    source: Mapped[str] = mapped_column(sa.String(32), index=True)
    employer_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("employers.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("stations.id"), index=True)
    union_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("unions.id"), index=True)
    gone: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())

    employer: Mapped[Employer | None] = relationship(lazy="raise")
    union: Mapped[Union] = relationship(lazy="raise")


class FoundingListing(TimestampMixin, Base):
    """What one source's list said of one target, the last time it was imported; ``gone`` when it left the list."""

    __tablename__ = "founding_listings"
    __table_args__ = (
        sa.UniqueConstraint("source", "target_id", name="uq_founding_listings_source_target"),
        sa.CheckConstraint(f"source IN {_SOURCE_CODES!r}", name="source"),
    )

    id: Mapped[IdPk]
    source: Mapped[str] = mapped_column(sa.String(32))
    target_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("founding_targets.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    gone: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    gone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class FoundingCase(TimestampMixin, Base):
    """A founding case (建会工作): one target worked through the stages by a responsible union.

    At most one open case per target (a partial unique index). ``trigger_key`` names
    what opened a derived case (``employer:12``, ``station:34``): unique, so the
    automatic trigger fires once. ``version`` is the ETag/If-Match of the contract.
    """

    __tablename__ = "founding_cases"
    __table_args__ = (
        sa.CheckConstraint(f"stage IN {STAGES!r}", name="stage"),
        sa.CheckConstraint(f"source IN {CASE_SOURCES!r}", name="source"),
        sa.Index(
            "uq_founding_cases_open_target",
            "target_id",
            unique=True,
            postgresql_where=sa.text(_OPEN_CASE),
            sqlite_where=sa.text(_OPEN_CASE),
        ),
    )

    id: Mapped[IdPk]
    target_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("founding_targets.id"), index=True)
    union_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("unions.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("officers.id"), index=True)
    planned_by: Mapped[dt.date | None] = mapped_column(sa.Date, index=True)
    stage: Mapped[str] = mapped_column(sa.String(32), default="identified", index=True)
    # The stage a deferred case left, to resume from.
    deferred_from: Mapped[str | None] = mapped_column(sa.String(32))
    source: Mapped[str] = mapped_column(sa.String(16), default="officer")
    trigger_key: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    # The figures that opened a derived case: {"members": 25, "open_applications": 3, ...}.
    figures: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    registered_uscc: Mapped[str | None] = mapped_column(sa.String(18))
    founded_union_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("unions.id"), index=True)
    joint_union_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("unions.id"), index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012  # read once by SQLAlchemy

    target: Mapped[FoundingTarget] = relationship(lazy="raise")
    union: Mapped[Union] = relationship(lazy="raise", foreign_keys=[union_id])


class FoundingCaseStep(Base):
    """One step of a case's history: the stage it left and the one it reached, by whom, with the note."""

    __tablename__ = "founding_case_steps"

    id: Mapped[IdPk]
    case_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("founding_cases.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(sa.String(32))
    stage: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # None: the system (a derived case opened by itself).
    officer_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("officers.id"))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    document_no: Mapped[str | None] = mapped_column(sa.String(64))
    joint_union_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("unions.id"))
