"""Recovery offsets on the broadcast path: a socket with recovery on gets each room event with
its offset, the others without, on every fan-out mode; the event is encoded once per kind of
recipient per emit (at most twice), whatever the number of sockets."""

from __future__ import annotations

from typing import Any

import pytest
import socketio

from src.transport import fastpath
from tests.support import LiveServer, Received, RecordingClient, TestUser

SOCKETS = 6


class Encodes:
    """Counts `FanoutManager._encode` calls for `notification` (each builds its packets once)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = fastpath.FanoutManager._encode

        def counting(manager: fastpath.FanoutManager, *args: Any) -> Any:
            # Only the notification: a socket's `online` status may go out meanwhile.
            self.count += args[1] == "notification"
            return original(manager, *args)

        monkeypatch.setattr(fastpath.FanoutManager, "_encode", counting)


async def subscribed(server: LiveServer, user: TestUser, recover: bool) -> RecordingClient:
    client = RecordingClient(socketio.AsyncClient(reconnection=False))

    async def record(event: str, *args: Any) -> None:
        async with client._changed:
            client.received.append(Received(event, args))
            client._changed.notify_all()

    client.sio.on("*", handler=record)
    auth = {"token": user.token, "recover": recover}
    await client.sio.connect(server.url, auth=auth, transports=["websocket"], wait_timeout=5)
    await client.wait_for("connection_established")
    assert (await client.call("subscribe_event", {"event_type": "notifications"}))["ok"]
    return client


@pytest.mark.parametrize("mode", ["direct", "sequential", "tasks"])
@pytest.mark.parametrize("with_offsets", [0, 3, SOCKETS])
async def test_a_broadcast_is_encoded_once_per_kind_of_socket(
    live_server_factory, alice, monkeypatch, mode, with_offsets
):
    server = live_server_factory(socket_fanout=mode)
    clients = [await subscribed(server, alice, recover=n < with_offsets) for n in range(SOCKETS)]
    encodes = Encodes(monkeypatch)
    try:
        await server.run_on_server(server.services.emitter.emit_notification("to everyone"))
        for n, client in enumerate(clients):
            [event] = await client.wait_for("notification")
            meta = event.args[1]
            expected = (event.data, meta, str(meta["event_id"])) if n < with_offsets else None
            assert event.args == (expected or (event.data, meta))
        if mode != "tasks":  # `tasks` is python-socketio's own fan-out: one emit per kind
            assert encodes.count == (with_offsets > 0) + (with_offsets < SOCKETS)
    finally:
        for client in clients:
            await client.close()
