"""A per-key rate limit on gateway calls: a token bucket per API key, in memory.

Each key may make ``rate`` calls a second, in bursts of up to one second's worth (at least one
call). Above it a call is refused with 429 and ``Retry-After`` before anything is held or
forwarded. The buckets live in each process: with several workers or replicas a key's ceiling
is the rate times their number (the ledger, not this limit, is what keeps money exact).
"""

from __future__ import annotations

import math
import time

from fastapi import HTTPException


class RateLimiter:
    def __init__(self, rate_per_s: float, max_keys: int = 100_000):
        self._rate = rate_per_s
        self._burst = max(1.0, rate_per_s)
        self._max_keys = max_keys
        self._buckets: dict[object, tuple[float, float]] = {}  # key -> (tokens, when)

    def wait_s(self, key: object) -> float:
        """0 when a call may go now (its token taken), else the seconds until one may."""
        now = time.monotonic()
        tokens, when = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - when) * self._rate)
        if len(self._buckets) >= self._max_keys:
            self._buckets.clear()  # forgetting a bucket only ever lets a key start full
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self._rate

    def check(self, key: object) -> None:
        """Raise the 429 when ``key`` is above its rate."""
        wait = self.wait_s(key)
        if wait > 0:
            raise HTTPException(
                429,
                f"rate limit: {self._rate:g} calls per second per key",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
