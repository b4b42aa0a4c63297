"""Two real `mindwire serve` processes on one PostgreSQL and one Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import redis.asyncio as aioredis

from src.cluster.presence import RedisPresence
from src.core.config import Settings
from tests.cluster.workers import Reader, Worker
from tests.support import RecordingClient, wait_until
from tests.support import TestUser as User


async def create_log(url: str, user: User, content: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.post(
            "/api/memory-logs", json={"content": content}, headers=user.headers
        )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def connections(settings: Settings, user_id: int) -> int:
    """The user's open connections, as every worker counts them (in the shared Redis)."""
    assert settings.redis_url is not None
    redis = aioredis.from_url(settings.redis_url)
    try:
        return await RedisPresence(redis, settings.redis_channel, "test").connections(user_id)
    finally:
        await redis.aclose()


async def wait_for_connections(settings: Settings, user_id: int, count: int) -> None:
    async with asyncio.timeout(10):
        while await connections(settings, user_id) != count:  # noqa: ASYNC110  (polls Redis)
            await asyncio.sleep(0.02)


async def status_barrier(url: str, admin: User, watcher: RecordingClient) -> None:
    """Change the admin's own status and wait for it: status changes reach a socket in event id
    order, so every one written before it has reached `watcher` too."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.put(
            "/api/users/me/status", json={"status": "away"}, headers=admin.headers
        )
    assert response.status_code == 200, response.text
    changed = response.json()
    await watcher.wait_for("user_status_changed", lambda item: item.data == changed)


async def recording(url: str, user: User, *rooms: str) -> RecordingClient:
    client = RecordingClient.create()
    await client.connect(url, user.token)
    for room in rooms:
        ack = await client.call("subscribe_event", {"event_type": room})
        assert ack["ok"], ack
    return client


async def test_an_event_written_on_one_worker_reaches_a_client_on_the_other(
    start_worker: Callable[..., Worker], alice: User
) -> None:
    first, second = start_worker(), start_worker()
    listener = await recording(first.url, alice, "memory_logs")
    try:
        created = await create_log(second.url, alice, "written on the second worker")
        [event] = await listener.wait_for("memory_log_created", timeout=10)
        assert event.data == created
        assert event.meta is not None and event.meta["event_type"] == "memory_log_created"
    finally:
        await listener.close()


async def test_presence_counts_connections_on_every_worker(
    start_worker: Callable[..., Worker], settings: Settings, alice: User, admin: User
) -> None:
    first, second = start_worker(), start_worker()
    watcher = await recording(first.url, admin, "admin")

    def statuses() -> list[str]:
        return [
            item.data["status"]
            for item in watcher.events("user_status_changed")
            if item.data["user_id"] == alice.id
        ]

    try:
        tab_one = await recording(first.url, alice)
        await watcher.wait_for("user_status_changed", lambda e: e.data["user_id"] == alice.id)
        tab_two = await recording(second.url, alice)
        await wait_for_connections(settings, alice.id, 2)
        await tab_one.close()
        # The first worker has counted the disconnect (one tab left: no status to write), and
        # a wrong "offline" would have been logged before the barrier.
        await wait_for_connections(settings, alice.id, 1)
        await status_barrier(second.url, admin, watcher)
        assert statuses() == ["online"]
        await tab_two.close()
        await watcher.wait_for(
            "user_status_changed", lambda e: e.data["user_id"] == alice.id, count=2
        )
        assert statuses() == ["online", "offline"]
    finally:
        await watcher.close()


async def test_a_killed_workers_users_go_offline_unless_connected_elsewhere(
    start_worker: Callable[..., Worker], alice: User, bob: User, admin: User
) -> None:
    doomed, survivor = start_worker(), start_worker()
    watcher = await recording(survivor.url, admin, "admin")
    try:
        alice_tab = await recording(doomed.url, alice)
        bob_tab_doomed = await recording(doomed.url, bob)
        bob_tab_survivor = await recording(survivor.url, bob)
        for user in (alice, bob):  # (the admin's own "online" may arrive too)
            await watcher.wait_for(
                "user_status_changed", lambda e, user_id=user.id: e.data["user_id"] == user_id
            )
        doomed.kill()
        await watcher.wait_for(
            "user_status_changed",
            lambda e: e.data == {**e.data, "user_id": alice.id, "status": "offline"},
            timeout=20,
        )
        # The reaper forgot the dead worker's connections in one step and has written alice's
        # "offline": a wrong one for bob would have been written before the barrier.
        await status_barrier(survivor.url, admin, watcher)
        # The survivor's relay resumes after the dead leader's stored cursor, so an event can
        # arrive twice: a client drops repeats by event_id, and so does this check.
        bob_changes = {
            item.meta["event_id"]: item.data["status"]
            for item in watcher.events("user_status_changed")
            if item.meta is not None and item.data["user_id"] == bob.id
        }
        assert list(bob_changes.values()) == ["online"]  # still connected to the survivor
        for tab in (alice_tab, bob_tab_doomed, bob_tab_survivor):
            await tab.close()
    finally:
        await watcher.close()


async def test_kill_9_mid_stream_clients_resume_on_the_other_worker_and_lose_nothing(
    start_worker: Callable[..., Worker], alice: User
) -> None:
    doomed, survivor = start_worker(), start_worker()
    readers = [Reader(alice.token) for _ in range(3)]
    for reader in readers:
        await reader.connect(doomed.url)
    written: list[int] = []

    async def write(count: int) -> None:
        for n in range(count):
            created = await create_log(survivor.url, alice, f"log {len(written)} {n}")
            written.append(int(str(created["id"])))

    await write(10)
    writer = asyncio.create_task(write(30))
    await wait_until("the writer to be mid-stream", lambda: len(written) >= 15)
    doomed.kill()  # mid-stream: the writer keeps going on the survivor
    for reader in readers:
        await reader.move(survivor.url)
    await writer
    await write(5)  # after the move: arrive live on the survivor
    try:
        # The survivor takes over the relay lease within PROCESS_TTL_SECONDS of the kill.
        await wait_until(
            "every log on every reader",
            lambda: all(r.log_ids() >= set(written) for r in readers),
            timeout=20,
        )
        for reader in readers:
            missed = set(written) - reader.log_ids()
            assert not missed, f"missed {sorted(missed)}"
            assert reader.late == 0
    finally:
        for reader in readers:
            await reader.close()


async def test_serve_with_two_workers_on_one_port_delivers_to_every_client(
    start_worker: Callable[..., Worker], alice: User
) -> None:
    """`mindwire serve --workers 2`: the kernel spreads connections over both processes."""
    server = start_worker(workers=2)
    clients = [await recording(server.url, alice, "memory_logs") for _ in range(8)]
    try:
        written = [await create_log(server.url, alice, f"log {n}") for n in range(10)]
        for client in clients:
            events = await client.wait_for("memory_log_created", count=10, timeout=15)
            assert [event.data for event in events] == written
    finally:
        for client in clients:
            await client.close()
