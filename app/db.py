"""The database: engine, one session per request, the declarative base and shared column types."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql.expression import Executable

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


# A database host that does not answer must not hold a request for the TCP timeout (minutes):
# connecting gives up after this, and the request answers 503 (app/errors.py).
CONNECT_TIMEOUT_SECONDS = 5


def conflict_insert(dialect: Dialect) -> Callable[[Any], postgresql.Insert | sqlite.Insert]:
    """``insert`` with ``ON CONFLICT …`` for ``dialect``: PostgreSQL's or SQLite's (the two clauses read the same)."""
    return postgresql.insert if dialect.name == "postgresql" else sqlite.insert


def run_core(session: Session, statement: Executable, params: Mapping[str, Any]) -> CursorResult[Any]:
    """Run a Core ``statement`` built once (module level, bound parameters) on ``session``'s connection.

    For the few statements every submit runs: ``session.execute`` wraps each in an ORM execution
    state, its events and an autoflush, which cost about as much again as running the statement.
    So nothing the session holds unflushed is written first: run it where the session has nothing
    pending that the statement reads (or flush before).
    """
    return session.connection().execute(statement, params)


# A pooled PostgreSQL connection idle longer than this is pinged before a request uses it.
PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN_AT = "ruhui.checked_in_at"
_idle_clock = time.monotonic  # the clock idle time is told by (a test stops it)


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings each backend needs to behave.

    On PostgreSQL a pooled connection that sat idle for ``PING_AFTER_IDLE_SECONDS`` is pinged when
    checked out (and replaced if the server does not answer), so after an outage, a restart or a
    failover the dead connections are replaced and the app recovers without a restart. Not every
    checkout, as ``pool_pre_ping`` would: that is one more round trip on every request that reads
    the database, on connections a busy process used a few milliseconds before. One that died in
    those milliseconds fails its request (503), and SQLAlchemy then drops every connection the pool
    held from before the failure (a disconnect invalidates the pool), so the next requests connect
    afresh.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "savepoint", _savepoint_sqlite)
        return engine
    connect_args = {} if "connect_timeout" in sa.make_url(url).query else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle(engine.dialect))
    return engine


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    # ``record.info`` belongs to the DBAPI connection: a new connection starts without the stamp (nothing to ping).
    record.info[_CHECKED_IN_AT] = _idle_clock()


def _ping_if_idle(dialect: Dialect) -> Callable[[Any, Any, Any], None]:
    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN_AT)
        if checked_in is None or _idle_clock() - checked_in < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            # What a failed pre-ping raises: the pool drops every connection it held from before now (the server
            # went away: they are dead too), reconnects this one and hands it out.
            raise sa.exc.InvalidatePoolError("the pooled connection did not answer its ping")

    return ping


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# The requests that write: on SQLite a savepoint that would begin their transaction takes the write lock first.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _savepoint_sqlite(connection: sa.Connection, _name: str) -> None:
    """On SQLite a write request's savepoint that opens the transaction opens it ``BEGIN IMMEDIATE``.

    SQLite (in WAL mode) has one writer at a time, and pysqlite begins a transaction by itself only
    before the first write, so the reads before it see the newest data and the write waits its turn
    for the lock on ``busy_timeout``. A ``SAVEPOINT`` issued before any write (a submit's savepoint
    around the whole filing, say) begins a *deferred* transaction instead: the reads after it hold a
    snapshot, and when another request commits before this one writes, the snapshot is stale and SQLite
    refuses the upgrade at once (``database is locked``, a 503) rather than wait. Beginning those
    transactions ``IMMEDIATE`` queues them for the lock up front, within ``busy_timeout``.

    Only there: requests that read (``GET``, ``HEAD``, ``OPTIONS``) are never serialized behind the
    writer, and a write request without such a savepoint keeps pysqlite's begin-at-first-write (taking
    the lock for the whole request would deadlock the few places that write from a second session while
    the request's own is open, an officer's sign-in audit for one). Outside a request nothing changes.
    PostgreSQL has row locks and needs none of this.
    """
    if not (has_request_context() and request.method in WRITE_METHODS):
        return
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN IMMEDIATE")


# ``g`` flag: this request reads its reports from the primary (read-your-own-write).
READ_FROM_PRIMARY = "read_from_primary"


class Database:
    """Binds an engine to the app and hands each request its own session.

    With a read replica (``DATABASE_READ_URL``, a PostgreSQL hot standby fed by streaming
    replication), reports read through a second engine: ``read_session`` is a session of
    its own, bound to the replica, read-only, that statistics, exports, the funnel and the
    review queue's list use. Everything else, and anything that must see what the same
    officer has just written, uses ``session`` (the primary). Without a replica
    ``read_session`` is ``session`` itself: one database, one transaction, as before.
    A replica that does not answer is the same 503 as a primary that does not
    (``app.errors.handle_database_error``); it never falls back to the primary, whose
    capacity the replica is there to protect.
    """

    def init_app(self, app: Flask, url: str, read_url: str = "") -> None:
        engine = create_db_engine(url)
        app.extensions["ruhui.engine"] = engine
        app.extensions["ruhui.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
        if read_url:
            # Read-only on the server too (SET TRANSACTION READ ONLY): a report that tried to write would
            # fail on a replica anyway, and fails the same way when the read URL names the primary.
            read_engine = create_db_engine(read_url).execution_options(postgresql_readonly=True)
            app.extensions["ruhui.read_engine"] = read_engine
            app.extensions["ruhui.read_sessionmaker"] = sessionmaker(read_engine, expire_on_commit=False)
        else:
            app.extensions["ruhui.read_engine"] = engine
            app.extensions["ruhui.read_sessionmaker"] = app.extensions["ruhui.sessionmaker"]
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

    def commit(self) -> None:
        """Commit the request's session; one that began no transaction (a cached resolve) has nothing to commit."""
        session: Session | None = g.get("db_session")
        if session is not None and session.in_transaction():
            session.commit()

    @property
    def has_replica(self) -> bool:
        return current_app.extensions["ruhui.read_engine"] is not current_app.extensions["ruhui.engine"]

    @property
    def _reads_primary(self) -> bool:
        """Reports read the primary: there is no replica, or this request must see its own writes."""
        return not self.has_replica or bool(g.get(READ_FROM_PRIMARY, False))

    @property
    def read_sessionmaker(self) -> sessionmaker[Session]:
        """Sessions on the replica (the primary without one): for an export's stream, which outlives the request."""
        if self._reads_primary:
            maker: sessionmaker[Session] = current_app.extensions["ruhui.sessionmaker"]
        else:
            maker = current_app.extensions["ruhui.read_sessionmaker"]
        return maker

    @property
    def read_session(self) -> Session:
        """The session reports read through: the replica's, opened on first use, else ``session``.

        A request that sets ``g.read_from_primary`` (an officer's console right after a
        change, see ``app.console.session``) reads its reports from the primary, so the
        page after a decision shows the decision even while the replica lags.
        """
        if self._reads_primary:
            return self.session
        if "db_read_session" not in g:
            g.db_read_session = current_app.extensions["ruhui.read_sessionmaker"]()
        session: Session = g.db_read_session
        return session

    def _close_session(self, _exc: BaseException | None) -> None:
        store = g._get_current_object()  # werkzeug's LocalProxy method: one lookup
        for name in ("db_session", "db_read_session"):
            session: Session | None = store.pop(name, None)
            if session is not None:
                session.close()

    @staticmethod
    def dispose(app: Flask) -> None:
        """Close the pooled connections of both engines (tests, forks)."""
        app.extensions["ruhui.engine"].dispose()
        if app.extensions["ruhui.read_engine"] is not app.extensions["ruhui.engine"]:
            app.extensions["ruhui.read_engine"].dispose()


db = Database()
