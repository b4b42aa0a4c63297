"""Token buckets, written once: per socket, per key in this process, and per key in Redis.

Every limit of the service (`SOCKET_RATE_LIMIT`, `LOGIN_RATE_LIMIT`, `REGISTER_RATE_LIMIT`,
`WRITE_RATE_LIMIT`) is a `RateLimit` counted by `TokenBucket.take`; `RateLimiter` keeps a
bucket per key (an address, an email, a user), in Redis when the app has it (so the limit
holds for every worker together) and in this process otherwise, or while Redis fails.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable

import redis.asyncio as aioredis
from fastapi import HTTPException, status

from src.core.config import RateLimit

logger = logging.getLogger("mindwire.rate_limit")

MAX_TRACKED_KEYS = 100_000
"""Buckets kept per limiter; past this the least recently used are forgotten (memory bound)."""


class TokenBucket:
    """Starts full; each event takes a token; tokens refill at `limit.per_second`."""

    __slots__ = ("_refill", "_capacity", "_tokens", "_stamp")

    def __init__(self, limit: RateLimit, now: float) -> None:
        self._refill = limit.per_second
        self._capacity = float(limit.burst)
        self._tokens = self._capacity
        self._stamp = now

    def take(self, now: float, cost: int = 1) -> float:
        """Take `cost` tokens: 0.0 if there were enough, else the seconds until there are.
        A negative cost gives tokens back (up to the burst)."""
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._refill)
        self._stamp = now
        if self._tokens < cost:
            return (cost - self._tokens) / self._refill
        self._tokens = min(self._capacity, self._tokens - cost)
        return 0.0


class KeyedRateLimiter:
    """A token bucket per key, in this process, the least recently used forgotten first.

    Example::

        limiter = KeyedRateLimiter(parse_rate_limit("10/60s burst 10"))
        wait = limiter.take("203.0.113.7")  # 0.0 when allowed, else seconds until a token
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        max_keys: int = MAX_TRACKED_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str, cost: int = 1) -> float:
        """`TokenBucket.take` on the bucket of `key`."""
        now = self._clock()
        bucket = self._buckets.pop(key, None) or TokenBucket(self.limit, now)
        self._buckets[key] = bucket  # most recently used last
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return bucket.take(now, cost)

    def __len__(self) -> int:
        return len(self._buckets)


_TAKE = """
local capacity, per_second, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * per_second)
local wait = 0
if tokens < cost then
  wait = (cost - tokens) / per_second
else
  tokens = math.min(capacity, tokens - cost)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], ttl)
return tostring(wait)
"""
"""`TokenBucket.take` as one atomic step in Redis, on its clock (workers' clocks differ)."""


def key_digest(key: str) -> str:
    """Redis keys hold a hash of an address or an email, never the text."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class SharedRateLimiter:
    """Token buckets in Redis, shared by every worker; a key expires once its bucket is full."""

    def __init__(self, redis: aioredis.Redis, prefix: str, limit: RateLimit) -> None:
        self.prefix = prefix
        self.limit = limit
        self._take = redis.register_script(_TAKE)
        self._ttl = math.ceil(limit.burst / limit.per_second) + 1

    async def take(self, key: str, cost: int = 1) -> float:
        """`TokenBucket.take` on the bucket of `key`, in Redis."""
        args: list[int | str] = [self.limit.burst, repr(self.limit.per_second), self._ttl, cost]
        return float(await self._take(keys=[f"{self.prefix}:{key_digest(key)}"], args=args))


class RateLimiter:
    """A bucket per key: in Redis when given, in this process without it or while it fails."""

    def __init__(
        self, limit: RateLimit, redis: aioredis.Redis | None = None, prefix: str = "mindwire"
    ) -> None:
        self.limit = limit
        self.local = KeyedRateLimiter(limit)
        self.shared = SharedRateLimiter(redis, prefix, limit) if redis is not None else None

    async def take(self, key: str, cost: int = 1) -> float:
        """Take `cost` tokens for `key` (negative: give them back): 0.0 if there were enough,
        else the seconds until there are."""
        if self.shared is not None:
            try:
                return await self.shared.take(key, cost)
            except Exception as exc:  # Redis down: this worker counts on its own meanwhile
                logger.warning(
                    "rate limit %s: Redis failed (%s); counting in this process",
                    self.shared.prefix,
                    exc,
                )
        return self.local.take(key, cost)


class TooManyRequests(HTTPException):
    """`429` with `Retry-After` (whole seconds) and a reason a person can read."""

    def __init__(self, reason: str, wait_seconds: float) -> None:
        retry_after = max(1, math.ceil(wait_seconds))
        super().__init__(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"{reason}: try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )
