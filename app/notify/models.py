"""Provider state that every app process must share."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


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
