"""`LOGIN_RATE_LIMIT`: sign-in attempts per client address and per email (token buckets).

`POST /api/auth/token` takes one token from the bucket of the caller's address, then one from
the bucket of the email it names, before any password is checked (so a refused attempt costs
no hashing). Every attempt counts, successful or not. An empty bucket answers `429` with
`Retry-After`. The email bucket exists whether or not the email belongs to a user, so the
limit reveals nothing about who is registered.

Buckets live in the process: with `--workers N`, each worker counts on its own.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from src.auth.service import normalize_email
from src.core.config import RateLimit
from src.core.deps import SettingsDep

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


@dataclass
class LoginThrottle:
    """The two limiters of one app: by client address and by email."""

    by_address: KeyedRateLimiter
    by_email: KeyedRateLimiter

    @classmethod
    def create(cls, limit: RateLimit) -> LoginThrottle:
        return cls(KeyedRateLimiter(limit), KeyedRateLimiter(limit))

    def check(self, address: str, email: str) -> None:
        """Raise `TooManyLoginAttempts` when either bucket is empty."""
        # The address first: an address already refused does not also drain the email's
        # bucket (which would lock its owner out for longer).
        address_wait = self.by_address.take(address)
        if address_wait > 0:
            raise TooManyLoginAttempts("this address", address_wait)
        email_wait = self.by_email.take(normalize_email(email))
        if email_wait > 0:
            raise TooManyLoginAttempts("this email", email_wait)


class TooManyLoginAttempts(HTTPException):
    """`429` with `Retry-After` (whole seconds) and a reason a person can read."""

    def __init__(self, scope: str, wait_seconds: float) -> None:
        retry_after = max(1, math.ceil(wait_seconds))
        super().__init__(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many sign-in attempts for {scope}: try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )


def get_login_throttle(request: Request, settings: SettingsDep) -> LoginThrottle:
    """The app's throttle, made on first use (one per app, so test apps never share one)."""
    state = request.app.state
    throttle: LoginThrottle | None = getattr(state, "login_throttle", None)
    if throttle is None:
        throttle = LoginThrottle.create(settings.login_rate)
        state.login_throttle = throttle
    return throttle


async def throttle_login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    throttle: Annotated[LoginThrottle, Depends(get_login_throttle)],
) -> None:
    """Dependency of `POST /api/auth/token`: refuse with 429 before any password is checked."""
    address = request.client.host if request.client else "unknown"
    throttle.check(address, form.username)
