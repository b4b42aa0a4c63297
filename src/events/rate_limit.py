"""A token bucket per socket: `SOCKET_RATE_LIMIT` inbound events, with a burst."""

from __future__ import annotations

import time

from src.core.config import RateLimit


class TokenBucket:
    """Starts full; each event takes a token; tokens refill at `limit.per_second`."""

    __slots__ = ("_refill", "_capacity", "_tokens", "_stamp")

    def __init__(self, limit: RateLimit) -> None:
        self._refill = limit.per_second
        self._capacity = float(limit.burst)
        self._tokens = self._capacity
        self._stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._refill)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False
