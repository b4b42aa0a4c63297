"""`LOGIN_RATE_LIMIT`: sign-in attempts per client address and per email (token buckets).

`POST /api/auth/token` takes one token from the bucket of the caller's address, then one from
the bucket of the email it names, before any password is checked (so a refused attempt costs
no hashing). Every attempt counts, successful or not. An empty bucket answers `429` with
`Retry-After`. The email bucket exists whether or not the email belongs to a user, so the
limit reveals nothing about who is registered.

With Redis (`REDIS_URL`), the buckets live there, shared by every worker: the limit holds
for the whole service however many workers share the attempts. Keys hold a hash of the
address or email, never the text. Should Redis fail, each worker falls back to buckets of
its own until it is back.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from src.auth.email_rule import lookup_form
from src.core.config import RateLimit
from src.core.deps import ServicesDep
from src.events.cluster import RedisCluster

logger = logging.getLogger("mindwire.auth")

MAX_TRACKED_KEYS = 100_000
"""Buckets kept per limiter; past this the least recently used are forgotten (memory bound)."""


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class KeyedRateLimiter:
    """A token bucket per key, e.g. per client address or per email.

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
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """Take a token for `key`: 0.0 if there was one, else the seconds until there is."""
        now = self._clock()
        capacity = float(self.limit.burst)
        bucket = self._buckets.pop(key, None) or _Bucket(capacity, now)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * self.limit.per_second)
        bucket.stamp = now
        self._buckets[key] = bucket  # most recently used last
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.limit.per_second

    def __len__(self) -> int:
        return len(self._buckets)


_TAKE = """
local capacity, per_second, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * per_second)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / per_second end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], ttl)
return tostring(wait)
"""
"""`KeyedRateLimiter.take` as one atomic step in Redis, on its clock (workers' clocks differ)."""


class SharedRateLimiter:
    """Token buckets in Redis, shared by every worker; a key expires once its bucket is full."""

    def __init__(self, redis: aioredis.Redis, prefix: str, limit: RateLimit) -> None:
        self.prefix = prefix
        self.limit = limit
        self._take = redis.register_script(_TAKE)
        self._ttl = math.ceil(limit.burst / limit.per_second) + 1

    async def take(self, key: str) -> float:
        """Take a token for `key`: 0.0 if there was one, else the seconds until there is."""
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        args: list[int | str] = [self.limit.burst, repr(self.limit.per_second), self._ttl]
        return float(await self._take(keys=[f"{self.prefix}:{digest}"], args=args))


@dataclass
class LoginThrottle:
    """The two limiters of one app: by client address and by email.

    `shared` (Redis) counts for every worker; the local limiters stand in when it fails.
    """

    by_address: KeyedRateLimiter
    by_email: KeyedRateLimiter
    shared_by_address: SharedRateLimiter | None = None
    shared_by_email: SharedRateLimiter | None = None

    @classmethod
    def create(
        cls, limit: RateLimit, redis: aioredis.Redis | None = None, prefix: str = "mindwire"
    ) -> LoginThrottle:
        if redis is None:
            return cls(KeyedRateLimiter(limit), KeyedRateLimiter(limit))
        return cls(
            KeyedRateLimiter(limit),
            KeyedRateLimiter(limit),
            SharedRateLimiter(redis, f"{prefix}:login:address", limit),
            SharedRateLimiter(redis, f"{prefix}:login:email", limit),
        )

    async def check(self, address: str, email: str) -> None:
        """Raise `TooManyLoginAttempts` when either bucket is empty."""
        # The address first: an address already refused does not also drain the email's
        # bucket (which would lock its owner out for longer).
        address_wait = await _take(self.shared_by_address, self.by_address, address)
        if address_wait > 0:
            raise TooManyLoginAttempts("this address", address_wait)
        email_wait = await _take(self.shared_by_email, self.by_email, lookup_form(email))
        if email_wait > 0:
            raise TooManyLoginAttempts("this email", email_wait)


async def _take(shared: SharedRateLimiter | None, local: KeyedRateLimiter, key: str) -> float:
    if shared is not None:
        try:
            return await shared.take(key)
        except Exception as exc:  # Redis down: this worker counts on its own meanwhile
            logger.warning("sign-in rate limit: Redis failed (%s); counting in this process", exc)
    return local.take(key)


class TooManyLoginAttempts(HTTPException):
    """`429` with `Retry-After` (whole seconds) and a reason a person can read."""

    def __init__(self, scope: str, wait_seconds: float) -> None:
        retry_after = max(1, math.ceil(wait_seconds))
        super().__init__(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many sign-in attempts for {scope}: try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )


def get_login_throttle(request: Request, services: ServicesDep) -> LoginThrottle:
    """The app's throttle, made on first use (one per app, so test apps never share one)."""
    state = request.app.state
    throttle: LoginThrottle | None = getattr(state, "login_throttle", None)
    if throttle is None:
        settings = services.settings
        cluster = services.cluster
        redis = cluster.redis if isinstance(cluster, RedisCluster) else None
        throttle = LoginThrottle.create(settings.login_rate, redis, settings.redis_channel)
        state.login_throttle = throttle
    return throttle


async def throttle_login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    throttle: Annotated[LoginThrottle, Depends(get_login_throttle)],
) -> None:
    """Dependency of `POST /api/auth/token`: refuse with 429 before any password is checked."""
    address = request.client.host if request.client else "unknown"
    await throttle.check(address, form.username)
