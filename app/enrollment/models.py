"""Enrollment tables: real-name identities, applications, memberships, member numbers, idempotency."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import InstrumentedAttribute, Mapped, Session, mapped_column

from app.actors import within_subtree
from app.db import Base, BigId, IdPk, JSONType, TimestampMixin, UTCDateTime, utcnow
from app.schemas import union_ref

APPLICATION_STATUSES = ("pending", "approved", "rejected", "returned", "withdrawn")
OPEN_STATUSES = ("pending", "returned")
_OPEN = f"status IN {OPEN_STATUSES!r}"  # the same tuple as SQL text, for the partial index below
MEMBERSHIP_STATUSES = ("active", "retained", "transferred_out", "withdrawn", "removed")
# A person holds at most one membership in these statuses (the partial unique index on memberships).
HELD_STATUSES = ("active", "retained")
_ACTIVE = "status = 'active'"
_LASTING = "status IN ('retained', 'withdrawn', 'removed')"
_HELD = f"status IN {HELD_STATUSES!r}"
HISTORY_BY_KINDS = ("worker", "officer", "system")


class Identity(TimestampMixin, Base):
    """One real person (实名), bound to one phone at a time.

    The ID number and the name are sealed (``app.privacy``); the ID number is found
    by its blind index, so the same ID number typed on two phones is the same
    identity, and only the phone it is bound to (``person_id``) may use it.
    An erased identity (``app.retention``) keeps its row for the applications and
    memberships that refer to it, with ``erased_at`` set and nothing of the name or the
    number left (the birth date is part of the number; the sex stays, for statistics).
    """

    __tablename__ = "identities"

    id: Mapped[IdPk]
    id_number_index: Mapped[str] = mapped_column(sa.String(64), unique=True)
    id_number_sealed: Mapped[str] = mapped_column(sa.String(255))
    name_sealed: Mapped[str] = mapped_column(sa.String(255))
    name_masked: Mapped[str] = mapped_column(sa.String(40))
    id_number_masked: Mapped[str] = mapped_column(sa.String(18))
    birth_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    sex: Mapped[str] = mapped_column(sa.String(6))
    # Allocated at the first approval and kept for life, across transfers.
    member_no: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    # The phone (person) the identity is bound to: the first that proved it, or the one it was moved to
    # by proving both numbers or by an officer's check in person. Only that phone may apply under it.
    person_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("persons.id"), index=True)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


# What coverage's page of stations counts of a station's applications (``ix_applications_station_union_path``).
STATION_READS = ["status", "decided_at", "decision_hours", "due_at", "membership_active"]


class Application(TimestampMixin, Base):
    """An application to join (入会申请), routed to a union with the trace of why.

    ``union_id``, ``union_path`` and ``route_trace`` are written only by ``route_to`` (a
    routing decision or a transfer) and ``rehome_applications`` (a union moved); the
    indexes the statistics read through are declared below the table, with the rest.
    """

    __tablename__ = "applications"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {APPLICATION_STATUSES!r}", name="status"),
        # One open application per person, enforced by the database so racing submits cannot both land.
        sa.Index(
            "uq_applications_open_identity",
            "identity_id",
            unique=True,
            postgresql_where=sa.text(_OPEN),
            sqlite_where=sa.text(_OPEN),
        ),
        sa.Index(
            "ix_applications_union_path_created",
            "union_path",
            "created_at",
            postgresql_ops={"union_path": "text_pattern_ops"},
        ),
        # The review queue's keyset order (app/review): newest or oldest submission first, per status or all.
        # Carrying the union path on PostgreSQL: a small district's page of every status skips the other
        # subtrees' entries in the index alone (an index-only scan), not by reading each row.
        sa.Index("ix_applications_queue_order", "submitted_at", "id", postgresql_include=["union_path"]),
        # A station's applications, and whether any lies in a subtree: coverage's page of
        # stations probes it once per station without reading the rows, and on PostgreSQL
        # the page's figures are read from it alone (it carries what they count).
        sa.Index(
            "ix_applications_station_union_path",
            "station_id",
            "union_path",
            postgresql_ops={"union_path": "text_pattern_ops"},
            postgresql_include=STATION_READS,
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
    # Indexed with the hours to decision for coverage (below), which serves lookups too.
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

    def route_to(self, union: RoutedTo, *, rule: str, hop: dict[str, Any]) -> None:
        """Send the application to ``union`` (its id and its path copy) and append the hop to its trace."""
        self.union_id = union.id
        self.union_path = union.path
        self.route_rule = rule
        self.route_trace = [*(self.route_trace or []), hop]


class RoutedTo(Protocol):
    """A union an application is sent to: a ``Union`` row, or a routing decision's cached facts of one."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def path(self) -> str: ...


def union_summary(union: RoutedTo) -> dict[str, str]:
    """The union as route hops and error details carry it: the one union reference shape."""
    return union_ref(union)


def route_hop(
    union: RoutedTo, *, at: dt.datetime, by: str, rule: str, reasons: list[str], **extra: str
) -> dict[str, Any]:
    """One entry of an application's route trace: who sent it (``routing`` or ``transfer``) where, and why."""
    return {"at": at.isoformat(), "by": by, "rule": rule, "union": union_summary(union), "reasons": reasons, **extra}


def rehome_applications(session: Session, old_path: str, new_path: str) -> None:
    """A union moved from ``old_path`` to ``new_path``: rewrite the path copies of the applications beneath it.

    Applications keep a copy of their union's path (a subtree's queue and figures are
    one index range): rewritten with the unions, or the old parent's officers would go
    on seeing them and the new parent's would not. No application is loaded to sync.
    """
    session.execute(
        sa.update(Application)
        .where(within_subtree(Application.union_path, old_path))
        .values(union_path=sa.literal(new_path, sa.String) + sa.func.substr(Application.union_path, len(old_path) + 1)),
        execution_options={"synchronize_session": False},
    )


@event.listens_for(Application, "before_insert")
@event.listens_for(Application, "before_update")
def _stamp_decision_hours(_mapper: Any, _connection: Any, application: Application) -> None:
    if application.decided_at is None or application.submitted_at is None:
        application.decision_hours = None
        return
    elapsed = application.decided_at - application.submitted_at
    application.decision_hours = max(0, int(elapsed.total_seconds() // 3600))


class Membership(TimestampMixin, Base):
    """A membership (会员) of one identity in one union, for life (一次入会、动态接转).

    ``active`` or ``retained`` (保留会籍, held by a union above the old one while the
    member is out of work) is the membership a person holds, at most one at a time;
    ``transferred_out`` (a transfer ended it and started the next), ``withdrawn`` (退会)
    and ``removed`` (除名) are ended. Every change of status is a ``MembershipHistory``
    row, written by ``app.enrollment.memberships``; the member number is the identity's,
    so it never changes and is never reused.
    """

    __tablename__ = "memberships"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {MEMBERSHIP_STATUSES!r}", name="status"),
        sa.Index(
            "uq_memberships_held_identity",
            "identity_id",
            unique=True,
            postgresql_where=sa.text(_HELD),
            sqlite_where=sa.text(_HELD),
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
    # When the status last changed (the grant, then each entry of the history).
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The member's own request for retained membership (POST /me/membership/retain), until an officer acts.
    retain_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    retain_request_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # Optimistic locking as on applications: the If-Match of POST /review/memberships/{id}/status.
    version: Mapped[int] = mapped_column(sa.Integer, default=1, server_default=sa.text("1"))

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012  # read once by SQLAlchemy


class MembershipHistory(Base):
    """One change of a membership's status: when, from what to what, in which union, by whom and why.

    ``from_status`` is empty for the entry that starts the membership. ``by_kind`` is
    ``worker`` (the member), ``officer`` (``by_officer_id``) or ``system`` (a transfer,
    a dissolution's ripple when no officer is named, an approval).
    """

    __tablename__ = "membership_history"
    __table_args__ = (
        sa.CheckConstraint(f"by_kind IN {HISTORY_BY_KINDS!r}", name="by_kind"),
        sa.Index("ix_membership_history_membership_at", "membership_id", "at"),
    )

    id: Mapped[IdPk]
    membership_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("memberships.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    union_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("unions.id"))
    by_kind: Mapped[str] = mapped_column(sa.String(8))
    by_officer_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("officers.id"))
    reason: Mapped[str | None] = mapped_column(sa.String(500))


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


# --- the indexes the statistics read through (app.stats.service) ----------------------------------------------------
# Declared with the tables they index, like those in ``__table_args__``:
#
# - Pending applications of a subtree, with their deadlines (pending and overdue
#   figures, and the review queue's "overdue" filter): a partial index over a tenth
#   of the table.
# - Decisions by time: the period figures (approvals, rejections, medians) of a
#   narrow period read only that period's rows.
# - Active memberships by union, with the application they came from: member counts
#   of a subtree without touching ended memberships.
# - Per grouping of the coverage query (occupation, region, employment form, and on
#   PostgreSQL the root's child for by=union), the applications sorted by (key,
#   decision_hours) and carrying every other column the statement reads: at the top of
#   the tree it is read whole, in order, by a parallel index-only scan feeding a
#   streaming aggregate (see ``app.stats.service``). About
#   90 MB each per million applications on PostgreSQL, and written only when an
#   application is filed or decided.

_PENDING = "status = 'pending'"

ix_applications_pending_path = sa.Index(
    "ix_applications_pending_union_path",
    Application.union_path,
    Application.due_at,
    postgresql_ops={"union_path": "text_pattern_ops"},
    postgresql_where=sa.text(_PENDING),
    sqlite_where=sa.text(_PENDING),
)
# Covering on PostgreSQL what coverage reads of a period's decisions (``app.stats.service._summary_figures``):
# an index-only scan of the period's range.
ix_applications_decided_at = sa.Index(
    "ix_applications_decided_at",
    Application.decided_at,
    postgresql_include=[
        "union_path", "status", "decision_hours", "occupation", "region_code", "employment_form",
    ],
)  # fmt: skip
# The review queue's pending applications in queue order, with what its filters read: the page's keys
# come from this index alone (an index-only scan), however many decided applications lie between them.
ix_applications_pending_queue = sa.Index(
    "ix_applications_pending_queue",
    Application.submitted_at,
    Application.id,
    postgresql_include=["union_path", "union_id", "station_id", "occupation", "due_at", "person_id"],
    postgresql_where=sa.text(_PENDING),
    sqlite_where=sa.text(_PENDING),
)
# One union's pending applications in queue order: the union filter, and the own half of ``queue=own``.
ix_applications_pending_union = sa.Index(
    "ix_applications_pending_union",
    Application.union_id,
    Application.submitted_at,
    Application.id,
    postgresql_where=sa.text(_PENDING),
    sqlite_where=sa.text(_PENDING),
)
# The pending applications by deadline, with coverage's keys: the pending ones not yet due, for the overdue
# figure (the pending count itself comes from ``app.stats.models.CoverageSummary``).
ix_applications_pending_due = sa.Index(
    "ix_applications_pending_due",
    Application.due_at,
    postgresql_include=["union_path", "occupation", "region_code", "employment_form", "station_id"],
    postgresql_where=sa.text(_PENDING),
    sqlite_where=sa.text(_PENDING),
)
# The memberships in the other lasting statuses by union: coverage's retained, withdrawn and removed figures
# (``app.stats.service._add_membership_figures``) read a minority of the memberships through it.
ix_memberships_lasting_union = sa.Index(
    "ix_memberships_lasting_union",
    Membership.union_id,
    Membership.application_id,
    postgresql_where=sa.text(_LASTING),
    sqlite_where=sa.text(_LASTING),
)
ix_memberships_active_union = sa.Index(
    "ix_memberships_active_union",
    Membership.union_id,
    Membership.application_id,
    postgresql_where=sa.text(_ACTIVE),
    sqlite_where=sa.text(_ACTIVE),
)


def _in_key_order(name: str, key: InstrumentedAttribute[str] | sa.ColumnElement[str]) -> sa.Index:
    return sa.Index(
        name,
        key,
        Application.decision_hours,
        postgresql_include=["union_path", "status", "decided_at", "due_at", "membership_active"],
    )


ix_applications_occupation_hours = _in_key_order("ix_applications_occupation_hours", Application.occupation)
ix_applications_region_hours = _in_key_order("ix_applications_region_hours", Application.region_code)
ix_applications_form_hours = _in_key_order("ix_applications_form_hours", Application.employment_form)
# by=union at the top of the tree groups by the second element of the path (the child of
# the root, a city federation in a province's tree). PostgreSQL only: SQLite has no split_part
# and no need, and what it indexes is that expression exactly (``TOP_CHILD``).
# The constants are written into the SQL, not bound: a bound parameter would not match the index.
TOP_CHILD = sa.func.split_part(Application.union_path, sa.literal_column("'/'"), sa.literal_column("3"))
ix_applications_top_child_hours = _in_key_order("ix_applications_top_child_hours", TOP_CHILD).ddl_if(
    dialect="postgresql"
)
