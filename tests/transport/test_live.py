"""The fast path on a live uvicorn server, against real python-socketio clients.

- the plain path (python-socketio's own fan-out) and the fast path deliver the same events,
  with the same payloads, to the same sockets, in the same order;
- a broadcast never overtakes a packet already waiting in the socket's Engine.IO queue;
- a reader that stops reading is disconnected once it is `SOCKET_WRITE_BUFFER_LIMIT` behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import socketio
from websockets.asyncio.client import connect as websocket_connect

from src.transport import links
from tests import support
from tests.support import LiveServer, Received, RecordingClient

VOLATILE = {
    "sid",
    "server_time",
    "created_at",
    "updated_at",
    "emitted_at",
    "changed_at",
    "id",
    "head",
}


class DirectWrites:
    """Counts broadcasts the fast path wrote below the queue (`Link.direct()` said yes)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = links.Link.direct

        def counting(link: links.Link) -> bool:
            answer = original(link)
            self.count += answer
            return answer

        monkeypatch.setattr(links.Link, "direct", counting)


async def open_client(server: LiveServer, user: support.TestUser) -> RecordingClient:
    client = RecordingClient.create()
    await client.connect(server.url, user.token)
    await client.wait_for("connection_established")
    return client


def normalized(items: list[Received]) -> list[Any]:
    """The events without what differs from run to run (times, sids, row ids, id offsets)."""
    first_id: int | None = None
    out: list[Any] = []
    for item in items:
        if item.event == "user_status_changed":  # presence: timing-dependent, left out
            continue
        args: list[Any] = []
        for arg in item.args:
            if isinstance(arg, dict):
                arg = {k: v for k, v in arg.items() if k not in VOLATILE}
                if "event_id" in arg:
                    first_id = arg["event_id"] if first_id is None else first_id
                    arg["event_id"] -= first_id
            args.append(arg)
        out.append((item.event, args))
    return out


async def transcript(
    server: LiveServer, alice: support.TestUser, admin: support.TestUser
) -> dict[str, Any]:
    """The same conversation, whatever the path: what alice and admin receive."""
    admin_sock = await open_client(server, admin)
    alice_sock = await open_client(server, alice)
    try:
        for sock in (admin_sock, alice_sock):
            for room in ("notifications", "memory_logs"):
                assert (await sock.call("subscribe_event", {"event_type": room}))["ok"]
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
            for message in ("plain", "héllo ✓ 🧠 " * 20, "x" * 2000):
                response = await api.post(
                    "/api/notifications", json={"message": message}, headers=admin.headers
                )
                assert response.status_code == 202
            await server.run_on_server(  # a frame with a 64-bit length
                server.services.emitter.emit_notification("y" * 70_000)
            )
            response = await api.post(
                "/api/memory-logs", json={"content": "a log"}, headers=alice.headers
            )
            assert response.status_code == 201
        # A write answers once committed, before its fan-out: the ping goes after the events
        # have arrived, so its `pong` has one place in the transcript whatever the timing.
        for sock in (admin_sock, alice_sock):
            await sock.wait_for("notification", count=4)
            await sock.wait_for("memory_log_created")
        assert (await alice_sock.call("ping", {"timestamp": 7}))["timestamp"] == 7
        await alice_sock.wait_for("pong")
        return {"admin": normalized(admin_sock.received), "alice": normalized(alice_sock.received)}
    finally:
        await alice_sock.close()
        await admin_sock.close()


async def test_plain_and_fast_paths_deliver_the_same_events(
    live_server_factory: Callable[..., LiveServer],
    monkeypatch: pytest.MonkeyPatch,
    alice: support.TestUser,
    admin: support.TestUser,
) -> None:
    direct_writes = DirectWrites(monkeypatch)
    transcripts = {}
    for mode in ("tasks", "direct"):
        monkeypatch.setenv("SOCKET_FANOUT", mode)
        server = live_server_factory()
        before = direct_writes.count
        transcripts[mode] = await transcript(server, alice, admin)
        used = direct_writes.count - before
        assert (used > 0) if mode == "direct" else (used == 0), (mode, used)
        server.should_exit = True  # the next run starts on the same database
        await asyncio.sleep(0.5)
    assert transcripts["direct"] == transcripts["tasks"]
    events = [name for name, _ in transcripts["direct"]["alice"]]
    assert events.count("notification") == 4 and "memory_log_created" in events


async def test_a_broadcast_never_overtakes_queued_packets(
    live_server_factory: Callable[..., LiveServer],
    monkeypatch: pytest.MonkeyPatch,
    alice: support.TestUser,
) -> None:
    monkeypatch.setenv("SOCKET_FANOUT", "direct")
    server = live_server_factory()
    sock = await open_client(server, alice)
    sid = sock.sio.get_sid()
    sio = server.services.sockets.sio

    async def queued_then_broadcast(passes: int) -> None:
        # A packet through Engine.IO's queue (as acks, pings and connect replies go), then,
        # `passes` event-loop passes later, two broadcasts: they must go out behind it. After
        # one pass the writer task has taken the packet from the queue (on Python 3.11 its
        # `wait_for` runs the `get` as a task of its own) but has not written it yet.
        eio_sid = sio.manager.eio_sid_from_sid(sid, "/")
        packet = sio.packet_class(socketio.packet.EVENT, namespace="/", data=["first", passes])
        await sio._send_packet(eio_sid, packet)
        for _ in range(passes):
            await asyncio.sleep(0)
        await sio.emit("second", passes, to=sid)
        await sio.emit("third", passes, to=f"user_{alice.id}")

    rounds = [passes for passes in range(4) for _ in range(3)]
    for passes in rounds:
        await server.run_on_server(queued_then_broadcast(passes))
    await sock.wait_for("third", count=len(rounds))
    sequence = [
        (item.event, item.args[0])
        for item in sock.received
        if item.event in {"first", "second", "third"}
    ]
    assert sequence == [(name, p) for p in rounds for name in ("first", "second", "third")]
    await sock.close()


async def test_a_client_that_upgrades_from_polling_gets_every_event_in_order(
    live_server_factory: Callable[..., LiveServer],
    monkeypatch: pytest.MonkeyPatch,
    alice: support.TestUser,
) -> None:
    """Events sent while a socket polls, upgrades, then takes the fast path: none lost."""
    direct_writes = DirectWrites(monkeypatch)
    monkeypatch.setenv("SOCKET_FANOUT", "direct")
    server = live_server_factory()
    client = RecordingClient.create()
    await client.sio.connect(
        server.url, auth={"token": alice.token}, transports=["polling", "websocket"]
    )
    try:
        assert (await client.call("subscribe_event", {"event_type": "notifications"}))["ok"]
        emitter = server.services.emitter
        for n in range(10):  # during (or before) the upgrade
            await server.run_on_server(emitter.emit_notification(f"n{n}"))
        for _ in range(100):
            if client.sio.eio.current_transport == "websocket":
                break
            await asyncio.sleep(0.05)
        assert client.sio.eio.current_transport == "websocket"
        for n in range(10, 20):  # after it: below the queue
            await server.run_on_server(emitter.emit_notification(f"n{n}"))
        received = await client.wait_for("notification", count=20)
        assert [item.data["message"] for item in received] == [f"n{n}" for n in range(20)]
        assert direct_writes.count > 0
    finally:
        await client.close()


async def test_a_reader_that_stops_reading_is_cut_off_at_the_limit(
    live_server_factory: Callable[..., LiveServer],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    alice: support.TestUser,
) -> None:
    monkeypatch.setenv("SOCKET_FANOUT", "direct")
    monkeypatch.setenv("SOCKET_WRITE_BUFFER_LIMIT", str(256 * 1024))
    server = live_server_factory()
    sio = server.services.sockets.sio
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window
    raw.connect(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    # max_queue=1: the client library stops reading the socket once one message waits.
    async with websocket_connect(url, sock=raw, max_queue=1, max_size=None) as ws:
        assert (await ws.recv()).startswith("0")  # Engine.IO open
        await ws.send("40" + json.dumps({"token": alice.token}))
        assert (await ws.recv()).startswith("40")  # Socket.IO connected
        greeting = await ws.recv()
        assert "connection_established" in greeting
        sid = greeting.split('"sid":"', 1)[1].split('"', 1)[0]
        assert sio.manager.is_connected(sid, "/")
        blob = "z" * 64 * 1024

        async def flood() -> int:
            sent = 0
            while sio.manager.is_connected(sid, "/") and sent < 2000:
                await sio.emit("blob", blob, to=sid)
                sent += 1
                await asyncio.sleep(0)
            return sent

        with caplog.at_level(logging.WARNING, logger="mindwire.events"):
            sent = await server.run_on_server(flood())
        for _ in range(100):
            if not sio.manager.is_connected(sid, "/"):
                break
            await asyncio.sleep(0.05)
        assert not sio.manager.is_connected(sid, "/"), f"still connected after {sent} blobs"
        # Cut off by the link, well before everything was buffered (2000 blobs: 128 MiB).
        assert "bytes behind (SOCKET_WRITE_BUFFER_LIMIT=262144)" in caplog.text
        assert sent < 2000
        with contextlib.suppress(Exception):
            await ws.close()
