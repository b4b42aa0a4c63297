"""Sign-in: the same answer, in about the same time, whether or not the email exists; and a
rate limit per client address and per email (`LOGIN_RATE_LIMIT`, default 10 a minute)."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from asgi_lifespan import LifespanManager

from src.auth.throttle import LoginThrottle, TooManyLoginAttempts
from src.core.config import Settings, parse_rate_limit
from src.core.rate_limit import KeyedRateLimiter
from src.main import create_app
from tests.hostile import report
from tests.support import free_port

URL = "/api/auth/token"
SLOW_REFILL = "10/3600s burst 10"
"""LOGIN_RATE_LIMIT's default burst, refilled too slowly for a token to come back during a
test (a hash can take a second on a loaded machine; the default refills one every 6 s)."""


@asynccontextmanager
async def app_for(settings: Any) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """The app in-process; `client_from(address)` is a client whose requests come from there."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        opened: list[httpx.AsyncClient] = []

        def client_from(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=manager.app, client=(address, 40000))
            http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            opened.append(http)
            return http

        yield client_from
        for http in opened:
            await http.aclose()


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post(URL, data={"username": email, "password": password})


async def test_too_many_attempts_from_one_address_get_429_with_retry_after(settings_factory, alice):
    settings = settings_factory(login_rate_limit=SLOW_REFILL)
    async with app_for(settings) as client_from:
        attacker = client_from("203.0.113.7")
        answers = [
            (await sign_in(attacker, f"guess{n}@example.com", "wrong-password")).status_code
            for n in range(10)
        ]
        assert answers == [401] * 10
        refused = await sign_in(attacker, alice.email, alice.password)  # even the right one

        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 360
        assert refused.json()["detail"].startswith("too many sign-in attempts for this address")
        # Someone else, elsewhere, signs in as usual.
        assert (await sign_in(client_from("198.51.100.2"), alice.email, alice.password)).is_success


async def test_too_many_attempts_on_one_email_get_429_whatever_the_address(
    settings_factory, alice, bob
):
    settings = settings_factory(login_rate_limit=SLOW_REFILL)
    async with app_for(settings) as client_from:
        for n in range(10):
            wrong = await sign_in(client_from(f"192.0.2.{n}"), alice.email, "wrong-password")
            assert wrong.status_code == 401
        refused = await sign_in(client_from("192.0.2.200"), alice.email, alice.password)

        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["detail"].startswith("too many sign-in attempts for this email")
        assert (await sign_in(client_from("192.0.2.201"), bob.email, bob.password)).is_success


async def test_an_unknown_email_is_limited_like_a_known_one(settings_factory, alice):
    """The limit itself reveals nothing about who is registered."""
    settings = settings_factory(login_rate_limit=SLOW_REFILL)
    async with app_for(settings) as client_from:
        answers = {}
        for email in (alice.email, "nobody@example.com"):
            statuses = [
                (await sign_in(client_from(f"10.9.{n}.1"), email, "wrong-password")).status_code
                for n in range(11)
            ]
            answers[email] = statuses
        assert answers[alice.email] == answers["nobody@example.com"] == [401] * 10 + [429]


async def test_the_limit_follows_the_setting(settings_factory, alice):
    settings = settings_factory(login_rate_limit="2/60s burst 2")
    async with app_for(settings) as client_from:
        http = client_from("203.0.113.9")
        statuses = [(await sign_in(http, alice.email, "nope-nope")).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]
        assert 1 <= int((await sign_in(http, alice.email, alice.password)).headers["retry-after"])


async def test_workers_sharing_redis_share_the_limit(settings_factory, stack, alice):
    """Two apps on one Redis (two workers): attempts spread over both still meet one limit."""
    if stack != "services":
        pytest.skip("one process without Redis has nothing to share")
    settings = settings_factory(login_rate_limit="3/60s burst 3")
    async with app_for(settings) as first, app_for(settings) as second:
        workers = [first("203.0.113.11"), second("203.0.113.11")]
        statuses = [
            (await sign_in(workers[n % 2], alice.email, "nope-nope")).status_code for n in range(4)
        ]
    assert statuses == [401, 401, 401, 429]


async def test_workers_sharing_redis_share_the_known_addresses(settings_factory, stack, alice):
    """An address that signed in through one worker is known to the others."""
    if stack != "services":
        pytest.skip("one process without Redis has nothing to share")
    settings = settings_factory(login_rate_limit="2/3600s burst 2")
    async with app_for(settings) as first, app_for(settings) as second:
        assert (await sign_in(first("198.51.100.8"), alice.email, alice.password)).is_success
        for n in range(2):
            await sign_in(first(f"192.0.2.{n}"), alice.email, "wrong-password")
        refused = await sign_in(second("192.0.2.20"), alice.email, alice.password)
        at_home = await sign_in(second("198.51.100.8"), alice.email, alice.password)
    assert (refused.status_code, at_home.status_code) == (429, 200)


async def test_without_redis_each_worker_still_limits_on_its_own():
    """Redis unreachable (a port nobody listens on): the throttle falls back to local buckets."""
    redis = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    settings = Settings(_env_file=None, login_rate_limit="2/60s burst 2", secret_key="k" * 32)  # type: ignore[call-arg]
    throttle = LoginThrottle.create(settings, redis)
    try:
        for _ in range(2):
            await throttle.check("203.0.113.12", "someone@example.com")
        with pytest.raises(TooManyLoginAttempts):
            await throttle.check("203.0.113.12", "someone@example.com")
        with pytest.raises(TooManyLoginAttempts):  # the email's failures, counted here too
            await throttle.check("203.0.113.13", "someone@example.com")
        await throttle.succeeded("203.0.113.14", "someone@example.com", took_email_token=False)
        await throttle.check("203.0.113.14", "someone@example.com")  # remembered here too
    finally:
        await redis.aclose()


async def test_failures_on_an_email_do_not_lock_out_addresses_that_signed_in_before(
    settings_factory, alice, stack
):
    """Only failures count against an email, and an address that has signed in to the
    account is not refused for the email's sake: attackers spending the email's bucket
    stop themselves and new addresses, not the owner at home."""
    settings = settings_factory(login_rate_limit="3/3600s burst 3")
    async with app_for(settings) as client_from:
        home = client_from("198.51.100.7")
        assert (await sign_in(home, alice.email, alice.password)).status_code == 200
        for n in range(3):  # three attackers, each within its own address's limit
            wrong = await sign_in(client_from(f"192.0.2.{n}"), alice.email, "wrong-password")
            assert wrong.status_code == 401
        guess = await sign_in(client_from("192.0.2.9"), alice.email, "wrong-password")
        newcomer = await sign_in(client_from("192.0.2.10"), alice.email, alice.password)
        at_home = [(await sign_in(home, alice.email, alice.password)).status_code for _ in range(2)]

    report(
        f"sign-in after an email's failures ({stack}): another guess {guess.status_code}, the "
        f"right password from a new address {newcomer.status_code}, from home {at_home}"
    )
    assert guess.status_code == newcomer.status_code == 429
    assert guess.json()["detail"].startswith("too many sign-in attempts for this email")
    assert at_home == [200, 200]


async def test_successful_sign_ins_do_not_spend_the_emails_bucket(settings_factory, alice):
    settings = settings_factory(login_rate_limit="2/3600s burst 2")
    async with app_for(settings) as client_from:
        statuses = [
            (await sign_in(client_from(f"192.0.2.{n}"), alice.email, alice.password)).status_code
            for n in range(4)
        ]
    assert statuses == [200] * 4


def test_a_bucket_refills_with_time_and_forgets_old_keys():
    now = [0.0]
    limiter = KeyedRateLimiter(parse_rate_limit("2/1s burst 2"), max_keys=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.5]  # the third waits 0.5 s
    now[0] += 0.5
    assert limiter.take("a") == 0.0
    for key in "bcde":
        limiter.take(key)
    assert len(limiter) == 3  # the least recently used keys are forgotten, memory stays bounded


async def test_unknown_email_and_wrong_password_look_the_same(settings_factory, alice):
    """Same status, same body, same headers, and about the same time: an unknown email still
    costs a full password hash check (against a dummy hash)."""
    settings = settings_factory(login_rate_limit="100000/1s")
    async with app_for(settings) as client_from:
        http = client_from("203.0.113.10")
        timings: dict[str, list[float]] = {"unknown email": [], "wrong password": []}
        answers = {}
        for _ in range(8):
            for label, email in (
                ("unknown email", "nobody@example.com"),
                ("wrong password", alice.email),
            ):
                started = time.perf_counter()
                response = await sign_in(http, email, "wrong-password")
                timings[label].append(time.perf_counter() - started)
                headers = {k: v for k, v in response.headers.items() if k != "date"}
                answers[label] = (response.status_code, response.json(), headers)
        assert answers["unknown email"] == answers["wrong password"]
        unknown = statistics.median(timings["unknown email"])
        wrong = statistics.median(timings["wrong password"])
        report(
            f"sign-in timing: unknown email median {unknown * 1000:.1f} ms, wrong password "
            f"median {wrong * 1000:.1f} ms (ratio {unknown / wrong:.2f})"
        )
        # Generous: without the dummy hash an unknown email answers >10x faster.
        assert 0.5 < unknown / wrong < 2.0
