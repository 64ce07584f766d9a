"""Routing decisions kept per process while the directory stays the same (a submit's routing, not a scan's).

A filed application is routed from its station, the worker's occupation and employment form:
a snapshot of the candidate unions and rules (four statements) and the engine, the same answer
for every worker of that station and form until an officer changes the directory. Each app process
keeps the decision (``RouteCache``: plain frozen values, never ORM objects shared between threads)
under the **directory version** that ``app.joincodes.resolved`` maintains — every change of a
union, employer, station, routing rule or join code moves it in its own transaction — and with the
same rules as the resolve cache:

* the version is read at most every ``VERSION_CHECK_SECONDS`` (one indexed ``max(id)``); when it
  moved the whole cache is dropped, so a change committed in another process routes the
  applications filed after it within that time plus one request (under a second);
* a commit that changed the directory in this process drops the cache at once;
* a decision computed while the version moves is not kept.

A refusal (``no_union_available``) is never cached: it is worked out again on every submit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.joincodes.resolved import VERSION_CHECK_SECONDS, directory_version, local_changes

# Stations × occupations × employment forms actually seen: far below this in a city.
MAX_ENTRIES = 50_000


@dataclass(frozen=True)
class RoutedUnion:
    """The receiving union as an application records it (its reference and its path copy)."""

    id: int
    name: str
    kind: str
    path: str


@dataclass(frozen=True)
class CachedRoute:
    union: RoutedUnion
    rule: str
    reasons: tuple[str, ...]


RouteKey = tuple[int, str, str | None]  # station id, occupation, employment form


class RouteCache:
    """(station, occupation, employment form) → ``CachedRoute`` for one app process, valid per directory version."""

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
        self._entries: dict[RouteKey, CachedRoute] = {}
        self._version: int | None = None
        self._local = local_changes.count
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def lookup(self, session: Session, key: RouteKey) -> tuple[CachedRoute | None, tuple[int, int]]:
        """The cached decision for ``key`` (or None), and the tag to ``store`` a fresh one under."""
        now = self.clock()
        local = local_changes.count
        if local != self._local or now - self._checked_at >= self.check_every:
            version = directory_version(session)
            with self._lock:
                if version != self._version or local != self._local:
                    self._entries = {}
                    self._version, self._local = version, local
                self._checked_at = now
        return self._entries.get(key), (self._version or 0, self._local)

    def store(self, key: RouteKey, route: CachedRoute, tag: tuple[int, int]) -> None:
        """Keep ``route`` unless the version moved since ``lookup`` gave ``tag``."""
        with self._lock:
            if tag != (self._version or 0, self._local) or local_changes.count != self._local:
                return
            if len(self._entries) >= self.max_entries:
                self._entries = {}
            self._entries[key] = route

    def clear(self) -> None:
        with self._lock:
            self._entries = {}
            self._version = None
            self._checked_at = float("-inf")

    def __len__(self) -> int:
        return len(self._entries)


_create_lock = threading.Lock()


def current_route_cache() -> RouteCache:
    """The current app's cache (one per app and process)."""
    from flask import current_app

    cache: RouteCache | None = current_app.extensions.get("ruhui.route_cache")
    if cache is None:
        with _create_lock:
            cache = current_app.extensions.setdefault("ruhui.route_cache", RouteCache())
    return cache
