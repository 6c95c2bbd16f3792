"""What a running fake remembers between requests, all on one injectable clock (seconds, like time.monotonic).

- ``RateLimiter``: at most N requests per key in any sliding 60-second window (the analytics limit is 64).
- ``ServerState.now()``: the fake's present, ``Dataset.now`` advanced by the clock time elapsed since the server
  was made. A data set is fixed at ``now``; only time-dependent behaviour (freshness) moves with the clock.
- Freshness: the real ``/generation`` answers 404 for a few seconds after a generation is made. Here a
  generation is fresh while ``created_at > now() - fresh_seconds``, or until the deadline ``make_fresh`` gave it.
- A known discrepancy: ``hide_from_activity(ids)`` leaves those generations out of ``/activity`` only (every
  other endpoint still has them), as a source that lost some traffic would; the reconciliation must say so.

Tests pass a clock they advance by hand instead of sleeping.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

Clock = Callable[[], float]

ANALYTICS_RATE_PER_MINUTE = 64
FRESH_SECONDS = 5.0
WINDOW_S = 60.0


class RateLimiter:
    """A sliding-window limit per caller; ``per_minute=None`` disables it. Refused requests do not count."""

    def __init__(self, per_minute: int | None, clock: Clock) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    @property
    def per_minute(self) -> int | None:
        return self._per_minute

    @per_minute.setter
    def per_minute(self, value: int | None) -> None:
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError("the rate limit must be a positive integer, or None for no limit")
        self._per_minute = value

    def acquire(self, caller: str) -> int | None:
        """None if ``caller`` may go ahead (the request is counted), else the seconds to wait (Retry-After)."""
        limit = self._per_minute
        if limit is None:
            return None
        with self._lock:
            now = self._clock()
            seen = self._seen.setdefault(caller, deque())
            while seen and now - seen[0] >= WINDOW_S:
                seen.popleft()
            if len(seen) < limit:
                seen.append(now)
                return None
            # Whole seconds, rounded up, never 0: waiting that long always frees a slot.
            return max(1, math.ceil(seen[0] + WINDOW_S - now))

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()


class ServerState:
    """Per-server mutable state: the clock, the analytics rate limiter, fresh generation ids, injected latency."""

    def __init__(
        self,
        dataset_now: datetime,
        clock: Clock = time.monotonic,
        analytics_rate_per_minute: int | None = ANALYTICS_RATE_PER_MINUTE,
        fresh_seconds: float = FRESH_SECONDS,
        latency_s: float = 0.0,
    ) -> None:
        if latency_s < 0 or fresh_seconds < 0:
            raise ValueError("latency_s and fresh_seconds must be >= 0")
        self.clock = clock
        self.dataset_now = dataset_now
        self.started = clock()
        self.analytics_limiter = RateLimiter(analytics_rate_per_minute, clock)
        self.fresh_seconds = fresh_seconds
        self.latency_s = latency_s
        self._lock = threading.Lock()
        self._fresh_until: dict[str, float] = {}
        self._hidden_from_activity: frozenset[str] = frozenset()
        self._destinations: tuple[dict[str, Any], ...] = ()

    def set_destinations(self, listed: Iterable[dict[str, Any]]) -> None:
        """What GET /observability/destinations lists (the spec's shape)."""
        with self._lock:
            self._destinations = tuple(listed)

    @property
    def destinations(self) -> tuple[dict[str, Any], ...]:
        with self._lock:
            return self._destinations

    def hide_from_activity(self, ids: Iterable[str]) -> None:
        """Leave these generations out of /activity (and only there); an empty list shows everything again."""
        with self._lock:
            self._hidden_from_activity = frozenset(ids)

    @property
    def hidden_from_activity(self) -> frozenset[str]:
        with self._lock:
            return self._hidden_from_activity

    def now(self) -> datetime:
        """The fake's present: the data set's ``now`` plus the clock time elapsed since this state was made."""
        return self.dataset_now + timedelta(seconds=self.clock() - self.started)

    def make_fresh(self, ids: Iterable[str], seconds: float = FRESH_SECONDS) -> None:
        """Make ``/generation`` answer 404 for these ids until ``seconds`` have passed on the clock."""
        until = self.clock() + seconds
        with self._lock:
            for gen_id in ids:
                self._fresh_until[gen_id] = until

    def is_fresh(self, gen_id: str, created_at: datetime) -> bool:
        """Whether ``/generation`` should still answer 404 for this generation (``created_at`` aware, UTC)."""
        if created_at > self.now() - timedelta(seconds=self.fresh_seconds):
            return True
        with self._lock:
            until = self._fresh_until.get(gen_id)
            if until is None:
                return False
            if self.clock() >= until:
                del self._fresh_until[gen_id]
                return False
            return True
