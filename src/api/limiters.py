"""REST throttles as dependencies: `WRITE_RATE_LIMIT` on writes, the sign-in and
registration limits (`src/auth/throttle.py`). The limiters themselves are built once per app,
in the composition root (`Limiters` in `src/app/services.py`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from src.api.deps import Responses, ServicesDep, TokenClaimsDep, error, services_of
from src.app.services import AppServices
from src.auth.throttle import LoginAttempt
from src.core.rate_limit import TooManyRequests
from src.core.security import TokenClaims


async def throttle_writes(request: Request, claims: TokenClaimsDep) -> AsyncIterator[None]:
    """Dependency of every REST write: per user, `MAX_CONCURRENT_WRITES_PER_USER` at once
    in this process, and `WRITE_RATE_LIMIT` in all; refused with 429 before the database is
    touched (the token's claims are enough here: the route still loads the user, and answers
    401 to a token this lets through without one).

    The rate alone is not enough: a user's whole burst, sent at once, would queue for the
    database ahead of everyone else's writes; at most a few at a time, others wait for few."""
    async with write_slot(services_of(request), claims):
        yield


class write_slot:
    """`throttle_writes`, for the dependency and for the plain ASGI hot writes
    (`src/api/hot_writes.py`): raises `TooManyRequests`, or holds one of the user's slots.
    A class, not an `asynccontextmanager`: no generator and its wrapper per write."""

    __slots__ = ("_claims", "_in_flight", "_services")

    def __init__(self, services: AppServices, claims: TokenClaims | None) -> None:
        self._services = services
        self._claims = claims
        self._in_flight: Counter[int] | None = None

    async def __aenter__(self) -> None:
        if self._claims is None:
            return
        user_id = self._claims.user_id
        services = self._services
        in_flight = services.limiters.writes_in_flight
        if in_flight[user_id] >= services.settings.max_concurrent_writes_per_user:
            raise TooManyRequests("too many writes by this user at once", 1)
        wait = await services.limiters.writes.take(str(user_id))
        if wait > 0:
            raise TooManyRequests("too many writes by this user", wait)
        in_flight[user_id] += 1
        self._in_flight = in_flight

    async def __aexit__(self, *_exc: object) -> None:
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is None or self._claims is None:
            return
        user_id = self._claims.user_id
        in_flight[user_id] -= 1
        if not in_flight[user_id]:
            del in_flight[user_id]


WRITE_LIMITED = [Depends(throttle_writes)]
"""`dependencies=` of every REST write."""
WRITE_LIMIT_RESPONSES: Responses = {
    429: error(
        "too many writes by this user (WRITE_RATE_LIMIT), or at once "
        "(MAX_CONCURRENT_WRITES_PER_USER)",
        headers={"Retry-After": "seconds to wait before trying again"},
    )
}
"""The 429 of every REST write."""


def client_address(request: Request) -> str:
    """The address limits per client count by: the peer's, as uvicorn reports it (from
    `X-Forwarded-For` only when the peer is in its `--forwarded-allow-ips`, 127.0.0.1 by
    default: behind a proxy elsewhere, list the proxy there)."""
    return request.client.host if request.client else "unknown"


async def throttle_login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    services: ServicesDep,
) -> LoginAttempt:
    """Dependency of `POST /api/auth/token`: refuse with 429 before any password is checked."""
    throttle = services.limiters.login
    address = client_address(request)
    took_email_token = await throttle.check(address, form.username)
    return LoginAttempt(throttle, address, form.username, took_email_token)


LoginAttemptDep = Annotated[LoginAttempt, Depends(throttle_login)]


async def throttle_registration(request: Request) -> None:
    """Dependency of `POST /api/auth/register`: `REGISTER_RATE_LIMIT` per client address."""
    limiter = services_of(request).limiters.registrations
    wait = await limiter.take(client_address(request))
    if wait > 0:
        raise TooManyRequests("too many registrations from this address", wait)
