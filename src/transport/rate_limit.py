"""A token bucket per socket: `SOCKET_RATE_LIMIT` inbound events, with a burst."""

from __future__ import annotations

import time
from collections.abc import Callable

from src.core import rate_limit
from src.core.config import RateLimit


class TokenBucket:
    """`src.core.rate_limit.TokenBucket` on a clock (monotonic seconds), answering yes or no.
    The clock is a parameter so a test moves time instead of waiting for it."""

    __slots__ = ("_bucket", "_clock")

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._bucket = rate_limit.TokenBucket(limit, clock())

    def take(self) -> bool:
        return self._bucket.take(self._clock()) == 0.0
