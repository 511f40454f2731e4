"""Abuse protection for anonymous reports that remembers no one.

A limiter needs a key per sender; the only one at hand is the network address, which must never be stored. So the
key is HMAC(address, k) with a random `k` that lives in this process's memory only and is replaced every hour:
nothing is written, a key cannot be turned back into an address, and after the hour it cannot even be recomputed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from limits import RateLimitItemPerHour
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

ROTATE_S = 3600.0


class AnonymousLimiter:
    def __init__(self, *, per_hour: int) -> None:
        self._item = RateLimitItemPerHour(per_hour)
        self._new_period()

    def _new_period(self) -> None:
        self._key = secrets.token_bytes(32)
        self._since = time.monotonic()
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def allow(self, address: str | None) -> bool:
        """True when this sender may send one more report now (the attempt is counted)."""
        if time.monotonic() - self._since > ROTATE_S:
            self._new_period()
        tag = hmac.new(self._key, (address or "").encode(), hashlib.sha256).hexdigest()
        return self._limiter.hit(self._item, "report", tag)
