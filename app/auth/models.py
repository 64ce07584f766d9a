"""Account tables."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigId, IdPk, TimestampMixin
from app.directory.models import Union

OFFICER_ROLES = ("reviewer", "admin", "viewer")


class Officer(TimestampMixin, Base):
    """A union officer's account. Its union's subtree is everything it may see."""

    __tablename__ = "officers"
    __table_args__ = (sa.CheckConstraint(f"role IN {OFFICER_ROLES!r}", name="role"),)

    id: Mapped[IdPk]
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(50))
    union_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("unions.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)

    union: Mapped[Union] = relationship(lazy="raise")
