"""Sign-in and registration throttles that an attacker cannot turn against someone else.

`POST /api/auth/token` (`LOGIN_RATE_LIMIT`), before any password is checked:

1. Per client address, every attempt takes a token, right password or not: this bounds one
   address's guesses, and the hashing it can make the server do.
2. Per email, only failed attempts count (an attempt takes a token before the check, and a
   success gives it back), and an empty bucket refuses further attempts on that email,
   from anywhere, unless the address has signed in to that account before (within
   `LOGIN_KNOWN_ADDRESS_DAYS`; such attempts neither take nor need a token). Attackers who
   spend an email's bucket from many addresses thus stop each other and any new address,
   never the owner at an address they signed in from. The bucket exists whether or not
   the email belongs to a user, so the limit reveals nothing about who is registered.

`POST /api/auth/register` (`REGISTER_RATE_LIMIT`): attempts per client address.

With Redis (`REDIS_URL`), buckets and known addresses live there, shared by every worker;
keys hold a hash of the address or email, never the text. Should Redis fail, each worker
counts (and remembers) on its own until it is back.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

import redis.asyncio as aioredis

from src.auth.email_rule import lookup_form
from src.core.config import Settings
from src.core.rate_limit import MAX_TRACKED_KEYS, RateLimiter, TooManyRequests, key_digest

logger = logging.getLogger("mindwire.auth")


class KnownAddresses:
    """Client addresses that have signed in to an account, each remembered for `seconds`."""

    def __init__(
        self, seconds: float, redis: aioredis.Redis | None = None, prefix: str = "mindwire"
    ) -> None:
        self.seconds = seconds
        self._redis = redis
        self._prefix = prefix
        self._local: OrderedDict[str, float] = OrderedDict()  # key -> when it is forgotten

    async def add(self, address: str, email: str) -> None:
        key = key_digest(f"{address} {lookup_form(email)}")
        self._local.pop(key, None)
        self._local[key] = time.monotonic() + self.seconds  # kept here too, for outages
        while len(self._local) > MAX_TRACKED_KEYS:
            self._local.popitem(last=False)
        if self._redis is not None:
            try:
                await self._redis.set(f"{self._prefix}:{key}", 1, ex=int(self.seconds) or 1)
            except Exception as exc:
                logger.warning("known sign-in addresses: Redis failed (%s)", exc)

    async def __call__(self, address: str, email: str) -> bool:
        """Whether `address` has signed in to the account of `email` before."""
        key = key_digest(f"{address} {lookup_form(email)}")
        if self._local.get(key, 0.0) > time.monotonic():
            return True
        if self._redis is not None:
            try:
                return bool(await self._redis.exists(f"{self._prefix}:{key}"))
            except Exception as exc:
                logger.warning("known sign-in addresses: Redis failed (%s)", exc)
        return False


class TooManyLoginAttempts(TooManyRequests):
    def __init__(self, scope: str, wait_seconds: float) -> None:
        super().__init__(f"too many sign-in attempts for {scope}", wait_seconds)


@dataclass
class LoginThrottle:
    """The sign-in limits of one app: attempts by address, failures by email."""

    by_address: RateLimiter
    failures_by_email: RateLimiter
    known: KnownAddresses

    @classmethod
    def create(cls, settings: Settings, redis: aioredis.Redis | None = None) -> LoginThrottle:
        prefix = f"{settings.redis_channel}:login"
        limit = settings.login_rate
        return cls(
            RateLimiter(limit, redis, f"{prefix}:address"),
            RateLimiter(limit, redis, f"{prefix}:email"),
            KnownAddresses(settings.login_known_address_days * 86400, redis, f"{prefix}:known"),
        )

    async def check(self, address: str, email: str) -> bool:
        """Raise `TooManyLoginAttempts` when this attempt may not check a password; else
        whether it took a token of the email's (to give back should it succeed)."""
        # The address first: an address already refused spends nothing of the email's.
        address_wait = await self.by_address.take(address)
        if address_wait > 0:
            raise TooManyLoginAttempts("this address", address_wait)
        if await self.known(address, email):
            return False
        # Taken before the check, not after a failure: attempts in flight at once cannot
        # overshoot the limit.
        email_wait = await self.failures_by_email.take(lookup_form(email))
        if email_wait > 0:
            raise TooManyLoginAttempts("this email", email_wait)
        return True

    async def succeeded(self, address: str, email: str, *, took_email_token: bool) -> None:
        """A success does not count against the email, and makes its address known."""
        if took_email_token:
            await self.failures_by_email.take(lookup_form(email), cost=-1)
        await self.known.add(address, email)


@dataclass
class LoginAttempt:
    """A sign-in attempt the throttle let through; the route tells it how it ended."""

    throttle: LoginThrottle
    address: str
    email: str
    took_email_token: bool

    async def succeeded(self) -> None:
        await self.throttle.succeeded(
            self.address, self.email, took_email_token=self.took_email_token
        )
