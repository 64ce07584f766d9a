"""Counters that must hold across app processes: SMS sends, login attempts and the like.

Backed by the ``limits`` library on ``RATELIMIT_STORAGE_URI`` (``memory://`` in
development, ``redis://`` in production, where every process shares them). Moving
windows give exact "N in the last T" answers and a precise ``Retry-After``; a
fixed window keyed by calendar day serves budgets that reset at midnight.

When the storage cannot be reached the caller gets ``RateLimitStoreDown``: a
limit that cannot be counted is refused (fail closed), never waved through.

A hit is counted before the work it guards (so parallel requests cannot all slip
past a limit) and handed back with ``release`` when that work then fails, so a
request that failed spends nothing.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from redis import Redis
from redis.exceptions import RedisError

_SLOT = "\x00"  # where the identifier goes in a key's template (``RateLimits._parts_of``)


class RateLimitStoreDown(Exception):
    """The shared counter storage did not answer."""


@dataclass(frozen=True)
class Limit:
    """A named limit such as ``Limit("otp-phone-hour", "5/hour")``; ``fixed`` uses a fixed window."""

    name: str
    rate: str
    fixed: bool = False

    @property
    def item(self) -> RateLimitItem:
        return _parsed(self.rate)


@functools.cache  # a handful of rates, parsed once each: a batch of scans asks for thousands of items
def _parsed(rate: str) -> RateLimitItem:
    return parse(rate)


@dataclass(frozen=True)
class Refusal:
    """Which limit said no, and how many seconds until it would say yes."""

    limit: Limit
    retry_after: int


# A Redis that does not answer must not hang the request that counts: give up after this.
REDIS_TIMEOUT_SECONDS = 2.0


def storage_options(uri: str) -> dict[str, float]:
    """Connection options for the storage ``uri`` names (timeouts for Redis; memory takes none)."""
    if uri.lower().startswith("redis"):
        return {"socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS}
    return {}


class RateLimits:
    """The app's counters. One instance per app (``rate_limits()``)."""

    def __init__(self, uri: str, key_prefix: str) -> None:
        storage = storage_from_string(
            uri, key_prefix=f"{key_prefix}:limits", wrap_exceptions=True, **storage_options(uri)
        )
        if not isinstance(storage, Storage):
            raise ValueError(f"RATELIMIT_STORAGE_URI {uri!r} names an asyncio storage")
        self.storage = storage
        self._moving = MovingWindowRateLimiter(self.storage)
        self._scripts: dict[str, Any] = {}  # Lua source → redis-py's Script, registered on first use
        self._key_parts: dict[Limit, tuple[str, str, int, int]] = {}  # see ``_script_keys``
        self._fixed = FixedWindowRateLimiter(self.storage)

    def _strategy(self, limit: Limit) -> RateLimiter:
        return self._fixed if limit.fixed else self._moving

    def retry_after(self, limit: Limit, key: str) -> int:
        """Seconds until ``limit`` admits one more hit for ``key`` (at least 1)."""
        try:
            stats = self._strategy(limit).get_window_stats(limit.item, limit.name, key)
        except StorageError as exc:
            raise RateLimitStoreDown(str(exc.storage_error)) from exc
        return max(1, math.ceil(stats.reset_time - time.time()))

    def check(self, checks: Sequence[tuple[Limit, str]]) -> Refusal | None:
        """The first limit that is already used up, without counting anything."""
        try:
            for limit, key in checks:
                if not self._strategy(limit).test(limit.item, limit.name, key):
                    return Refusal(limit, self.retry_after(limit, key))
        except StorageError as exc:
            raise RateLimitStoreDown(str(exc.storage_error)) from exc
        return None

    def acquire(self, checks: Sequence[tuple[Limit, str]]) -> Refusal | None:
        """Count one hit against every limit, or none when one of them is used up.

        All limits are tested before any is counted, so a refusal by one does not
        spend the others. Two processes racing past the test may each count a hit
        the other then sees; the atomic hit below still refuses the one that
        overflows, and the hits already counted for it are handed back.
        """
        if checks and isinstance(self.storage, RedisStorage) and not any(limit.fixed for limit, _ in checks):
            return self._acquire_moving_in_redis(checks)
        refusal = self.check(checks)
        if refusal is not None:
            return refusal
        counted: list[tuple[Limit, str]] = []
        try:
            for limit, key in checks:
                if not self._strategy(limit).hit(limit.item, limit.name, key):
                    self.release(counted)
                    return Refusal(limit, self.retry_after(limit, key))
                counted.append((limit, key))
        except StorageError as exc:
            raise RateLimitStoreDown(str(exc.storage_error)) from exc
        return None

    def _acquire_moving_in_redis(self, checks: Sequence[tuple[Limit, str]]) -> Refusal | None:
        """``acquire`` for moving windows on Redis in one round trip: test all, then count all, in one script.

        The windows are the lists ``limits`` keeps (newest hit first), so ``check``, ``release`` and the
        library's own calls read them as before; a scan's two bounds cost one call instead of four.
        """
        keys, windows = self._script_keys(checks)
        refused = int(self._run_script(_REDIS_ACQUIRE_MOVING, keys, [time.time(), *windows]))
        if refused:
            limit, key = checks[refused - 1]
            return Refusal(limit, self.retry_after(limit, key))
        return None

    def acquire_each(self, groups: Sequence[Sequence[tuple[Limit, str]]]) -> list[Limit | None]:
        """``acquire`` for each group in turn (a later group sees the earlier groups' hits): the refusing limits.

        On Redis with moving windows only, one script call for all the groups (a batch of scans);
        otherwise one ``acquire`` per group.
        """
        if not groups:
            return []
        if not (isinstance(self.storage, RedisStorage) and all(not lim.fixed for g in groups for lim, _ in g)):
            return [refusal.limit if (refusal := self.acquire(group)) else None for group in groups]
        keys: list[str] = []
        args: list[float] = [time.time()]
        for group in groups:
            group_keys, windows = self._script_keys(group)
            keys += group_keys
            args += [len(group), *windows]
        refused = [int(n) for n in self._run_script(_REDIS_ACQUIRE_EACH, keys, args)]
        return [group[n - 1][0] if n else None for group, n in zip(groups, refused, strict=True)]

    def count_once(self, marker: tuple[Limit, str], counter: tuple[Limit, str]) -> tuple[bool, Refusal | None]:
        """Count one hit of ``counter`` the first time ``marker`` is seen in its window: ``(seen before, refusal)``.

        ``marker`` is a fixed window of one ("this was tried today"). When it is already set nothing is
        counted and ``(True, None)`` comes back. Otherwise ``counter`` is tested: used up, the refusal comes
        back and the marker stays unset (the refused try must not pass as tried next time); else both
        are counted. On Redis with two fixed windows this is one script, one round trip, atomic (a double
        tap counts once); elsewhere the same steps in turn, a parallel request that marked first winning.
        """
        (mark_limit, mark_key), (count_limit, count_key) = marker, counter
        if isinstance(self.storage, RedisStorage) and mark_limit.fixed and count_limit.fixed:
            keys, windows = self._script_keys([marker, counter])
            outcome = int(self._run_script(_REDIS_COUNT_ONCE, keys, windows))
            if outcome < 0:
                return True, None
            return False, Refusal(count_limit, self.retry_after(count_limit, count_key)) if outcome else None
        if self.check([marker]) is not None:
            return True, None
        refusal = self.check([counter])
        if refusal is None:
            if self.acquire([marker]) is not None:
                return True, None  # a parallel request marked it first: counted once, there
            refusal = self.acquire([counter])
            if refusal is not None:
                self.clear(mark_limit, mark_key)
        return False, refusal

    def _script_keys(self, checks: Sequence[tuple[Limit, str]]) -> tuple[list[str], list[float]]:
        """The Redis keys of ``checks`` (as ``limits`` names them), and each window's amount and expiry in turn."""
        keys: list[str] = []
        windows: list[float] = []
        known = self._key_parts
        for limit, key in checks:
            parts = known.get(limit) or self._parts_of(limit)
            keys.append(f"{parts[0]}{key}{parts[1]}")
            windows += parts[2:]
        return keys, windows

    def _parts_of(self, limit: Limit) -> tuple[str, str, int, int]:
        """What ``limits`` puts before and after a key's identifier, and the window's amount and expiry.

        Built once per limit: building each key through ``key_for`` and ``prefixed_key`` was most of the
        app's CPU in a batch of scans. The same string for any ``str`` identifier (``key_for`` writes it
        as it is, between fixed parts).
        """
        assert isinstance(self.storage, RedisStorage)
        head, tail = self.storage.prefixed_key(limit.item.key_for(limit.name, _SLOT)).split(_SLOT)
        parts = self._key_parts[limit] = (head, tail, limit.item.amount, limit.item.get_expiry())
        return parts

    def _run_script(self, source: str, keys: list[str], args: Sequence[float]) -> Any:
        """Run a Lua script on the Redis storage (registered once per source); no answer is ``RateLimitStoreDown``."""
        assert isinstance(self.storage, RedisStorage)
        try:
            script = self._scripts.get(source)
            if script is None:
                connection = cast(Redis, self.storage.get_connection())  # typed as a narrow protocol by limits
                script = self._scripts[source] = connection.register_script(source)
            return script(keys=keys, args=list(args))
        except RedisError as exc:
            raise RateLimitStoreDown(str(exc)) from exc

    def release(self, checks: Sequence[tuple[Limit, str]]) -> None:
        """Hand back the hit ``acquire`` counted against each limit: the work it guarded failed.

        The newest hit of each window is removed (in a moving window, which of two
        hits a moment apart goes first makes no difference to anybody). The library
        has no "un-hit", so this reaches into the two storages the service supports;
        ``limits`` is pinned in requirements.txt for that reason.
        """
        try:
            for limit, key in checks:
                self._release_one(limit.item.key_for(limit.name, key), fixed=limit.fixed)
        except RedisError as exc:  # called on the client directly, so not wrapped in StorageError
            raise RateLimitStoreDown(str(exc)) from exc

    def _release_one(self, storage_key: str, *, fixed: bool) -> None:
        storage = self.storage
        if isinstance(storage, MemoryStorage):
            if fixed:
                storage.decr(storage_key)  # floored at zero
                return
            with storage.locks[storage_key]:
                events = storage.events.get(storage_key)
                if events:
                    del events[0]  # the newest entry is at the front
            return
        if isinstance(storage, RedisStorage):
            redis_key = storage.prefixed_key(storage_key)
            connection = cast(Redis, storage.get_connection())  # typed as a narrow protocol by limits
            if fixed:
                connection.eval(_REDIS_DECR_IF_POSITIVE, 1, redis_key)
            else:
                connection.lpop(redis_key)  # the moving window's list holds the newest hit first
            return
        raise NotImplementedError(f"release() does not know {type(storage).__name__}")

    @property
    def shared(self) -> bool:
        """Whether the counters live outside this process (and so can be down)."""
        return not isinstance(self.storage, MemoryStorage)

    def reachable(self) -> bool:
        return bool(self.storage.check())

    def clear(self, limit: Limit, key: str) -> None:
        try:
            self._strategy(limit).clear(limit.item, limit.name, key)
        except StorageError as exc:
            raise RateLimitStoreDown(str(exc.storage_error)) from exc

    def close(self) -> None:
        """Release network connections (Redis); memory storage has none."""
        client = getattr(self.storage, "storage", None)
        close = getattr(client, "close", None)
        if callable(close):
            close()


# Every moving window (ARGV: now, then limit and expiry per key) admits one more hit, or the 1-based
# index of the first that does not; only when all admit is the hit pushed onto each (as limits does; the
# list is trimmed only once it is longer than the limit).
_REDIS_ACQUIRE_MOVING = """
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
    local entry = redis.call('lindex', KEYS[i], tonumber(ARGV[2 * i]) - 1)
    if entry and tonumber(entry) >= now - tonumber(ARGV[2 * i + 1]) then
        return i
    end
end
for i = 1, #KEYS do
    if redis.call('lpush', KEYS[i], ARGV[1]) > tonumber(ARGV[2 * i]) then
        redis.call('ltrim', KEYS[i], 0, tonumber(ARGV[2 * i]) - 1)
    end
    redis.call('expire', KEYS[i], tonumber(ARGV[2 * i + 1]))
end
return 0
"""

# _REDIS_ACQUIRE_MOVING for many groups in one call. ARGV: now, then per group its number of keys and
# per key its limit and expiry; KEYS: every group's keys in turn. Returns per group 0 or the index
# (1-based, within the group) of the window that refused it.
_REDIS_ACQUIRE_EACH = """
local now = tonumber(ARGV[1])
local arg, key, result = 2, 1, {}
for g = 1, 1000000 do
    if ARGV[arg] == nil then break end
    local n = tonumber(ARGV[arg])
    local refused = 0
    for i = 0, n - 1 do
        local entry = redis.call('lindex', KEYS[key + i], tonumber(ARGV[arg + 1 + 2 * i]) - 1)
        if refused == 0 and entry and tonumber(entry) >= now - tonumber(ARGV[arg + 2 + 2 * i]) then
            refused = i + 1
        end
    end
    if refused == 0 then
        for i = 0, n - 1 do
            if redis.call('lpush', KEYS[key + i], ARGV[1]) > tonumber(ARGV[arg + 1 + 2 * i]) then
                redis.call('ltrim', KEYS[key + i], 0, tonumber(ARGV[arg + 1 + 2 * i]) - 1)
            end
            redis.call('expire', KEYS[key + i], tonumber(ARGV[arg + 2 + 2 * i]))
        end
    end
    result[g] = refused
    key = key + n
    arg = arg + 1 + 2 * n
end
return result
"""

# RateLimits.count_once on two fixed windows (the counters limits' FixedWindowRateLimiter keeps: INCRBY,
# EXPIRE on the first hit). KEYS: the marker, the counter; ARGV: each one's limit and expiry.
# Returns -1 when the marker is already used up (nothing counted), 1 when the counter is (nothing
# counted), 0 when both were counted.
_REDIS_COUNT_ONCE = """
if tonumber(redis.call('get', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return -1 end
if tonumber(redis.call('get', KEYS[2]) or '0') >= tonumber(ARGV[3]) then return 1 end
if redis.call('incrby', KEYS[1], 1) == 1 then redis.call('expire', KEYS[1], ARGV[2]) end
if redis.call('incrby', KEYS[2], 1) == 1 then redis.call('expire', KEYS[2], ARGV[4]) end
return 0
"""

# Decrement a fixed window's counter unless it has expired meanwhile (a bare DECR would
# recreate it at -1 with no expiry).
_REDIS_DECR_IF_POSITIVE = (
    "if tonumber(redis.call('get', KEYS[1]) or '0') > 0 then return redis.call('decr', KEYS[1]) end return 0"
)


def init_app(app: Flask) -> None:
    settings = app.extensions["ruhui.settings"]
    app.extensions["ruhui.rate_limits"] = RateLimits(settings.ratelimit_storage_uri, settings.ratelimit_key_prefix)


def rate_limits() -> RateLimits:
    limits: RateLimits = current_app.extensions["ruhui.rate_limits"]
    return limits
