"""Membership for life: statuses retained, withdrawn and removed, status_changed_at, and membership_history

One person holds at most one membership that is ``active`` or ``retained`` (the partial unique index
``uq_memberships_held_identity`` replaces ``uq_memberships_active_identity``). A ``version`` column
gives memberships optimistic locking, and a member's pending request for retained membership is kept
on the row. No code ever wrote the old ``ended`` status; any such row becomes ``withdrawn``. Every
existing membership gets the history entry that starts it (``by_kind`` ``system``), at ``since``.

Revision ID: 0017_membership_history
Revises: 0016_identity_phone
Create Date: 2026-12-01 12:17:24.223396
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0017_membership_history"
down_revision: str | Sequence[str] | None = "0016_identity_phone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NEW_STATUSES = "status IN ('active', 'retained', 'transferred_out', 'withdrawn', 'removed')"
OLD_STATUSES = "status IN ('active', 'transferred_out', 'ended')"
HELD = "status IN ('active', 'retained')"
ACTIVE = "status = 'active'"


def upgrade() -> None:
    op.execute("UPDATE memberships SET status = 'withdrawn' WHERE status = 'ended'")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_changed_at", app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retain_requested_at", app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retain_request_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
        batch_op.drop_constraint(op.f("ck_memberships_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_memberships_status"), sa.text(NEW_STATUSES))
        batch_op.drop_index(
            "uq_memberships_active_identity", postgresql_where=sa.text(ACTIVE), sqlite_where=sa.text(ACTIVE)
        )
        batch_op.create_index(
            "uq_memberships_held_identity",
            ["identity_id"],
            unique=True,
            postgresql_where=sa.text(HELD),
            sqlite_where=sa.text(HELD),
        )
    op.execute("UPDATE memberships SET status_changed_at = COALESCE(ended_at, since)")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.alter_column("status_changed_at", existing_type=app.db.UTCDateTime(timezone=True), nullable=False)
    op.create_table(
        "membership_history",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("membership_id", BIG_ID, nullable=False),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("union_id", BIG_ID, nullable=False),
        sa.Column("by_kind", sa.String(length=8), nullable=False),
        sa.Column("by_officer_id", BIG_ID, nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint("by_kind IN ('worker', 'officer', 'system')", name=op.f("ck_membership_history_by_kind")),
        sa.ForeignKeyConstraint(
            ["by_officer_id"], ["officers.id"], name=op.f("fk_membership_history_by_officer_id_officers")
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"], ["memberships.id"], name=op.f("fk_membership_history_membership_id_memberships")
        ),
        sa.ForeignKeyConstraint(["union_id"], ["unions.id"], name=op.f("fk_membership_history_union_id_unions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_history")),
    )
    with op.batch_alter_table("membership_history", schema=None) as batch_op:
        batch_op.create_index("ix_membership_history_membership_at", ["membership_id", "at"], unique=False)

    op.execute(
        "INSERT INTO membership_history (membership_id, at, from_status, to_status, union_id, by_kind)"
        " SELECT id, since, NULL, 'active', union_id, 'system' FROM memberships ORDER BY id"
    )
    op.execute(
        "INSERT INTO membership_history (membership_id, at, from_status, to_status, union_id, by_kind)"
        " SELECT id, COALESCE(ended_at, since), 'active', status, union_id, 'system' FROM memberships"
        " WHERE status <> 'active' ORDER BY id"
    )


def downgrade() -> None:
    # The old schema knows only active and transferred_out (and ended): retained is active again there,
    # withdrawn and removed ended.
    with op.batch_alter_table("membership_history", schema=None) as batch_op:
        batch_op.drop_index("ix_membership_history_membership_at")

    op.drop_table("membership_history")

    op.execute("UPDATE memberships SET status = 'active' WHERE status = 'retained'")
    op.execute("UPDATE memberships SET status = 'ended' WHERE status IN ('withdrawn', 'removed')")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index("uq_memberships_held_identity", postgresql_where=sa.text(HELD), sqlite_where=sa.text(HELD))
        batch_op.create_index(
            "uq_memberships_active_identity",
            ["identity_id"],
            unique=True,
            postgresql_where=sa.text(ACTIVE),
            sqlite_where=sa.text(ACTIVE),
        )
        batch_op.drop_constraint(op.f("ck_memberships_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_memberships_status"), sa.text(OLD_STATUSES))
        batch_op.drop_column("version")
        batch_op.drop_column("retain_request_reason")
        batch_op.drop_column("retain_requested_at")
        batch_op.drop_column("status_changed_at")
