"""The database: engine, one session per request, the declarative base and shared column types."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    # Read through time.time(), the clock the rate-limit storage also reads, so a test
    # that moves time forward moves both together.
    return dt.datetime.fromtimestamp(time.time(), dt.UTC)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, so values are normalised to UTC on the way in and
    tagged as UTC on the way out; PostgreSQL stores ``timestamptz``.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# 64-bit ids on PostgreSQL; SQLite only autoincrements a plain INTEGER primary key.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

IdPk = Annotated[int, mapped_column(BigId, primary_key=True)]
Timestamp = Annotated[dt.datetime, mapped_column(UTCDateTime(), default=utcnow)]


_MAX_ID = 2**63 - 1
# No row has id 0: an id that cannot exist parses as this and ends as the same 404 as an unknown one.
NO_SUCH_ID = 0


def parse_id(value: str | int) -> int:
    """An id from a path, a query or a body (opaque strings to clients): a BIGINT in range, else ``NO_SUCH_ID``.

    ``NO_SUCH_ID`` is falsy, so ``if number`` reads "is an id", and looking it up finds nothing.
    """
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return NO_SUCH_ID
    number = int(text)
    return number if 0 < number <= _MAX_ID else NO_SUCH_ID


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings each backend needs to behave."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """Binds an engine to the app and hands each request its own session."""

    def init_app(self, app: Flask, url: str) -> None:
        engine = create_db_engine(url)
        app.extensions["ruhui.engine"] = engine
        app.extensions["ruhui.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
        app.teardown_appcontext(self._close_session)

    @property
    def engine(self) -> Engine:
        engine: Engine = current_app.extensions["ruhui.engine"]
        return engine

    @property
    def session(self) -> Session:
        """The session of the current app context, opened on first use."""
        if "db_session" not in g:
            g.db_session = current_app.extensions["ruhui.sessionmaker"]()
        session: Session = g.db_session
        return session

    def _close_session(self, _exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()


db = Database()
