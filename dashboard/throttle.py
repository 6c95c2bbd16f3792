"""Guessing the dashboard password, slowed for the whole process: every session shares one ``Throttle``.

The first ``FREE`` wrong passwords cost nothing (people mistype). After them, passwords are checked one at a
time with a growing pause after each check and each wrong password (1, 2, 4 … up to ``MAX_DELAY`` seconds),
whichever session sends them: a session waits for its turn (at most ``MAX_DELAY``), and is told to come back
when the queue is longer.
Opening more sessions does not buy more guesses. Wrong passwords are forgotten after ``FORGET`` seconds
without one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

FREE = 5
MAX_DELAY = 30.0
FORGET = 15 * 60.0


class Throttle:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._failures = 0
        self._last_failure = float("-inf")
        self._next_slot = float("-inf")

    @property
    def failures(self) -> int:
        return self._failures

    def delay(self) -> float:
        """The pause between two checks now: 0 until ``FREE`` wrong passwords, then doubling to ``MAX_DELAY``."""
        if self._failures < FREE:
            return 0.0
        return min(MAX_DELAY, 2.0 ** (self._failures - FREE))

    def reserve(self) -> float | None:
        """Take the next turn to check a password: the seconds to wait for it, or None when it is further away
        than ``MAX_DELAY`` (the caller refuses the attempt without checking it)."""
        with self._lock:
            now = self.clock()
            if now - self._last_failure > FORGET:
                self._failures, self._next_slot = 0, float("-inf")
            pause = self.delay()
            if pause == 0.0:
                return 0.0
            slot = max(now, self._next_slot)
            if slot - now > MAX_DELAY:
                return None
            self._next_slot = slot + pause
            return slot - now

    def wait_turn(self) -> bool:
        """Wait for a turn; False when there is none within ``MAX_DELAY`` (nothing may be checked)."""
        wait = self.reserve()
        if wait is None:
            return False
        if wait > 0:
            self.sleep(wait)
        return True

    def failed(self) -> None:
        """A wrong password: past ``FREE`` of them, nothing more is checked for ``delay()`` seconds."""
        with self._lock:
            now = self.clock()
            self._failures += 1
            self._last_failure = now
            if self._failures >= FREE:
                self._next_slot = max(self._next_slot, now + self.delay())


THROTTLE = Throttle()  # one per process: shared by every browser session of this dashboard
