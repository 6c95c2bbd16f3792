"""A client-side pacer: at most N requests in any sliding window, on an injectable clock.

OpenRouter's analytics allow 64 requests a minute; pacing ourselves just under that means the 429 path
is a safety net, not the normal way of slowing down.

With ``burst``, requests are also spread out: a token bucket refilled at N per window, holding at most
``burst`` tokens, must have one for each request. Evenly spaced requests (``burst=1``) lose every slot
nobody was ready for (a thread still waiting on its answer, a sleep that overshot), and never get it back;
a few tokens in hand let those slots be used a moment later. The sliding window still holds: never more
than N in any window, however the bucket is set.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class Pacer:
    def __init__(
        self,
        per_window: int,
        window_s: float = 60.0,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_window < 1:
            raise ValueError("per_window must be at least 1")
        if burst is not None and burst < 1:
            raise ValueError("burst must be at least 1")
        self.per_window = per_window
        self.window_s = window_s
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        # The bucket as a schedule (GCRA): the time at which it will be full again; None: not started.
        self._full_at: float | None = None
        self.waited_s = 0.0

    def _bucket_pause(self, now: float) -> float:
        """Seconds until the bucket has a token (0: it has one now)."""
        if self.burst is None or self._full_at is None:
            return 0.0
        interval = self.window_s / self.per_window
        return max(0.0, self._full_at - (self.burst - 1) * interval - now - 1e-9)

    def _take(self, now: float) -> None:
        self._sent.append(now)
        if self.burst is not None:
            interval = self.window_s / self.per_window
            self._full_at = max(self._full_at if self._full_at is not None else now, now) + interval

    def wait(self) -> None:
        """Block until one more request fits in the window (and the bucket), then count it."""
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.window_s:
                    self._sent.popleft()
                pause = self._bucket_pause(now)
                if len(self._sent) >= self.per_window:
                    # At least a microsecond: float rounding must not turn a full wait into endless tiny ones.
                    pause = max(pause, self.window_s - (now - self._sent[0]), 1e-6)
                if pause <= 0:
                    self._take(now)
                    return
                self.waited_s += pause
                self._sleep(pause)
