"""Abuse protection for anonymous reports that remembers no one.

A limiter needs a key per sender; the only one at hand is the network address, which must never be stored. So the
key is HMAC(address, k) with a `k` replaced every clock hour: the tag a bucket is kept under cannot be turned back
into an address, and the next hour's tags share nothing with this hour's (the count starts again, as it did when
each process drew a new random key). Every gateway replica must tag a sender alike to share the count, so `k` is
derived from the hour and a secret all replicas hold and the database never sees (the gateway's identity signing
key); the counts live in the gateway's database (verbinding_common.limits) and are purged once their hour is over.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from verbinding_common.limits import SharedLimits, SlidingWindow, fail_open, keyed

ROTATE_S = 3600.0


class AnonymousLimiter:
    def __init__(self, *, limits: SharedLimits, secret: bytes, per_hour: int) -> None:
        self.window = SlidingWindow("anonymous-reports", limit=per_hour, window_s=ROTATE_S)
        self._limits = limits
        self._secret = secret

    def tag(self, address: str | None, *, now: float | None = None) -> str:
        """The sender's bucket key in the current hour."""
        hour = int((time.time() if now is None else now) // ROTATE_S)
        hour_key = hmac.new(self._secret, f"anonymous-report sender, hour {hour}".encode(), hashlib.sha256).digest()
        return keyed(hour_key, address or "")

    async def allow(self, address: str | None) -> bool:
        """True when this sender may send one more report now (the attempt is counted)."""
        # Fails open: a victim's report must not depend on the gateway's database (safe reporting keeps its own);
        # while it is down, the limit is off and the service behind takes reports as fast as it can.
        return bool(await fail_open(self._limits.hit(self.window, self.tag(address)), True, "anonymous-report limiter"))
