"""Guessing receipts is slow for everyone: a city-wide budget of failed look-ups per window.

No key, no address, no identifier of who guessed: the budget is one counter for all, kept in safe-reporting's
database so that every replica spends the same budget and a restart does not refill it (verbinding_common.limits).
When it is spent, every look-up — right or wrong — waits for the window to pass, so a spent budget tells a guesser
nothing about a code.

It fails closed: when the database cannot answer, the error is raised and the look-up is refused (503), and a wrong
receipt whose failure cannot be counted is refused too rather than answered 404, so an outage never makes guessing
free.
"""

from __future__ import annotations

from verbinding_common.limits import SharedLimits, SlidingWindow

CITY = "city"


class GuessThrottle:
    def __init__(self, *, limits: SharedLimits, failures_per_window: int, window_s: float) -> None:
        self.window = SlidingWindow("receipt-guesses", limit=failures_per_window, window_s=window_s)
        self._limits = limits

    async def wait_s(self) -> int:
        """Seconds until a look-up may be tried again (0: now)."""
        return await self._limits.wait_s(self.window, CITY)

    async def failed(self) -> None:
        await self._limits.record(self.window, CITY)
