"""Directory tables: unions (a tree), employers (HQ → branches) and stations."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.db import Base, BigId, IdPk, JSONType, TimestampMixin
from app.directory.vocabulary import EMPLOYMENT_FORMS, OCCUPATIONS, UNION_KINDS

__all__ = ["EMPLOYMENT_FORMS", "OCCUPATIONS", "UNION_KINDS", "Employer", "Station", "Union", "within_subtree"]


class Union(TimestampMixin, Base):
    """A union organisation (工会组织). The tree is also the officers' scope.

    ``path`` is a materialised path of ids (``/1/7/42/``): a subtree is one indexed
    prefix scan (see ``within_subtree``), which stays fast at 100k unions.
    """

    __tablename__ = "unions"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {UNION_KINDS!r}", name="kind"),
        sa.Index("ix_unions_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
        # Routing looks up the industry, regional and federation unions of a few region codes.
        sa.Index("ix_unions_region_code_kind", "region_code", "kind"),
    )

    id: Mapped[IdPk]
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))
    parent_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("unions.id"), index=True)
    path: Mapped[str] = mapped_column(sa.String(400), default="")
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    occupations: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # use_alter: unions and employers point at each other, so this key is added after both exist.
    employer_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("employers.id", use_alter=True), index=True)
    accepting: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    external_code: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    parent: Mapped[Union | None] = relationship(remote_side="Union.id", lazy="raise")
    employer: Mapped[Employer | None] = relationship(foreign_keys=[employer_id], lazy="raise")


class Employer(TimestampMixin, Base):
    """An employer (用人单位) with its unified social credit code; branches point at their HQ."""

    __tablename__ = "employers"

    id: Mapped[IdPk]
    name: Mapped[str] = mapped_column(sa.String(200))
    uscc: Mapped[str] = mapped_column(sa.String(18), unique=True)
    parent_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("employers.id"), index=True)
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    # The union whose officers manage this record; it decides who may see and edit it.
    union_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("unions.id"), index=True)
    external_code: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    parent: Mapped[Employer | None] = relationship(remote_side="Employer.id", lazy="raise")


class Station(TimestampMixin, Base):
    """Where workers gather (站点/网点/点部/驿站); join codes hang off a station."""

    __tablename__ = "stations"

    id: Mapped[IdPk]
    name: Mapped[str] = mapped_column(sa.String(200))
    employer_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("employers.id"), index=True)
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    occupation: Mapped[str] = mapped_column(sa.String(32))
    union_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("unions.id"), index=True)
    external_code: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    employer: Mapped[Employer | None] = relationship(lazy="raise")


def within_subtree(session: Session, prefix: str, path: sa.ColumnElement[str] | None = None) -> sa.ColumnElement[bool]:
    """``path`` (``Union.path`` by default) lies in the subtree whose root has path ``prefix``.

    PostgreSQL serves ``LIKE 'prefix%'`` from the ``text_pattern_ops`` index. SQLite's
    LIKE ignores case and so never uses a plain index; its case-sensitive GLOB does
    (paths hold only digits and slashes, so neither pattern needs escaping).
    """
    column = Union.path if path is None else path
    if session.get_bind().dialect.name == "sqlite":
        return column.op("GLOB", is_comparison=True)(prefix + "*")
    return column.like(prefix + "%")
