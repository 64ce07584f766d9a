"""Override rules: an admin's word on where applications from a station, an employer or a region go."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigId, IdPk, TimestampMixin
from app.directory.models import Union

# Exactly one subject per rule; a region rule must name the occupation it redirects.
_ONE_SUBJECT = (
    "(CASE WHEN station_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN employer_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN region_code IS NULL THEN 0 ELSE 1 END) = 1"
)


class RoutingRule(TimestampMixin, Base):
    """Send applications from a station, an employer (and its branches) or a region + occupation to a union."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        sa.CheckConstraint(_ONE_SUBJECT, name="one_subject"),
        sa.CheckConstraint("region_code IS NULL OR occupation IS NOT NULL", name="region_needs_occupation"),
    )

    id: Mapped[IdPk]
    union_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("unions.id"), index=True)
    # The union of the admin who made the rule: the rule belongs to that union's subtree, captures only
    # stations managed inside it and sends them only to unions inside it (checked again at routing time).
    owner_union_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("unions.id"), index=True)
    priority: Mapped[int] = mapped_column(sa.Integer, default=0)
    station_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("stations.id"), index=True)
    employer_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("employers.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)
    occupation: Mapped[str | None] = mapped_column(sa.String(32))
    note: Mapped[str] = mapped_column(sa.String(200), default="")

    union: Mapped[Union] = relationship(lazy="raise", foreign_keys=[union_id])
