"""Sliced fan-outs on a live server: every client gets every event once, in order.

The slices are made tiny (2 recipients a pass, 1 link a flush slice) so that a handful of
sockets exercises what thousands do in production: writes, deliveries, flushes, replays and
holds interleave across many event-loop passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from src.transport import deliveries, fastpath
from tests import support
from tests.support import LiveServer, RecordingClient

WRITES = 40


def event_ids(client: RecordingClient) -> list[int]:
    return [int(item.args[1]["event_id"]) for item in client.events("notification")]


async def test_every_client_gets_every_event_once_in_order_under_slicing(
    live_server_factory: Callable[..., LiveServer],
    monkeypatch: pytest.MonkeyPatch,
    alice: support.TestUser,
    admin: support.TestUser,
) -> None:
    monkeypatch.setattr(deliveries, "EMIT_SLICE", 2)
    monkeypatch.setattr(fastpath, "EMIT_SLICE", 2)
    server = live_server_factory()
    hub = server.services.sockets.sio.manager.hub
    assert hub is not None
    hub.slice_size = 1
    hub.whole = 0  # every flush sliced, however small
    clients = []
    for user in (alice, admin) * 4:
        client = RecordingClient.create()
        await client.connect(server.url, user.token)
        assert (await client.call("subscribe_event", {"event_type": "notifications"}))["ok"]
        clients.append(client)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:

            async def writer(first: int) -> None:
                for n in range(first, WRITES, 4):
                    response = await api.post(
                        "/api/notifications", json={"message": f"n{n}"}, headers=admin.headers
                    )
                    assert response.status_code == 202

            async def resubscriber(client: RecordingClient) -> None:
                # Replays and holds while the deliveries go on: resubscribe from the last id.
                for _ in range(3):
                    await client.wait_for("notification", count=len(event_ids(client)) + 1)
                    since = event_ids(client)[-1]
                    answer = await client.call(
                        "subscribe_event", {"event_type": "notifications", "since": since}
                    )
                    assert answer["ok"]

            await asyncio.gather(*(writer(first) for first in range(4)), resubscriber(clients[0]))
        for client in clients:
            await client.wait_for("notification", count=WRITES, timeout=20)
        expected = event_ids(clients[1])
        assert len(expected) == WRITES and expected == sorted(set(expected))
        for client in clients:
            assert event_ids(client) == expected  # each once, in id order
    finally:
        for client in clients:
            await client.close()
