"""Guessing receipts is slow for everyone: a city-wide budget of failed look-ups per window, kept in memory only.

No key, no address, no identifier of who guessed: the budget is one counter for all. When it is spent, every
look-up — right or wrong — waits for the window to pass, so a spent budget tells a guesser nothing about a code.
"""

from __future__ import annotations

import math
import time
from collections import deque


class GuessThrottle:
    def __init__(self, *, failures_per_window: int, window_s: float) -> None:
        self.failures_per_window = failures_per_window
        self.window_s = window_s
        self._failures: deque[float] = deque()

    def _forget_old(self, now: float) -> None:
        while self._failures and self._failures[0] <= now - self.window_s:
            self._failures.popleft()

    def wait_s(self) -> int:
        """Seconds until a look-up may be tried again (0: now)."""
        now = time.monotonic()
        self._forget_old(now)
        if len(self._failures) < self.failures_per_window:
            return 0
        return max(1, math.ceil(self._failures[0] + self.window_s - now))

    def failed(self) -> None:
        self._failures.append(time.monotonic())
