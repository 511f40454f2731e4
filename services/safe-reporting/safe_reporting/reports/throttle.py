"""Guessing receipts is slowed per receipt prefix, and no one can lock a reporter out for long.

A wrong receipt counts against the bucket of its first `PREFIX_DIGITS` digits (1,000 buckets; the bucket's key is
HMAC(pepper, prefix), so the table holds no digit of any receipt). While a bucket has `failures_per_window` counted
failures within `window_s`, every look-up in that bucket — right or wrong — answers 429 with Retry-After, so a spent
bucket is no oracle; reporters whose receipts begin otherwise are served as usual.

The lock-out is bounded: a bucket counts at most `failures_per_day` failures in any 24 hours (the rest are answered
404 and not counted). A bucket is spent at a moment t only when `failures_per_window` counted failures lie in
(t - window, t]; integrating over a day, the time spent is at most (counted failures x window) / failures_per_window,
so an attacker, however fast, keeps one reporter's bucket spent at most failures_per_day x window_s /
failures_per_window (+ one window) in any 24 hours: 300 x 60 s / 30 + 60 s = 11 minutes with the defaults.

Guessing stays infeasible without the throttle's help: a receipt has 66.4 bits and every look-up pays one scrypt in a
pool of one thread per core, so the rate is bounded by the service's hash capacity (see docs/safe-reporting.md for
the figures). Kept in safe-reporting's database (verbinding_common.limits): every replica counts the same buckets,
a restart refills nothing, and when the database cannot answer the look-up is refused (fails closed).
"""

from __future__ import annotations

import hashlib
import hmac

from verbinding_common.limits import SharedLimits, SlidingWindow

PREFIX_DIGITS = 3
DAY_S = 24 * 3600.0


class GuessThrottle:
    def __init__(self, *, limits: SharedLimits, failures_per_window: int, window_s: float,
                 failures_per_day: int = 300, pepper: bytes = b"") -> None:
        self.window = SlidingWindow("receipt-guesses", limit=failures_per_window, window_s=window_s)
        self.day = SlidingWindow("receipt-guesses-day", limit=failures_per_day, window_s=DAY_S)
        self._limits = limits
        self._pepper = pepper

    def bucket(self, digits: str | None) -> str:
        """The bucket of a typed receipt: a keyed hash of its first digits (a malformed one has its own)."""
        prefix = digits[:PREFIX_DIGITS] if digits else "malformed"
        return hmac.new(self._pepper, b"receipt-prefix:" + prefix.encode(), hashlib.sha256).hexdigest()[:32]

    async def wait_s(self, bucket: str) -> int:
        """Seconds until a look-up in this bucket may be tried again (0: now)."""
        return await self._limits.wait_s(self.window, bucket)

    async def failed(self, bucket: str) -> None:
        """Count a wrong receipt in its bucket, unless the bucket has counted its day's failures already."""
        if await self._limits.hit(self.day, bucket):
            await self._limits.record(self.window, bucket)
