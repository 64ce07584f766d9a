"""Counters that must hold across app processes: SMS sends, login attempts and the like.

Backed by the ``limits`` library on ``RATELIMIT_STORAGE_URI`` (``memory://`` in
development, ``redis://`` in production, where every process shares them). Moving
windows give exact "N in the last T" answers and a precise ``Retry-After``; a
fixed window keyed by calendar day serves budgets that reset at midnight.

When the storage cannot be reached the caller gets ``RateLimitStoreDown``: a
limit that cannot be counted is refused (fail closed), never waved through.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter


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
        return parse(self.rate)


@dataclass(frozen=True)
class Refusal:
    """Which limit said no, and how many seconds until it would say yes."""

    limit: Limit
    retry_after: int


class RateLimits:
    """The app's counters. One instance per app (``rate_limits()``)."""

    def __init__(self, uri: str, key_prefix: str) -> None:
        storage = storage_from_string(uri, key_prefix=f"{key_prefix}:limits", wrap_exceptions=True)
        if not isinstance(storage, Storage):
            raise ValueError(f"RATELIMIT_STORAGE_URI {uri!r} names an asyncio storage")
        self.storage = storage
        self._moving = MovingWindowRateLimiter(self.storage)
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
        overflows, which is what matters.
        """
        refusal = self.check(checks)
        if refusal is not None:
            return refusal
        try:
            for limit, key in checks:
                if not self._strategy(limit).hit(limit.item, limit.name, key):
                    return Refusal(limit, self.retry_after(limit, key))
        except StorageError as exc:
            raise RateLimitStoreDown(str(exc.storage_error)) from exc
        return None

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


def init_app(app: Flask) -> None:
    settings = app.extensions["ruhui.settings"]
    app.extensions["ruhui.rate_limits"] = RateLimits(settings.ratelimit_storage_uri, settings.ratelimit_key_prefix)


def rate_limits() -> RateLimits:
    limits: RateLimits = current_app.extensions["ruhui.rate_limits"]
    return limits
