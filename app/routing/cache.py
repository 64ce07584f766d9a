"""Routing decisions kept per process while the directory stays the same (a submit's routing, not a scan's).

A filed application is routed from its station, the worker's occupation and employment form:
a snapshot of the candidate unions and rules (four statements) and the engine, the same answer
for every worker of that station and form until an officer changes the directory. Each app process
keeps the decision (``RouteCache``, a ``DirectoryCache``: plain frozen values, never ORM objects shared between threads)
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

from dataclasses import dataclass

from app.joincodes.resolved import DirectoryCache, current_cache


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


class RouteCache(DirectoryCache[RouteKey, CachedRoute]):
    """(station, occupation, employment form) → ``CachedRoute`` for one app process, valid per directory version."""


def current_route_cache() -> RouteCache:
    """The current app's routing cache."""
    return current_cache(RouteCache, "route_cache")
