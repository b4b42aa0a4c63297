"""Attacks on the Socket.IO/Engine.IO door, from outside, with raw WebSocket clients.

Each attack runs against a server in a process of its own (`mindwire serve`, so uvicorn gets
the options it gets in production) and measures what the server did: its resident memory,
its open file descriptors, the bytes it logged. Every attack is bounded in time. "The
server processed everything sent" is proven by a barrier (an answer sent after the attack's
frames, or the server closing the connection), never by a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.hostile import ServerProcess, report
from tests.support import RecordingClient

MIB = 1024 * 1024


def socket_url(server: ServerProcess) -> str:
    return server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"


def open_fds(server: ServerProcess) -> int:
    """File descriptors the server process holds open now."""
    assert server.process is not None
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


async def engineio_open(server: ServerProcess, **options: Any) -> ClientConnection:
    """A raw WebSocket with the Engine.IO handshake done (no Socket.IO CONNECT yet)."""
    ws = await websocket_connect(
        socket_url(server), compression=None, max_size=None, open_timeout=10, **options
    )
    opened = await ws.recv()
    assert isinstance(opened, str) and opened.startswith("0"), opened
    return ws


async def signed_in(server: ServerProcess, token: str) -> ClientConnection:
    """A raw WebSocket past the Socket.IO CONNECT, authenticated with `token`."""
    ws = await engineio_open(server)
    await ws.send("40" + json.dumps({"token": token}))
    while not (message := await ws.recv()).startswith("40"):
        assert isinstance(message, str) and message.startswith("42"), message
    return ws


async def closed_by_server(ws: ClientConnection, timeout: float = 10) -> list[str | bytes]:
    """Read until the server closes the connection; returns what arrived before."""
    received: list[str | bytes] = []
    async with asyncio.timeout(timeout):
        with contextlib.suppress(ConnectionClosed):
            while True:
                received.append(await ws.recv())
    return received


async def answer_or_close(ws: ClientConnection, prefix: str, timeout: float = 30) -> str | None:
    """The first message starting with `prefix`, or None when the server closed first."""
    async with asyncio.timeout(timeout):
        try:
            while True:
                message = await ws.recv()
                if isinstance(message, str) and message.startswith(prefix):
                    return message
        except ConnectionClosed:
            return None


@contextlib.asynccontextmanager
async def sockets_closed(sockets: list[ClientConnection]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


# -- 1. binary attachments ---------------------------------------------------------------------


async def send_attachments(ws: ClientConnection, header: str, frames: int, size: int) -> int:
    """Send `header` then up to `frames` binary frames of `size` bytes; returns how many went
    out before the server closed the connection (a closed connection refuses writes)."""
    chunk = b"\x00" * size
    await ws.send(header)
    sent = 0
    with contextlib.suppress(ConnectionClosed):
        for _ in range(frames):
            await ws.send(chunk)
            sent += 1
    return sent


async def test_announcing_billions_of_attachments_is_closed_at_the_header(
    server_process, alice, stack
):
    server = server_process()
    ws = await signed_in(server, alice.token)
    before = server.rss_mib()
    started = time.monotonic()
    header = '459999999999-["ping",{"_placeholder":true,"num":0}]'
    async with sockets_closed([ws]):
        sent = await send_attachments(ws, header, frames=200, size=MIB)
        growth = server.rss_mib() - before
        report(
            f"attachments 9,999,999,999 announced + 1 MiB frames ({stack}): {sent} frames sent "
            f"before the close, RSS +{growth:.0f} MiB in {time.monotonic() - started:.1f}s"
        )
        await closed_by_server(ws)
    assert growth < 40, growth
    assert sent < 200


async def test_attachments_past_the_message_limit_are_refused_while_arriving(
    server_process, alice, stack
):
    server = server_process()
    ws = await signed_in(server, alice.token)
    before = server.rss_mib()
    placeholders = ",".join(f'{{"_placeholder":true,"num":{n}}}' for n in range(10))
    header = f'4510-["ping",[{placeholders}]]'  # within MAX_ATTACHMENTS_PER_MESSAGE
    async with sockets_closed([ws]):
        sent = await send_attachments(ws, header, frames=10, size=600 * 1024)
        growth = server.rss_mib() - before
        report(f"10 attachments of 600 KiB ({stack}): {sent} sent, RSS +{growth:.0f} MiB")
        received = await closed_by_server(ws)
    # Closed while arriving: the message was never assembled, so never answered.
    assert not [m for m in received if isinstance(m, str) and m.startswith('42["error"')]
    assert growth < 40, growth


async def test_too_many_attachments_close_the_connection(server_process, alice):
    server = server_process(MAX_ATTACHMENTS_PER_MESSAGE="2")
    ws = await signed_in(server, alice.token)
    async with sockets_closed([ws]):
        await ws.send('453-["ping",[1,2,3]]')
        received = await closed_by_server(ws)
    assert not [m for m in received if isinstance(m, str) and m.startswith("43")], received


async def test_binary_messages_within_the_limits_are_answered(server_process, alice):
    server = server_process(MAX_ATTACHMENTS_PER_MESSAGE="3")
    ws = await signed_in(server, alice.token)
    async with sockets_closed([ws]):
        placeholders = ",".join(f'{{"_placeholder":true,"num":{n}}}' for n in range(3))
        await ws.send(f'453-1["ping",{{"timestamp":1,"blobs":[{placeholders}]}}]')
        for _ in range(3):
            await ws.send(b"\x01" * 1000)
        ack = await answer_or_close(ws, "431")
        assert ack is not None
        assert json.loads(ack[3:])[0]["timestamp"] == 1, ack  # ping ignores the extra field


# -- 2. sessions that never complete the Socket.IO CONNECT -------------------------------------


async def fds_settled(server: ServerProcess, baseline: int, timeout: float = 15) -> int:
    """The server's descriptors over `baseline` once back within 5 of it (or at `timeout`):
    its side of a connection closes a moment after the client's side does."""
    deadline = time.monotonic() + timeout
    while (extra := open_fds(server) - baseline) > 5 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    return extra


async def open_pending(server: ServerProcess, count: int) -> tuple[list[ClientConnection], int]:
    """Open `count` Engine.IO WebSockets that never send the Socket.IO CONNECT."""
    opened: list[ClientConnection] = []
    refused = 0
    for _ in range(count):
        try:
            opened.append(await engineio_open(server, ping_interval=None))
        except (InvalidStatus, ConnectionClosed, OSError):
            refused += 1
    return opened, refused


# Both WebSocket handlers: the fast path's (`direct`) and Engine.IO's own (`tasks`).
FANOUTS = pytest.mark.parametrize("fanout", ["direct", "tasks"])


@FANOUTS
async def test_sessions_without_connect_are_capped_and_timed_out(
    server_process, alice, stack, fanout
):
    server = server_process(
        SOCKET_CONNECT_TIMEOUT_SECONDS="2",
        MAX_PENDING_CONNECTIONS_PER_ADDRESS="50",
        SOCKET_FANOUT=fanout,
    )
    baseline = open_fds(server)
    opened, refused = await open_pending(server, 120)
    async with sockets_closed(opened):
        held = open_fds(server) - baseline
        started = time.monotonic()
        # Each socket keeps answering the server; the server must close it anyway.
        results = await asyncio.gather(
            *(closed_by_server(ws, timeout=15) for ws in opened), return_exceptions=True
        )
        closed = sum(not isinstance(result, BaseException) for result in results)
        waited = time.monotonic() - started
    left = await fds_settled(server, baseline)
    report(
        f"120 WebSockets without CONNECT ({stack}, {fanout}): {len(opened)} accepted, "
        f"{refused} refused, server fds +{held} while open, {closed} closed by the server "
        f"in {waited:.1f}s, fds left +{left}"
    )
    assert len(opened) == 50 and refused == 70
    assert closed == len(opened)
    assert left <= 5
    client = RecordingClient.create()  # a real client still gets in afterwards
    await client.connect(server.url, alice.token)
    try:
        await client.wait_for("connection_established")
    finally:
        await client.close()


async def test_a_connected_client_is_not_timed_out(server_process, alice):
    server = server_process(SOCKET_CONNECT_TIMEOUT_SECONDS="1")
    ws = await signed_in(server, alice.token)
    async with sockets_closed([ws]):
        await asyncio.sleep(2)  # past the connect timeout: the signed-in socket stays
        await ws.send('421["ping",{"timestamp":7}]')
        ack = await answer_or_close(ws, "431")
    assert ack is not None and json.loads(ack[3:])[0]["timestamp"] == 7


# -- 3. huge WebSocket frames that never end ---------------------------------------------------


async def send_unfinished_frame(url: str, size: int) -> asyncio.StreamWriter:
    """A WebSocket handshake, then a binary frame announcing `size` bytes that sends all
    but the last. Raw TCP: a WebSocket library would not send an unfinished frame."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        + f"Host: {host}:{port}\r\n".encode()
        + b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101"), response
    writer.write(struct.pack("!BBQ", 0x82, 0x80 | 127, size) + b"\x00\x00\x00\x00")
    chunk = b"\x00" * MIB
    with contextlib.suppress(ConnectionError):
        for offset in range(0, size - 1, MIB):
            writer.write(chunk[: min(MIB, size - 1 - offset)])
            await writer.drain()
    return writer


async def test_unfinished_huge_frames_do_not_grow_server_memory(server_process, stack):
    server = server_process()
    before = server.rss_mib()
    started = time.monotonic()
    writers = await asyncio.gather(
        *(send_unfinished_frame(server.url, 15 * MIB) for _ in range(20))
    )
    sent = time.monotonic() - started
    growth = server.rss_mib() - before
    for writer in writers:
        writer.close()
    report(
        f"20 WebSockets each sending a 15 MiB frame minus its last byte ({stack}): "
        f"RSS +{growth:.0f} MiB ({sent:.1f}s)"
    )
    assert growth < 60, growth


# -- 4. a log line per connection, not a traceback per packet ----------------------------------


def log_bytes(server: ServerProcess) -> int:
    return Path(server.log_path).stat().st_size


@FANOUTS
async def test_unknown_packet_types_log_one_line_per_connection(server_process, stack, fanout):
    server = server_process(LOG_LEVEL="INFO", SOCKET_FANOUT=fanout)
    before = log_bytes(server)
    ws = await engineio_open(server)
    async with sockets_closed([ws]):
        with contextlib.suppress(ConnectionClosed):
            for n in range(10_000):
                await ws.send("47")
                if n % 500 == 0:
                    await asyncio.sleep(0)
            await ws.send("40")  # barrier: answered after every frame before it
        answer = await answer_or_close(ws, "4")
    logged = log_bytes(server) - before
    report(f"10,000 frames '47' from one connection ({stack}, {fanout}): {logged} bytes of log")
    assert answer is None  # the server closed the connection: nothing was acknowledged
    assert logged < 1000, server.log()[-2000:]


# -- 5. malformed packets are a protocol error, odd content is answered ------------------------

MALFORMED = {
    "truncated JSON": '421["ping",{"timestamp":1}',
    "not an array": '421{"timestamp":1}',
    "ack id followed by letters": '4212abc["ping",{"timestamp":1}]',
    "no event name": "421[]",
    "a number as the name": "421[5]",
}


@pytest.mark.parametrize("packet", list(MALFORMED.values()), ids=list(MALFORMED))
async def test_malformed_packets_close_the_connection_unanswered(server_process, alice, packet):
    server = server_process()
    ws = await signed_in(server, alice.token)
    async with sockets_closed([ws]):
        await ws.send(packet)
        received = await closed_by_server(ws)
    answers = [m for m in received if isinstance(m, str) and m.startswith(("43", '42["error"'))]
    assert answers == [], answers


@pytest.mark.parametrize("num", ["5", "-1", '"0"', "1.0"])
async def test_placeholders_out_of_range_close_the_connection(server_process, alice, num):
    server = server_process()
    ws = await signed_in(server, alice.token)
    async with sockets_closed([ws]):
        await ws.send(f'451-1["ping",{{"timestamp":{{"_placeholder":true,"num":{num}}}}}]')
        await ws.send(b"\x01\x02")
        received = await closed_by_server(ws)
    assert not [m for m in received if isinstance(m, str) and m.startswith("43")], received


@pytest.mark.parametrize(
    "content",
    [
        '"subscribe_event",{"event_type":"memory_logs","since":' + "9" * 200 + "}",
        '"ping",' + "[" * 5000 + "]" * 5000,
    ],
    ids=["integer of 200 digits", "nested too deep"],
)
async def test_odd_content_in_well_formed_packets_is_still_answered(server_process, alice, content):
    server = server_process()
    ws = await signed_in(server, alice.token)
    async with sockets_closed([ws]):
        await ws.send(f"421[{content}]")
        ack = await answer_or_close(ws, "431")
        assert ack is not None
        assert json.loads(ack[3:])[0]["error"]["code"] == "validation_error", ack[:200]
        await ws.send('422["ping",{"timestamp":2}]')
        assert await answer_or_close(ws, "432") is not None


@pytest.mark.parametrize("name", ["connect", "disconnect"])
async def test_reserved_event_names_are_answered_with_an_error(server_process, alice, name):
    server = server_process()
    ws = await signed_in(server, alice.token)
    async with sockets_closed([ws]):
        await ws.send(f'421["{name}",{{"token":"x"}}]')
        ack = await answer_or_close(ws, "431")
        assert ack is not None
        body = json.loads(ack[3:])[0]
        assert body["ok"] is False and body["error"]["code"] == "unknown_event", body


ENGINEIO_GARBAGE = {
    "empty text frame": "",
    "unknown Engine.IO type": "x",
    "bad base64": "b!!!",
    "empty Socket.IO packet": "4",
    "binary frame no packet announced": "b" + "AAEC",
    "JSON nested too deep": "4" + "[" * 100_000,
}


@pytest.mark.parametrize("frame", list(ENGINEIO_GARBAGE.values()), ids=list(ENGINEIO_GARBAGE))
async def test_engineio_garbage_closes_with_one_line_and_no_traceback(server_process, frame):
    server = server_process(LOG_LEVEL="INFO")
    ws = await engineio_open(server)
    async with sockets_closed([ws]):
        for _ in range(100):
            with contextlib.suppress(ConnectionClosed):
                await ws.send(frame)
        await closed_by_server(ws)
    log = server.log()
    assert "Traceback" not in log, log[-2000:]
    assert log.count("closing connection") == 1, log[-2000:]
