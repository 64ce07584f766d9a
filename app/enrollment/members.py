"""Member numbers and member cards."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import jwt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import conflict_insert, utcnow
from app.enrollment.models import Identity, MemberNumberSequence
from app.privacy import derive_key

CARD_TTL = dt.timedelta(minutes=5)
_CARD_AUDIENCE = "ruhui-card"
_CARD_ALGORITHM = "HS256"


def allocate_member_no(session: Session, identity: Identity, region_code: str, now: dt.datetime) -> str:
    """Give ``identity`` its member number, once: ``<union region><year><6-digit sequence>``.

    One upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``) both creates the
    per-region, per-year counter and increments it, under the row's lock: concurrent
    approvals in one region queue for a moment on that row and never share a number;
    approvals elsewhere do not wait at all.
    """
    if identity.member_no:
        return identity.member_no
    insert = conflict_insert(session.get_bind().dialect)
    table: sa.Table = MemberNumberSequence.__table__  # type: ignore[assignment]  # declarative tables are Table objects
    statement = (
        insert(table)
        .values(region_code=region_code, year=now.year, last_value=1)
        .on_conflict_do_update(
            index_elements=[table.c.region_code, table.c.year],
            set_={"last_value": table.c.last_value + 1},
        )
        .returning(table.c.last_value)
    )
    value = session.execute(statement).scalar_one()
    identity.member_no = f"{region_code}{now.year}{value:06d}"
    session.flush()
    return identity.member_no


def _card_secret(secret_key: str) -> bytes:
    return derive_key(secret_key, "card")


def issue_card_token(membership_id: int, now: dt.datetime | None = None, *, secret_key: str) -> str:
    """A signed token naming a membership, valid a few minutes: a screenshot soon stops working.

    ``secret_key`` is the app's ``SECRET_KEY`` (the card key is derived from it).
    """
    now = now or utcnow()
    claims = {
        "aud": _CARD_AUDIENCE,
        "sub": str(membership_id),
        "iat": int(now.timestamp()),
        "exp": int((now + CARD_TTL).timestamp()),
        "jti": uuid.uuid4().hex[:12],
    }
    return jwt.encode(claims, _card_secret(secret_key), algorithm=_CARD_ALGORITHM)


def read_card_token(token: str, *, secret_key: str) -> int | None:
    """The membership id a card token names, or None when it is forged, altered or expired."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _card_secret(secret_key),
            algorithms=[_CARD_ALGORITHM],
            audience=_CARD_AUDIENCE,
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError:
        return None
    subject = str(claims["sub"])
    return int(subject) if subject.isdigit() else None
