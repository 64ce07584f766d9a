"""Cursor pagination as the contract has it: ``?limit=N&cursor=C`` → ``{"items", "next_cursor"}``.

Pages are keyset pages (``WHERE (k1, k2) < (:v1, :v2) ORDER BY k1 DESC, k2 DESC``):
they stay correct while rows are added and cost the same on page 1 and page 10,000.
The cursor is opaque to clients: base64url of the last row's key values.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageArgsSchema(ma.Schema):
    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=ma.validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Page size, 1–{MAX_LIMIT}"},
    )
    cursor = ma.fields.String(load_default=None, metadata={"description": "next_cursor of the previous page"})


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A response schema ``{"items": [item…], "next_cursor": str | null}`` named for the docs."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(allow_none=True, required=True),
        },
        name=name,
    )


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


def encode_cursor(values: Sequence[Any]) -> str:
    """The opaque cursor of a row's key values (for a page assembled by hand, as ``keyset_page`` narrows it)."""
    plain = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, keys: Sequence[InstrumentedAttribute[Any]]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("wrong arity")
        decoded: list[Any] = []
        for key, value in zip(keys, values, strict=True):
            # A TypeDecorator (e.g. UTCDateTime) answers ``object``; the type it wraps knows better.
            python_type = getattr(key.type, "impl_instance", key.type).python_type
            if python_type is dt.datetime:
                value = dt.datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise ValueError("naive timestamp")
            elif not isinstance(value, python_type) or isinstance(value, bool):
                raise ValueError("wrong type")
            elif isinstance(value, int) and not -(2**63) <= value < 2**63:
                raise ValueError("beyond BIGINT")  # the database would fail on it, with a 500
            decoded.append(value)
        return decoded
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, NotImplementedError) as exc:
        raise ValidationFailed(errors={"cursor": ["分页游标无效"]}) from exc


def keyset_page(
    statement: Any, keys: Sequence[InstrumentedAttribute[Any]], limit: int, cursor: str | None, descending: bool
) -> Any:
    """``statement`` narrowed to the rows after the cursor, in key order, one row more than the page."""
    if cursor:
        values = decode_cursor(cursor, keys)
        left, right = (
            sa.tuple_(*keys),
            sa.tuple_(*[sa.literal(v, type_=k.type) for k, v in zip(keys, values, strict=True)]),
        )
        statement = statement.where(left < right if descending else left > right)
    order = [k.desc() if descending else k.asc() for k in keys]
    return statement.order_by(*order).limit(limit + 1)


def paginate(
    session: Session,
    statement: sa.Select[Any],
    *,
    keys: Sequence[InstrumentedAttribute[Any]],
    limit: int,
    cursor: str | None,
    descending: bool = True,
) -> Page:
    """Run ``statement`` one keyset page at a time; ``keys`` must end with a unique column."""
    rows = list(session.scalars(keyset_page(statement, keys, limit, cursor, descending)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, k.key) for k in keys])
    return Page(items=rows, next_cursor=next_cursor)


def paginate_rows(
    session: Session,
    statement: sa.Select[*tuple[Any, ...]],
    *,
    keys: Sequence[InstrumentedAttribute[Any]],
    limit: int,
    cursor: str | None,
    descending: bool = True,
) -> Page:
    """Like ``paginate`` for a statement that selects several entities (one joined query per page).

    Items are the result rows; the cursor is read from the row's first entity, which owns ``keys``.
    """
    rows = list(session.execute(keyset_page(statement, keys, limit, cursor, descending)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([getattr(rows[-1][0], k.key) for k in keys])
    return Page(items=rows, next_cursor=next_cursor)
