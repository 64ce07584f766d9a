"""Provider state that every app process must share, and the outbox of notifications owed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, IdPk, JSONType, UTCDateTime, utcnow


class WeChatAccessToken(Base):
    """The WeChat ``access_token`` of one app id, cached for every process (sealed at rest).

    WeChat allows few token fetches a day, and a forced refresh invalidates the
    previous token, so all processes must read the same cached token.
    """

    __tablename__ = "wechat_access_tokens"

    app_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    access_token_sealed: Mapped[str] = mapped_column(sa.String(1024))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


OUTBOX_CHANNELS = ("sms", "wechat")
OUTBOX_STATUSES = ("pending", "sending", "sent", "dead")


class OutboxMessage(Base):
    """A notification owed to a person, written in the same transaction as the decision that causes it.

    ``flask --app wsgi outbox run`` claims due rows (``pending`` and due, or ``sending`` whose
    lease ran out because the worker holding it died), sends them and marks them ``sent``;
    failures wait with exponential back-off, and after ``OUTBOX_MAX_ATTEMPTS`` the row is
    ``dead``. The recipient is a person id, never a phone number or openid: the row holds
    nothing personal, and the number is read (and unsealed) only when sending.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {OUTBOX_STATUSES!r}", name="status"),
        sa.CheckConstraint(f"channel IN {OUTBOX_CHANNELS!r}", name="channel"),
        # What a worker asks for: rows of one status, oldest due first.
        sa.Index("ix_outbox_messages_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[IdPk]
    channel: Mapped[str] = mapped_column(sa.String(16))
    template: Mapped[str] = mapped_column(sa.String(64))
    person_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("persons.id"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # What caused it (e.g. "application", id), for support questions like "was the SMS sent?".
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set while a worker is sending; a claim whose lease ran out is taken over by another worker.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    provider_message_id: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
