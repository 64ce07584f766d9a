"""Enrollment tables: real-name identities, applications, memberships, member numbers, idempotency."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, IdPk, JSONType, TimestampMixin, UTCDateTime, utcnow

APPLICATION_STATUSES = ("pending", "approved", "rejected", "returned", "withdrawn")
OPEN_STATUSES = ("pending", "returned")
MEMBERSHIP_STATUSES = ("active", "transferred_out", "ended")


class Identity(TimestampMixin, Base):
    """One real person (实名), bound to one phone at a time.

    The ID number and the name are sealed (``app.privacy``); the ID number is found
    by its blind index, so the same ID number typed on two phones is the same
    identity, and only the phone it is bound to (``person_id``) may use it.
    """

    __tablename__ = "identities"

    id: Mapped[IdPk]
    id_number_index: Mapped[str] = mapped_column(sa.String(64), unique=True)
    id_number_sealed: Mapped[str] = mapped_column(sa.String(255))
    name_sealed: Mapped[str] = mapped_column(sa.String(255))
    name_masked: Mapped[str] = mapped_column(sa.String(40))
    id_number_masked: Mapped[str] = mapped_column(sa.String(18))
    birth_date: Mapped[dt.date] = mapped_column(sa.Date)
    sex: Mapped[str] = mapped_column(sa.String(6))
    # Allocated at the first approval and kept for life, across transfers.
    member_no: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    # The phone (person) the identity is bound to: the first that proved it, or the one it was moved to
    # by proving both numbers or by an officer's check in person. Only that phone may apply under it.
    person_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("persons.id"), index=True)


class Application(TimestampMixin, Base):
    """An application to join (入会申请), routed to a union with the trace of why."""

    __tablename__ = "applications"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {APPLICATION_STATUSES!r}", name="status"),
        # One open application per person, enforced by the database so racing submits cannot both land.
        sa.Index(
            "uq_applications_open_identity",
            "identity_id",
            unique=True,
            postgresql_where=sa.text("status IN ('pending', 'returned')"),
            sqlite_where=sa.text("status IN ('pending', 'returned')"),
        ),
        sa.Index(
            "ix_applications_union_path_created",
            "union_path",
            "created_at",
            postgresql_ops={"union_path": "text_pattern_ops"},
        ),
        # The review queue's keyset order (app/review): newest or oldest submission first, per status or all.
        sa.Index("ix_applications_queue_order", "submitted_at", "id"),
        # A station's applications, and whether any lies in a subtree: coverage's page of
        # stations probes it once per station without reading the rows.
        sa.Index(
            "ix_applications_station_union_path",
            "station_id",
            "union_path",
            postgresql_ops={"union_path": "text_pattern_ops"},
        ),
        sa.Index("ix_applications_queue_status_order", "status", "submitted_at", "id"),
    )
    id: Mapped[IdPk]
    person_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("persons.id"), index=True)
    identity_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("identities.id"), index=True)
    join_code_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("join_codes.id"), index=True)
    station_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("stations.id"))
    employer_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("employers.id"), index=True)
    employer_name: Mapped[str | None] = mapped_column(sa.String(200))
    union_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("unions.id"), index=True)
    # The routed union's materialised path, copied here so a queue scoped to a subtree is one index range.
    union_path: Mapped[str] = mapped_column(sa.String(400))
    # Indexed with the hours to decision for coverage (``app.stats.models``), which serves lookups too.
    region_code: Mapped[str] = mapped_column(sa.String(6))
    occupation: Mapped[str] = mapped_column(sa.String(32))
    employment_form: Mapped[str] = mapped_column(sa.String(32))
    is_transfer: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    consent_version: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    route_rule: Mapped[str] = mapped_column(sa.String(16))
    # Every routing hop: the engine's decision at submission, then any officer transfer.
    route_trace: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    decision_reason: Mapped[str | None] = mapped_column(sa.String(500))
    decided_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("officers.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Whole hours from submission to decision, kept with the decision (see ``_stamp_decision_hours``):
    # coverage statistics take their medians from a histogram of it in one pass, not a sort.
    decision_hours: Mapped[int | None] = mapped_column(sa.Integer)
    # True while the membership this application granted is active (set by ``grant_membership``):
    # coverage counts members in the same pass over applications as everything else.
    membership_active: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    member_no: Mapped[str | None] = mapped_column(sa.String(32))
    # Bumped by every UPDATE (optimistic locking): the ETag/If-Match of the contract, and
    # what makes two officers deciding at once end in one decision and one StaleDataError.
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012  # read once by SQLAlchemy


@event.listens_for(Application, "before_insert")
@event.listens_for(Application, "before_update")
def _stamp_decision_hours(_mapper: Any, _connection: Any, application: Application) -> None:
    if application.decided_at is None or application.submitted_at is None:
        application.decision_hours = None
        return
    elapsed = application.decided_at - application.submitted_at
    application.decision_hours = max(0, int(elapsed.total_seconds() // 3600))


class Membership(TimestampMixin, Base):
    """A membership (会员) of one identity in one union. Transfers end one and start the next."""

    __tablename__ = "memberships"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {MEMBERSHIP_STATUSES!r}", name="status"),
        sa.Index(
            "uq_memberships_active_identity",
            "identity_id",
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        ),
    )

    id: Mapped[IdPk]
    identity_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("identities.id"), index=True)
    union_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("unions.id"), index=True)
    application_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("applications.id"))
    member_no: Mapped[str] = mapped_column(sa.String(32), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class MemberNumberSequence(Base):
    """The last member number handed out per region and year; one row locked per allocation."""

    __tablename__ = "member_number_sequences"

    region_code: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(sa.Integer, default=0)


class IdempotencyRecord(Base):
    """The first response to a worker's ``Idempotency-Key``, replayed for retries of the same body."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("person_id", "key", name="uq_idempotency_keys_person_key"),)

    id: Mapped[IdPk]
    person_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("persons.id"))
    key: Mapped[str] = mapped_column(sa.String(128))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int] = mapped_column(sa.Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
