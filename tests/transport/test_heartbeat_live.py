"""The fast path's heartbeat and reader timeout on a real uvicorn server, with short intervals.

Engine.IO's pings come from one `Heartbeat` and each reader's timeout from the hub's shared
`Deadlines`, not from a task and a timer per connection: a client that answers the pings
stays connected, one that goes silent is closed after the ping interval plus timeout.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest
import socketio
import uvicorn
from websockets.asyncio.client import connect

from src.transport.fastpath import install, memory_manager
from tests.support import serving_in_thread

PING_INTERVAL = 0.2
PING_TIMEOUT = 0.3


@pytest.fixture
def url() -> Iterator[str]:
    """A bare python-socketio server with the fast path installed, in a thread."""
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=memory_manager(),
        ping_interval=PING_INTERVAL,
        ping_timeout=PING_TIMEOUT,
    )
    install(sio, write_buffer_limit=1 << 20)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        socketio.ASGIApp(sio), log_level="warning", lifespan="off", ws_ping_interval=None
    )
    with serving_in_thread(uvicorn.Server(config), sock):
        yield f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"


async def test_a_client_that_answers_the_pings_stays_connected(url: str) -> None:
    async with connect(url) as ws:
        assert str(await ws.recv()).startswith("0{")  # Engine.IO OPEN
        started = time.monotonic()
        for _ in range(4):  # 4 pings: well past the ping interval plus timeout
            assert await asyncio.wait_for(ws.recv(), 5) == "2"
            await ws.send("3")
        assert time.monotonic() - started > PING_INTERVAL + PING_TIMEOUT
        await ws.send("3")  # a stray pong is ignored: the connection is still open
        assert await asyncio.wait_for(ws.recv(), 5) == "2"


async def test_a_silent_client_is_closed_after_the_ping_interval_plus_timeout(url: str) -> None:
    async with connect(url) as ws:
        assert str(await ws.recv()).startswith("0{")
        started = time.monotonic()
        assert await asyncio.wait_for(ws.recv(), 5) == "2"  # never answered
        await asyncio.wait_for(ws.wait_closed(), 10)
        assert time.monotonic() - started >= PING_INTERVAL + PING_TIMEOUT - 0.05
