"""Proving that an event did *not* arrive, without sleeping.

The relay delivers events in id order. `settle` writes a barrier event after the event under
test and waits until a watcher socket has it: by then the relay has handled every earlier event,
so each socket that was to get one has it queued. A ping to each socket then answers behind
whatever was queued for it. When every ack is back, anything the sockets were going to receive
has arrived, and "nothing arrived" is a fact, not a guess that a sleep was long enough.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.support import RecordingClient, TestUser


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
