"""Proving that an event did *not* arrive, without sleeping.

The relay delivers events in id order. `settle` writes a barrier event after the event under
test and waits until a watcher socket has it: by then the relay has handled every earlier event,
so each socket that was to get one has it queued. A ping to each socket then answers behind
whatever was queued for it. When every ack is back, anything the sockets were going to receive
has arrived, and "nothing arrived" is a fact, not a guess that a sleep was long enough.

A disconnect is the one thing a barrier cannot follow: the client's `close()` returns before
the server has handled it. `disconnects_done` waits for the server's own count of the user's
connections, then for the follow-ups (a status change) it started: a barrier written after
that comes after anything the disconnect wrote.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.support import LiveServer, RecordingClient, TestUser


async def settle(
    connect: Callable[..., Awaitable[RecordingClient]],
    api: httpx.AsyncClient,
    admin: TestUser,
    *socks: RecordingClient,
) -> None:
    """Return once every event written so far has reached each of `socks` that it was for."""
    watcher = await connect(admin)  # in its own user_{admin} room only
    message = f"barrier {uuid.uuid4().hex}"
    body: dict[str, Any] = {
        "message": message,
        "level": "info",
        "audience": "user",
        "user_id": admin.id,
    }
    response = await api.post("/api/notifications", json=body, headers=admin.headers)
    assert response.status_code == 202, response.text
    await watcher.wait_for("notification", lambda e: e.data["message"] == message)
    for sock in socks:
        ack = await sock.call("ping", {"timestamp": 0})
        assert "server_time" in ack, ack
    await watcher.close()


async def disconnects_done(
    live_server: LiveServer, user_id: int, connections: int, timeout: float = 10.0
) -> None:
    """Wait until the server counts `connections` sockets of `user_id` and has finished the
    follow-ups of the connects and disconnects it saw (they may write a status change)."""
    presence, gateway = live_server.services.presence, live_server.services.gateway

    async def counted() -> int:
        return await live_server.run_on_server(presence.connections(user_id))

    try:
        async with asyncio.timeout(timeout):
            # Disconnects reach the server a moment after the clients close.
            while await counted() != connections:  # noqa: ASYNC110  (polls the server's count)
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"user {user_id} never had {connections} connections") from None
    await live_server.run_on_server(gateway.drain())
