"""Account tables: officers, persons (workers), OTP challenges and refresh tokens."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigId, IdPk, TimestampMixin, UTCDateTime, utcnow
from app.directory.models import Union

OFFICER_ROLES = ("reviewer", "admin", "viewer", "liaison")
# A department's liaison (联络员) reads the founding data of its sectors and nothing else.
LIAISON = "liaison"
PRINCIPAL_KINDS = ("worker", "officer")


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
    # A liaison's sectors (empty for every other role); loaded where an officer is shown.
    sector_rows: Mapped[list[OfficerSector]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="OfficerSector.sector"
    )

    @property
    def sectors(self) -> list[str]:
        """A liaison's sector codes (``sector_rows`` loaded)."""
        return [row.sector for row in self.sector_rows]


class OfficerSector(Base):
    """A sector (``app.founding`` sector code) a liaison officer is bound to: it reads that sector's founding data."""

    __tablename__ = "officer_sectors"

    officer_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("officers.id", ondelete="CASCADE"), primary_key=True)
    sector: Mapped[str] = mapped_column(sa.String(32), primary_key=True)


class Person(TimestampMixin, Base):
    """A worker: someone who proved a mobile number (by SMS code or through WeChat).

    The number is kept sealed (``app.privacy``) and found by its blind index, so the
    table alone does not reveal it; ``phone_masked`` is what lists and cards show.
    An erased person (``app.retention``) keeps the row, so what refers to it still adds
    up, but nothing of the number: ``erased_at`` is set and the phone columns are blank.
    """

    __tablename__ = "persons"

    id: Mapped[IdPk]
    phone_index: Mapped[str] = mapped_column(sa.String(64), unique=True)
    phone_sealed: Mapped[str] = mapped_column(sa.String(255))
    phone_masked: Mapped[str] = mapped_column(sa.String(11))
    wechat_openid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    wechat_unionid: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class OtpChallenge(Base):
    """One SMS code sent to one number: valid five minutes, used once, five wrong tries at most.

    ``id`` is random (it is the ``challenge_id`` the client holds), so challenges
    cannot be enumerated; the code itself is only kept as a keyed hash.
    """

    __tablename__ = "otp_challenges"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    phone_sealed: Mapped[str] = mapped_column(sa.String(255))
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    failed_attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    consumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RefreshToken(Base):
    """An opaque refresh token (only its SHA-256 is stored), single use, rotated on every refresh.

    Every token descends from one sign-in: its ``family_id``. Presenting a token
    that was already used means it was copied, so the whole family is revoked.
    """

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        sa.CheckConstraint(f"principal_kind IN {PRINCIPAL_KINDS!r}", name="principal_kind"),
        sa.Index("ix_refresh_tokens_principal", "principal_kind", "subject_id"),
    )

    id: Mapped[IdPk]
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    family_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    principal_kind: Mapped[str] = mapped_column(sa.String(16))
    subject_id: Mapped[int] = mapped_column(BigId)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
