"""Membership for life: the statuses a membership moves through, who may move it, and its history.

Every change of a membership's status goes through ``change_status`` (or, for the
entry that starts a membership, ``record_start``): it checks the rule, stamps the row
and writes the ``MembershipHistory`` entry, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app.enrollment.models import Membership, MembershipHistory


def record_start(
    session: Session,
    membership: Membership,
    *,
    at: dt.datetime,
    by_kind: str,
    by_officer_id: int | None,
    reason: str | None,
) -> MembershipHistory:
    """The history entry that starts ``membership`` (no ``from`` status)."""
    entry = MembershipHistory(
        membership_id=membership.id,
        at=at,
        from_status=None,
        to_status=membership.status,
        union_id=membership.union_id,
        by_kind=by_kind,
        by_officer_id=by_officer_id,
        reason=reason,
    )
    session.add(entry)
    return entry


def record_change(
    session: Session,
    membership: Membership,
    to_status: str,
    *,
    at: dt.datetime,
    by_kind: str,
    by_officer_id: int | None,
    reason: str | None,
) -> MembershipHistory:
    """Move ``membership`` to ``to_status`` (in its current union) and keep the history entry of it."""
    entry = MembershipHistory(
        membership_id=membership.id,
        at=at,
        from_status=membership.status,
        to_status=to_status,
        union_id=membership.union_id,
        by_kind=by_kind,
        by_officer_id=by_officer_id,
        reason=reason,
    )
    membership.status = to_status
    membership.status_changed_at = at
    session.add(entry)
    return entry
