"""A client-side pacer: at most N requests in any sliding window, on an injectable clock.

OpenRouter's analytics allow 64 requests a minute; pacing ourselves just under that means the 429 path
is a safety net, not the normal way of slowing down.
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
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_window < 1:
            raise ValueError("per_window must be at least 1")
        self.per_window = per_window
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def wait(self) -> None:
        """Block until one more request fits in the window, then count it."""
        with self._lock:
            while True:
                now = self._clock()
                # The tolerance keeps float rounding from turning a full wait into an endless tiny one.
                while self._sent and now - self._sent[0] >= self.window_s - 1e-6:
                    self._sent.popleft()
                if len(self._sent) < self.per_window:
                    self._sent.append(now)
                    return
                pause = self.window_s - (now - self._sent[0])
                self.waited_s += pause
                self._sleep(pause)
