"""`head` in the `subscribe_event` ack and in `subscribed`: where live delivery takes over.

Every event of the room with an id above `head` reaches the socket (live, or by the replay);
none at or below it comes live after the ack. The reader is an admin: its own `user_{id}` room
does not carry alice's logs, so all it gets of them comes through the subscription under test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from src.cluster.relay import Deliver, EventRelay
from src.events.log import LoggedEvent
from src.events.models import EventRecord
from tests.barrier import settle
from tests.support import LiveServer, RecordingClient, TestUser

Connect = Callable[..., Awaitable[RecordingClient]]


async def newest_event_id(session: AsyncSession) -> int:
    await session.commit()
    return int(await session.scalar(select(func.max(EventRecord.id))) or 0)


async def write_log(api: httpx.AsyncClient, user: TestUser, content: str) -> dict[str, Any]:
    response = await api.post("/api/memory-logs", json={"content": content}, headers=user.headers)
    assert response.status_code == 201, response.text
    log: dict[str, Any] = response.json()
    return log


async def subscribe(sock: RecordingClient, **body: Any) -> dict[str, Any]:
    """Subscribe to `memory_logs`; the ack, checked against the `subscribed` reply."""
    ack: dict[str, Any] = await sock.call("subscribe_event", {"event_type": "memory_logs", **body})
    assert ack["ok"] is True, ack
    [reply] = await sock.wait_for("subscribed")
    assert reply.data["head"] == ack["head"]
    return ack


async def listed_position(
    api: httpx.AsyncClient, admin: TestUser, user: TestUser
) -> tuple[int, dict[str, Any]]:
    """The `position` of `user`'s logs as the admin lists them, and that page."""
    response = await api.get("/api/memory-logs", params={"user_id": user.id}, headers=admin.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return int(page["position"]), page


def log_ids(sock: RecordingClient) -> list[int]:
    return [event.data["id"] for event in sock.events("memory_log_created")]


async def test_head_without_since_is_where_live_delivery_starts(
    connect: Connect, api: httpx.AsyncClient, db_session: AsyncSession, alice, admin
):
    watcher = await connect(admin)
    await subscribe(watcher)
    before = await write_log(api, alice, "before")
    [seen] = await watcher.wait_for("memory_log_created")  # sent live: it is behind the head

    sock = await connect(admin)
    ack = await subscribe(sock)
    after = await write_log(api, alice, "after")
    [live] = await sock.wait_for("memory_log_created")
    await settle(connect, api, admin, sock)

    assert seen.meta["event_id"] <= ack["head"] <= await newest_event_id(db_session)
    assert live.meta["event_id"] > ack["head"]
    assert log_ids(sock) == [after["id"]]  # not `before`: it is at or below the head
    assert before["id"] != after["id"]


async def test_head_with_an_older_since_is_the_join_and_the_rest_is_replayed(
    connect: Connect, api: httpx.AsyncClient, alice, admin
):
    watcher = await connect(admin)
    await subscribe(watcher)
    first = await write_log(api, alice, "first")
    [sent] = await watcher.wait_for("memory_log_created")

    sock = await connect(admin)
    ack = await subscribe(sock, since=sent.meta["event_id"] - 1)

    assert ack["replayed"] == 1 and log_ids(sock) == [first["id"]]
    assert ack["head"] >= sent.meta["event_id"]


async def test_head_with_a_since_past_the_log_stops_at_the_log(
    connect: Connect, api: httpx.AsyncClient, alice, admin
):
    await write_log(api, alice, "old")
    sock = await connect(admin)
    page = await api.get("/api/memory-logs", headers=alice.headers)

    ack = await subscribe(sock, since=2**62)
    newer = await write_log(api, alice, "new")
    [live] = await sock.wait_for("memory_log_created")

    assert page.json()["position"] <= ack["head"] < live.meta["event_id"]
    assert live.data["id"] == newer["id"]


async def _pause(relay: EventRelay) -> tuple[asyncio.Event, Deliver]:
    """On the server's loop: the relay waits for the returned gate before each delivery."""
    gate = asyncio.Event()
    deliver = relay.deliver

    async def gated(logged: LoggedEvent) -> None:
        await gate.wait()
        await deliver(logged)

    relay.deliver = gated
    return gate, deliver


async def _resume(relay: EventRelay, gate: asyncio.Event, deliver: Deliver) -> None:
    relay.deliver = deliver
    gate.set()


async def test_since_ahead_of_the_relay_drops_the_late_live_copy(
    live_server: LiveServer, connect: Connect, api: httpx.AsyncClient, alice, admin
):
    """A list can include a write whose event the relay has not sent yet. A socket that
    subscribes with the list's position must not get that event live afterwards (a repeat);
    one that subscribes without `since` gets it (it is above its head)."""
    relay = live_server.services.relay
    gate, deliver = await live_server.run_on_server(_pause(relay))
    try:
        held = await write_log(api, alice, "committed, not yet sent")
        position, page = await listed_position(api, admin, alice)
        assert held["id"] in [item["id"] for item in page["items"]]
        from_list = await connect(admin)
        listed_ack = await subscribe(from_list, since=position)
        plain = await connect(admin)
        plain_ack = await subscribe(plain)
    finally:
        await live_server.run_on_server(_resume(relay, gate, deliver))
    later = await write_log(api, alice, "after the gate opened")
    await from_list.wait_for("memory_log_created", lambda e: e.data["id"] == later["id"])
    await plain.wait_for("memory_log_created", lambda e: e.data["id"] == later["id"])

    assert (listed_ack["head"], listed_ack["replayed"]) == (position, 0)
    assert plain_ack["head"] < position
    assert log_ids(from_list) == [later["id"]]
    assert log_ids(plain) == [held["id"], later["id"]]
