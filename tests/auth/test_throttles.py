"""Throttles an attacker cannot turn against others, attacked from outside.

The server runs in a process of its own; attackers and the innocent user are clients bound
to different loopback addresses (127.0.0.2, 127.0.0.3, ...), so the server sees each as a
client address of its own. Each test measures what the innocent user got (successes,
latency) while the attack runs, and reports it in pytest's summary.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
import uuid
from collections.abc import Awaitable

import httpx
import pytest

from src.core.security import HASHING_THREADS, HashQueueFull, verify_password_async
from tests.hostile import report

ATTACKERS = [f"127.0.0.{n}" for n in range(2, 8)]
"""Six attacker addresses."""
INNOCENT = "127.0.0.9"
NEWCOMER = "127.0.0.10"


def client_from(url: str, address: str, connections: int = 10) -> httpx.AsyncClient:
    """A client whose connections leave from `address` (the server sees that address)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    transport = httpx.AsyncHTTPTransport(local_address=address, limits=limits)
    return httpx.AsyncClient(base_url=url, transport=transport, timeout=120)


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/auth/token", data={"username": email, "password": password})


async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    """The response, and the seconds it took."""
    started = time.perf_counter()
    response = await request
    return response, time.perf_counter() - started


async def http_floor(url: str, addresses: list[str], each: int) -> float:
    """Seconds the server takes to answer `each` GET /health per address, all at once, on
    new connections: the floor of any flood of that size, whatever its requests do."""
    clients = [client_from(url, address, each) for address in addresses]
    started = time.perf_counter()
    await asyncio.gather(*[http.get("/health") for http in clients for _ in range(each)])
    took = time.perf_counter() - started
    for http in clients:  # closed: idle connections are closed by the server after 5 s
        await http.aclose()
    return took


def ms(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms"


def assert_throttled(response: httpx.Response, status: int, reason: str) -> None:
    """A refusal says why, and when to come back."""
    assert response.status_code == status, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert reason in response.json()["detail"], response.json()


# -- sign-in: the per-email limit cannot lock the owner out ---------------------------------------

GUESSES = 6
"""Per attacker address: its whole LOGIN_RATE_LIMIT burst (5), and one more."""


async def test_attackers_cannot_lock_a_user_out_of_signing_in(server_process, alice, stack):
    """Six addresses, each spending its own LOGIN_RATE_LIMIT, guess the victim's password.
    Before, they emptied the email's bucket and the victim, with the right password, got 0
    of 4 sign-ins; now only failures count against the email, and an address that has
    signed in to the account before is not refused for the email's sake."""
    server = server_process(LOGIN_RATE_LIMIT="5/60s burst 5")
    victim = client_from(server.url, INNOCENT)
    assert (await sign_in(victim, alice.email, alice.password)).status_code == 200

    async def attacker(address: str) -> list[httpx.Response]:
        async with client_from(server.url, address) as http:
            return [
                await sign_in(http, alice.email, f"guess-{uuid.uuid4().hex}")
                for _ in range(GUESSES)
            ]

    started = time.monotonic()
    guesses = [g for answers in await asyncio.gather(*map(attacker, ATTACKERS)) for g in answers]
    elapsed = time.monotonic() - started
    victim_statuses = []
    for _ in range(4):  # the victim's address has 4 of its 5 tokens left
        victim_statuses.append((await sign_in(victim, alice.email, alice.password)).status_code)
    async with client_from(server.url, NEWCOMER) as newcomer:
        newcomer_status = (await sign_in(newcomer, alice.email, alice.password)).status_code
    await victim.aclose()

    statuses = [guess.status_code for guess in guesses]
    email_refusals = [g for g in guesses if g.status_code == 429 and "email" in g.json()["detail"]]
    report(
        f"sign-in lockout ({stack}): {len(ATTACKERS)} attacker addresses made {len(guesses)} "
        f"guesses in {elapsed:.1f}s ({statuses.count(401)} checked, {len(email_refusals)} "
        f"refused for the email, {statuses.count(429) - len(email_refusals)} for the address); "
        f"then the victim with the right password signed in {victim_statuses.count(200)} of "
        f"{len(victim_statuses)} times ({victim_statuses}); an address new to the account: "
        f"{newcomer_status}"
    )
    assert victim_statuses == [200] * len(victim_statuses)
    # The email's bucket still bounds the guessing: its burst, and what refilled meanwhile.
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) <= 5 + math.ceil(elapsed * 5 / 60), statuses
    assert email_refusals, statuses
    assert_throttled(email_refusals[0], 429, "too many sign-in attempts for this email")
    assert newcomer_status == 429  # the price: a new address waits out the attack


# -- registrations and the password-hashing queue ----------------------------------------------

REGISTRATIONS = 300


async def innocent_sign_ins(http: httpx.AsyncClient, email: str, password: str, count: int):
    results = []
    for _ in range(count):
        results.append(await timed(sign_in(http, email, password)))
        await asyncio.sleep(0.1)
    return results


async def test_a_registration_flood_does_not_delay_others_sign_ins(server_process, bob, stack):
    """300 registrations at once from six addresses: each address gets REGISTER_RATE_LIMIT,
    and past PASSWORD_HASH_QUEUE waiting hashes new ones are refused with 503 at once, so an
    innocent user's sign-in waits for a few hashes, not for hundreds (before: seconds)."""
    queue = 4
    server = server_process(
        LOGIN_RATE_LIMIT="1000/1s",
        REGISTER_RATE_LIMIT="5/60s burst 5",
        PASSWORD_HASH_QUEUE=str(queue),
    )
    innocent = client_from(server.url, INNOCENT)
    idle = await innocent_sign_ins(innocent, bob.email, bob.password, 5)

    async def register(http: httpx.AsyncClient) -> httpx.Response:
        body = {"email": f"flood-{uuid.uuid4().hex[:12]}@example.com", "password": "x" * 12}
        return await http.post("/api/auth/register", json=body)

    per_address = REGISTRATIONS // len(ATTACKERS)
    attackers = [client_from(server.url, address, per_address) for address in ATTACKERS]
    floor = await http_floor(server.url, ATTACKERS, per_address)
    flood = asyncio.gather(*[register(http) for http in attackers for _ in range(per_address)])
    await asyncio.sleep(0.2)  # the flood is on
    during = await innocent_sign_ins(innocent, bob.email, bob.password, 10)
    answers = await flood
    for http in [innocent, *attackers]:
        await http.aclose()

    statuses = [answer.status_code for answer in answers]
    counts = {code: statuses.count(code) for code in sorted(set(statuses))}
    latencies = [took for _, took in during]
    innocent_statuses = [response.status_code for response, _ in during]
    report(
        f"registration flood ({stack}): {REGISTRATIONS} concurrent registrations from "
        f"{len(ATTACKERS)} addresses answered {counts} ({REGISTRATIONS} GET /health took "
        f"{floor:.1f}s); an innocent sign-in idle "
        f"{ms([took for _, took in idle])}, during the flood {ms(latencies)} "
        f"(statuses {innocent_statuses})"
    )
    assert statuses.count(201) <= 5 * len(ATTACKERS)
    assert set(counts) <= {201, 429, 503}
    assert_throttled(next(a for a in answers if a.status_code == 429), 429, "registrations")
    assert_throttled(next(a for a in answers if a.status_code == 503), 503, "PASSWORD_HASH_QUEUE")
    assert innocent_statuses.count(200) >= len(during) // 2, innocent_statuses
    assert set(innocent_statuses) <= {200, 503}
    # At worst it waits for the queue, a hash per thread, then its own, and the server's
    # answers to the flood's requests: before, it waited behind every registration's hash
    # (120 s did not suffice).
    hash_seconds = statistics.median([took for _, took in idle])
    bound = (queue / HASHING_THREADS + 2) * hash_seconds + 1.0 + floor
    assert max(latencies) < bound, (latencies, bound)


async def test_past_the_hash_queue_a_check_is_refused_at_once():
    """With every hashing thread busy and PASSWORD_HASH_QUEUE hashes waiting, the next one
    is refused without waiting; once they are done, checks are accepted again."""
    queue = 2
    jobs = [
        asyncio.ensure_future(verify_password_async("pw", None, queue_limit=queue))
        for _ in range(HASHING_THREADS + queue)
    ]
    await asyncio.sleep(0)  # each is handed to the pool
    started = time.perf_counter()
    with pytest.raises(HashQueueFull):
        await verify_password_async("pw", None, queue_limit=queue)
    refused_in = time.perf_counter() - started

    assert await asyncio.gather(*jobs) == [False] * len(jobs)
    assert refused_in < 0.05, refused_in
    assert await verify_password_async("pw", None, queue_limit=queue) is False


# -- writes: one user's flood does not delay another's -----------------------------------------

FLOOD_WRITES = 400
POOL = 50
"""Connections per flooding client."""


async def test_a_write_flood_is_limited_and_others_writes_are_not_delayed(
    server_process, alice, bob, stack
):
    """One user sends 400 writes at once. Before, all reached the database, and another
    user's write waited behind them; now WRITE_RATE_LIMIT and MAX_CONCURRENT_WRITES_PER_USER
    refuse nearly all with 429 before the database, and the other user's write waits about
    as long as the server takes to answer 400 trivial requests (the floor of any flood)."""
    server = server_process(WRITE_RATE_LIMIT="20/1s burst 40", MAX_CONCURRENT_WRITES_PER_USER="4")
    innocent = client_from(server.url, INNOCENT)
    # The flood on several clients: one httpx pool of 400 connections costs the test's own
    # event loop seconds of bookkeeping, which the innocent client's timings would include.
    flooders = [client_from(server.url, ATTACKERS[0], POOL) for _ in range(FLOOD_WRITES // POOL)]

    async def innocent_writes(count: int) -> list[tuple[httpx.Response, float]]:
        results = []
        for n in range(count):
            write = innocent.post(
                "/api/memory-logs", json={"content": f"n{n}"}, headers=bob.headers
            )
            results.append(await timed(write))
            await asyncio.sleep(0.05)
        return results

    idle = await innocent_writes(10)
    floor = await http_floor(server.url, ATTACKERS[:1] * len(flooders), POOL)
    body = {"content": "flood"}
    started = time.perf_counter()
    flood = asyncio.gather(
        *[
            flooder.post("/api/memory-logs", json=body, headers=alice.headers)
            for flooder in flooders
            for _ in range(POOL)
        ]
    )
    await asyncio.sleep(0.1)  # the flood is on
    during = await innocent_writes(10)
    answers = await flood
    flood_seconds = time.perf_counter() - started
    listed = await innocent.get("/api/memory-logs", headers=alice.headers)
    for http in [innocent, *flooders]:
        await http.aclose()

    statuses = [answer.status_code for answer in answers]
    counts = {code: statuses.count(code) for code in sorted(set(statuses))}
    latencies = [took for _, took in during]
    report(
        f"write flood ({stack}): one user's {FLOOD_WRITES} concurrent writes answered {counts} "
        f"in {flood_seconds:.1f}s ({FLOOD_WRITES} GET /health took {floor:.1f}s); another "
        f"user's write idle {ms([took for _, took in idle])}, during the flood {ms(latencies)}"
    )
    assert [response.status_code for response, _ in during] == [201] * len(during)
    assert set(counts) <= {201, 429}
    # The burst and what refilled meanwhile, at most; the database holds just those.
    assert counts.get(201, 0) <= 40 + 20 * flood_seconds
    assert listed.json()["total"] == counts.get(201, 0)
    assert_throttled(next(a for a in answers if a.status_code == 429), 429, "too many writes")
    # Before: 400 writes reached the database, and the other user's write waited up to
    # 1.5 s (0.8 s on PostgreSQL) where 400 trivial requests take 0.6 s.
    assert max(latencies) < 0.5 + floor, (latencies, floor)
