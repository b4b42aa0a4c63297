"""The app's rate limiters (one of each per app), and `WRITE_RATE_LIMIT` on REST writes."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

from fastapi import Depends, Request

from src.core.config import RateLimit
from src.core.deps import Responses, TokenClaimsDep, error, services_of
from src.core.rate_limit import RateLimiter, TooManyRequests
from src.events.cluster import RedisCluster


def app_rate_limiter(request: Request, name: str, limit: RateLimit) -> RateLimiter:
    """The app's limiter called `name`, made on first use (one per app, so test apps never
    share one); in the app's Redis when it has one, its keys under `REDIS_CHANNEL:name`."""
    state = request.app.state
    limiters: dict[str, RateLimiter] | None = getattr(state, "rate_limiters", None)
    if limiters is None:
        limiters = state.rate_limiters = {}
    limiter = limiters.get(name)
    if limiter is None:
        services = services_of(request)
        cluster = services.cluster
        redis = cluster.redis if isinstance(cluster, RedisCluster) else None
        limiter = RateLimiter(limit, redis, f"{services.settings.redis_channel}:{name}")
        limiters[name] = limiter
    return limiter


async def throttle_writes(request: Request, claims: TokenClaimsDep) -> AsyncIterator[None]:
    """Dependency of every REST write: per user, `MAX_CONCURRENT_WRITES_PER_USER` at once
    in this process, and `WRITE_RATE_LIMIT` in all; refused with 429 before the database is
    touched (the token's claims are enough here: the route still loads the user, and answers
    401 to a token this lets through without one).

    The rate alone is not enough: a user's whole burst, sent at once, would queue for the
    database ahead of everyone else's writes; at most a few at a time, others wait for few."""
    settings = services_of(request).settings
    if claims is None:
        yield
        return
    user_id = claims.user_id
    in_flight: Counter[int] = _writes_in_flight(request)
    if in_flight[user_id] >= settings.max_concurrent_writes_per_user:
        raise TooManyRequests("too many writes by this user at once", 1)
    wait = await app_rate_limiter(request, "writes", settings.write_rate).take(str(user_id))
    if wait > 0:
        raise TooManyRequests("too many writes by this user", wait)
    in_flight[user_id] += 1
    try:
        yield
    finally:
        in_flight[user_id] -= 1
        if not in_flight[user_id]:
            del in_flight[user_id]


def _writes_in_flight(request: Request) -> Counter[int]:
    """The app's writes under way, per user."""
    state = request.app.state
    in_flight: Counter[int] | None = getattr(state, "writes_in_flight", None)
    if in_flight is None:
        in_flight = state.writes_in_flight = Counter()
    return in_flight


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
