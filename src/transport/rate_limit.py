"""A token bucket per socket: `SOCKET_RATE_LIMIT` inbound events, with a burst."""

from __future__ import annotations

import time

from src.core import rate_limit
from src.core.config import RateLimit


class TokenBucket:
    """`src.core.rate_limit.TokenBucket` on the monotonic clock, answering yes or no."""

    __slots__ = ("_bucket",)

    def __init__(self, limit: RateLimit) -> None:
        self._bucket = rate_limit.TokenBucket(limit, time.monotonic())

    def take(self) -> bool:
        return self._bucket.take(time.monotonic()) == 0.0
