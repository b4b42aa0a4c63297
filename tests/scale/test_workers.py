"""Two real `mindwire serve` processes on one PostgreSQL and one Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from tests.scale.workers import NeverMissClient, Worker
from tests.support import RecordingClient
from tests.support import TestUser as User


async def create_log(url: str, user: User, content: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.post(
            "/api/memory-logs", json={"content": content}, headers=user.headers
        )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def logs_received(reader: NeverMissClient) -> set[int]:
    return {
        item["data"]["id"] for item in reader.seen.values() if item["event"] == "memory_log_created"
    }


async def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110  (polls state that socket callbacks change)
            await asyncio.sleep(0.05)


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
    start_worker: Callable[..., Worker], alice: User, admin: User
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
        await tab_one.close()
        await asyncio.sleep(1.0)  # time for a wrong "offline" to arrive, if there were one
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
        await asyncio.sleep(1.0)
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
    readers = [NeverMissClient(alice.token) for _ in range(3)]
    for reader in readers:
        await reader.connect(doomed.url)
    written: list[int] = []

    async def write(count: int) -> None:
        for n in range(count):
            created = await create_log(survivor.url, alice, f"log {len(written)} {n}")
            written.append(int(str(created["id"])))

    await write(10)
    writer = asyncio.create_task(write(30))
    await asyncio.sleep(0.3)
    doomed.kill()  # mid-stream: the writer keeps going on the survivor
    for reader in readers:
        await reader.reconnect(survivor.url)
    await writer
    await write(5)  # after the move: arrive live on the survivor
    try:
        # The survivor takes over the relay lease within PROCESS_TTL_SECONDS of the kill.
        await wait_until(lambda: all(logs_received(r) >= set(written) for r in readers), 20)
        for reader in readers:
            missed = set(written) - logs_received(reader)
            assert not missed, f"missed {sorted(missed)}"
            assert reader.late == 0
    finally:
        for reader in readers:
            await reader.drop()


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
