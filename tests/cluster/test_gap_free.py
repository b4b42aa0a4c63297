"""The proof that no event is missed: concurrent writers on two workers, readers that drop and
resume with `since` at random moments, and every reader ends with every event it may see."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import httpx

from tests.cluster.workers import Reader, Worker
from tests.support import TestUser as User
from tests.support import wait_until

WRITERS_PER_WORKER = 3
LOGS_PER_WRITER = 40
READERS_PER_USER = 3
SEED = 20261129


async def test_no_reader_misses_an_event_under_concurrent_writers_and_random_reconnects(
    start_worker: Callable[..., Worker], alice: User, bob: User, admin: User
) -> None:
    rng = random.Random(SEED)
    workers = [start_worker(), start_worker()]
    owners: dict[int, int] = {}  # log id -> owner id
    readers = [
        (user, Reader(user.token)) for user in (alice, bob, admin) for _ in range(READERS_PER_USER)
    ]
    for _user, reader in readers:
        await reader.connect(rng.choice(workers).url)

    async def writer(worker: Worker, user: User) -> None:
        async with httpx.AsyncClient(base_url=worker.url, timeout=30) as http:
            for n in range(LOGS_PER_WRITER):
                response = await http.post(
                    "/api/memory-logs", json={"content": f"log {n}"}, headers=user.headers
                )
                assert response.status_code == 201, response.text
                owners[response.json()["id"]] = user.id

    writing = asyncio.gather(
        *(
            writer(worker, (alice, bob)[n % 2])
            for worker in workers
            for n in range(WRITERS_PER_WORKER)
        )
    )

    async def churn(reader: Reader, reader_rng: random.Random) -> None:
        while not writing.done():
            await asyncio.sleep(reader_rng.uniform(0.0, 0.4))  # a random moment to leave
            await reader.move(reader_rng.choice(workers).url)

    churners = [
        asyncio.create_task(churn(reader, random.Random(rng.random()))) for _u, reader in readers
    ]
    await writing
    await asyncio.gather(*churners)

    def expected(user: User) -> set[int]:
        return {log for log, owner in owners.items() if user.is_admin or owner == user.id}

    try:
        await wait_until(
            "every visible log on every reader",
            lambda: all(r.log_ids() >= expected(u) for u, r in readers),
            timeout=30,
        )
    finally:
        for _user, reader in readers:
            await reader.close()

    lost = sum(len(expected(user) - reader.log_ids()) for user, reader in readers)
    leaked = sum(len(reader.log_ids() - expected(user)) for user, reader in readers)
    print(  # noqa: T201  (the figures of the run, shown with `pytest -s`)
        f"\ngap-free replay: {len(workers)} workers, {len(workers) * WRITERS_PER_WORKER} writers, "
        f"{len(readers)} readers, {len(owners)} logs written, "
        f"{sum(len(expected(u)) for u, _r in readers)} deliveries expected, "
        f"{sum(r.moves for _u, r in readers)} moves, events lost: {lost}, "
        f"leaked: {leaked}, out of order: {sum(r.late for _u, r in readers)}"
    )
    assert len(owners) == len(workers) * WRITERS_PER_WORKER * LOGS_PER_WRITER
    assert lost == 0
    assert leaked == 0
    assert all(reader.late == 0 for _user, reader in readers)
    assert all(reader.incomplete == 0 for _user, reader in readers)
