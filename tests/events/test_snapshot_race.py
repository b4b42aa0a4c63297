"""Load a list, then subscribe with `since` = its `position`: nothing lost, nothing repeated,
while several writers create items at the same time (docs/contract.md, section 6).

Each round: writers start creating alice's memory logs; an admin loads
`GET /api/memory-logs?user_id=alice` (its `position`) and, on a fresh socket, subscribes to
`memory_logs` with `since=position`; the writers stop; one more log (the barrier) is written
and awaited on the socket: events reach a socket in id order, so once the barrier has arrived,
every earlier event that was to arrive has. Then every log created in the round must be in the
list or delivered (else it is *missing*), and never both, nor delivered twice (*repeated*).
The reader is an admin: its own `user_{id}` room does not carry alice's logs, so everything it
receives comes through the subscription under test.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from tests.support import RecordingClient, TestUser

SQLITE_ROUNDS = 300
POSTGRES_ROUNDS = 150
WRITERS = 3
MAX_WRITES_PER_WRITER = 8
"""A round creates at most 3 x 8 + 1 logs: all of them fit in one page of the list (100)."""
SEED = 20261206


@dataclass
class Tally:
    rounds: int = 0
    created: int = 0
    listed: int = 0
    delivered: int = 0
    missing: list[int] = field(default_factory=list)
    repeated: list[int] = field(default_factory=list)


async def one_round(
    rng: random.Random,
    connect: Callable[..., Awaitable[RecordingClient]],
    api: httpx.AsyncClient,
    alice: TestUser,
    admin: TestUser,
    tally: Tally,
) -> None:
    sock = await connect(admin)
    created: list[int] = []
    stop = asyncio.Event()

    async def create(content: str) -> int:
        response = await api.post(
            "/api/memory-logs", json={"content": content}, headers=alice.headers
        )
        assert response.status_code == 201, response.text
        log_id: int = response.json()["id"]
        created.append(log_id)
        return log_id

    async def writer(n: int) -> None:
        for k in range(MAX_WRITES_PER_WRITER):
            if stop.is_set():
                return
            await create(f"writer {n} log {k}")

    writers = [asyncio.create_task(writer(n)) for n in range(WRITERS)]
    for _ in range(rng.randrange(4)):  # vary where the load falls among the writes
        await asyncio.sleep(0)
    page = await api.get(
        "/api/memory-logs", params={"user_id": alice.id, "limit": 100}, headers=admin.headers
    )
    assert page.status_code == 200, page.text
    position = page.json()["position"]
    assert page.headers["X-Log-Position"] == str(position)
    listed = [item["id"] for item in page.json()["items"]]
    ack = await sock.call("subscribe_event", {"event_type": "memory_logs", "since": position})
    assert ack["ok"] is True, ack
    stop.set()
    await asyncio.gather(*writers)
    barrier = await create("barrier")
    await sock.wait_for("memory_log_created", lambda e: e.data["id"] == barrier, timeout=10)
    received = sock.events("memory_log_created")
    await sock.close()

    delivered = [event.data["id"] for event in received]
    in_list = set(listed)
    tally.rounds += 1
    tally.created += len(created)
    tally.listed += len(in_list & set(created))
    tally.delivered += len(delivered)
    tally.missing += [log for log in created if log not in in_list and log not in delivered]
    tally.repeated += [log for log in delivered if log in in_list]
    tally.repeated += [log for n, log in enumerate(delivered) if log in delivered[:n]]


async def test_load_then_subscribe_from_position_loses_and_repeats_nothing(
    stack: str,
    connect: Callable[..., Awaitable[RecordingClient]],
    api: httpx.AsyncClient,
    alice: TestUser,
    admin: TestUser,
) -> None:
    rounds = SQLITE_ROUNDS if stack == "embedded" else POSTGRES_ROUNDS
    rng = random.Random(SEED)
    tally = Tally()
    for _ in range(rounds):
        await one_round(rng, connect, api, alice, admin, tally)

    print(  # noqa: T201  (the figures of the run, shown with `pytest -s`)
        f"\nload-then-subscribe ({stack}): {tally.rounds} rounds, {WRITERS} writers, "
        f"{tally.created} logs created, {tally.listed} in the lists, {tally.delivered} "
        f"delivered; missing {len(tally.missing)}, repeated {len(tally.repeated)}"
    )
    assert tally.created > tally.rounds  # the writers did race the loads
    assert (len(tally.missing), len(tally.repeated)) == (0, 0), (tally.missing, tally.repeated)
