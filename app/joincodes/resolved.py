"""What a scanned token resolves to, kept per process and forgotten as soon as the directory changes.

A resolve (and the landing page) shows the code, its station, the station's employer and the union
the routing engine previews for the station: five statements and a routing snapshot, the same for
every scan of a code until an officer changes something. So each app process keeps the answer
(``ResolveCache``, plain frozen values, never ORM objects shared between threads) under the
**directory version**, the newest id of ``directory_changes``:

* every flush of any session that inserts, updates or deletes a union, an employer, a station, a
  routing rule or a join code (ORM units of work and ORM-enabled ``insert``/``update``/``delete``
  statements alike) appends a ``directory_changes`` row in the same transaction (``_bump``), so a
  committed change always moves the version;
* a process reads the version at most every ``VERSION_CHECK_SECONDS`` (one indexed ``max(id)``) and
  drops its whole cache when it moved: a code revoked in another process stops answering within
  that time plus one request (under a second);
* a commit that changed the directory in this process drops this process's caches at once (a
  revocation is seen by the next request the same worker serves).

An answer computed while the version moves is not kept (``store`` checks the version it was
looked up under), so a cache never holds what a change committed before it was filled made stale.
Whether a code has expired is decided per request from the cached ``expires_at``; only changes of
rows are cached.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.db import utcnow
from app.joincodes.models import DirectoryChange, code_status

if TYPE_CHECKING:
    from app.directory.models import Employer, Station
    from app.joincodes.models import JoinCode
    from app.joincodes.service import UnionPreview

# The tables whose rows decide what a code resolves to (the routing preview reads the first four).
TRACKED_TABLES = frozenset({"unions", "employers", "stations", "routing_rules", "join_codes"})
# A revocation elsewhere is seen within this (plus the request that notices): well under a second.
VERSION_CHECK_SECONDS = 0.5
# Past this many codes the cache starts again from empty (a city has a few thousand stations).
MAX_ENTRIES = 50_000
# Keep the table short: every so many changes, rows older than the newest KEEP are deleted.
PRUNE_EVERY = 1000
KEEP = 100

_CHANGED = "ruhui.directory_changed"


@dataclass(frozen=True)
class CodeFacts:
    id: int
    token: str
    station_id: int
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def status_at(self, now: dt.datetime) -> str:
        return code_status(self.revoked_at, self.expires_at, now)

    @classmethod
    def of(cls, code: JoinCode) -> CodeFacts:
        return cls(code.id, code.token, code.station_id, code.expires_at, code.revoked_at)


@dataclass(frozen=True)
class StationFacts:
    id: int
    name: str
    region_code: str
    address: str
    occupation: str
    employer_id: int | None
    union_id: int

    @classmethod
    def of(cls, station: Station) -> StationFacts:
        return cls(
            station.id,
            station.name,
            station.region_code,
            station.address,
            station.occupation,
            station.employer_id,
            station.union_id,
        )


@dataclass(frozen=True)
class EmployerFacts:
    id: int
    name: str

    @classmethod
    def of(cls, employer: Employer | None) -> EmployerFacts | None:
        return None if employer is None else cls(employer.id, employer.name)


@dataclass(frozen=True)
class Resolved:
    code: CodeFacts
    station: StationFacts
    employer: EmployerFacts | None
    union: UnionPreview | None
    # What views made of this answer once and serve again while it stays cached (the resolve's JSON body,
    # the landing page).
    rendered: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)


class _LocalChanges:
    """How many commits in this process changed the directory (every cache compares it on each look-up)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def bump(self) -> None:
        with self._lock:
            self.count += 1


local_changes = _LocalChanges()


# The request's session, or a function that opens it on first need: a scan answered from the cache
# (most of them) opens none.
SessionSource = Session | Callable[[], Session]


def opened(session: SessionSource) -> Session:
    return session if isinstance(session, Session) else session()


def directory_version(session: Session) -> int:
    """The newest ``directory_changes`` id (0 before any change)."""
    return int(session.scalar(sa.select(sa.func.max(DirectoryChange.id))) or 0)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class DirectoryCache(Generic[K, V]):
    """Key → answer for one app process, valid while the directory version stays the same.

    The rules of the module docstring, for any answer made of the directory: the version read at
    most every ``check_every`` seconds, everything dropped when it moved or a commit of this process
    changed the directory, and an answer computed while the version moved never kept.
    """

    def __init__(
        self,
        *,
        check_every: float = VERSION_CHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.check_every = check_every
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[K, V] = {}
        self._version: int | None = None  # what the entries were filled under; None: not read yet
        self._local = local_changes.count
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def lookup(self, session: SessionSource, key: K) -> tuple[V | None, tuple[int, int]]:
        """The cached answer for ``key`` (or None), and the tag to ``store`` a fresh answer under.

        ``session`` may be a function that opens the request's session: only a version check calls it.
        """
        now = self.clock()
        local = local_changes.count
        if local != self._local or now - self._checked_at >= self.check_every:
            version = directory_version(opened(session))
            with self._lock:
                if version != self._version or local != self._local:
                    self._entries = {}
                    self._version, self._local = version, local
                self._checked_at = now
        tag = (self._version or 0, self._local)
        return self._entries.get(key), tag

    def store(self, key: K, answer: V, tag: tuple[int, int]) -> None:
        """Keep ``answer`` unless the version moved since ``lookup`` gave ``tag``."""
        with self._lock:
            if tag != (self._version or 0, self._local) or local_changes.count != self._local:
                return
            if len(self._entries) >= self.max_entries:
                self._entries = {}
            self._entries[key] = answer

    def fetch(self, session: SessionSource, key: K, compute: Callable[[Session], V]) -> V:
        """The cached answer for ``key``, else ``compute``'s (kept unless the version moved meanwhile)."""
        cached, tag = self.lookup(session, key)
        if cached is not None:
            return cached
        answer = compute(opened(session))
        self.store(key, answer, tag)
        return answer

    def clear(self) -> None:
        with self._lock:
            self._entries = {}
            self._version = None
            self._checked_at = float("-inf")

    def __len__(self) -> int:
        return len(self._entries)


class ResolveCache(DirectoryCache[str, Resolved]):
    """Token → ``Resolved`` for one app process, valid while the directory version stays the same."""


# --- the version moves with every change of a tracked table ------------------------------------------


def _table_of(obj: Any) -> str | None:
    table = getattr(type(obj), "__table__", None)
    return getattr(table, "name", None)


def _bump(session: Session) -> None:
    """Append a ``directory_changes`` row on the session's connection, in its transaction."""
    connection = session.connection()
    result = connection.execute(sa.insert(DirectoryChange).values(changed_at=utcnow()))
    session.info[_CHANGED] = True
    new_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
    if new_id and int(new_id) % PRUNE_EVERY == 0:
        connection.execute(sa.delete(DirectoryChange).where(DirectoryChange.id < int(new_id) - KEEP))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    changed = (*session.new, *session.deleted, *(obj for obj in session.dirty if session.is_modified(obj)))
    if any(_table_of(obj) in TRACKED_TABLES for obj in changed):
        _bump(session)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in TRACKED_TABLES:
        _bump(state.session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        local_changes.bump()


_create_lock = threading.Lock()
C = TypeVar("C", bound=DirectoryCache[Any, Any])


def current_cache(kind: type[C], name: str) -> C:
    """The current app's cache of ``kind`` under ``ruhui.<name>`` (one per app and process)."""
    from flask import current_app

    cache: C | None = current_app.extensions.get(f"ruhui.{name}")
    if cache is None:
        with _create_lock:
            cache = current_app.extensions.setdefault(f"ruhui.{name}", kind())
    return cache


def current_resolve_cache() -> ResolveCache:
    """The current app's resolve cache."""
    return current_cache(ResolveCache, "resolve_cache")
