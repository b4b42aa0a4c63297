"""`SocketApp` on a real uvicorn server: a WebSocket on the Socket.IO path is served with a short
call chain, and goes through every check Engine.IO and python-socketio make on the way in.

Engine.IO's `handle_request` still runs whole for each WebSocket (origin, transport, the
session, the connect handler); only the serving of an accepted connection moves up to
`SocketApp`, so an idle connection does not keep Engine.IO's frames (`entry.py`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import socketio
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from src.transport.entry import SocketApp
from src.transport.fastpath import install, memory_manager
from tests.support import serving_in_thread

ALLOWED = "http://allowed.example"
REFUSED_TOKEN = "refused"


@dataclass
class Served:
    url: str
    sio: socketio.AsyncServer
    server: uvicorn.Server
    loop: asyncio.AbstractEventLoop

    def on_loop(self, call: Callable[[], Any]) -> Any:
        """`call()` run on the server's loop (its objects are not thread-safe), its result."""
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(call())
            except BaseException as exc:  # handed to the test's thread
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return done.result(timeout=10)


@pytest.fixture
def served() -> Iterator[Served]:
    sio = socketio.AsyncServer(
        async_mode="asgi", client_manager=memory_manager(), cors_allowed_origins=[ALLOWED]
    )
    install(sio, write_buffer_limit=1 << 20)

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> bool:
        return not (isinstance(auth, dict) and auth.get("token") == REFUSED_TOKEN)

    @sio.event
    async def echo(sid: str, data: Any) -> Any:
        return data

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        SocketApp(sio), log_level="warning", lifespan="off", ws_ping_interval=None
    )
    server = uvicorn.Server(config)
    loops: list[asyncio.AbstractEventLoop] = []

    async def startup(sockets: Any = None) -> None:
        loops.append(asyncio.get_running_loop())
        await original_startup(sockets=sockets)

    original_startup = server.startup
    server.startup = startup  # type: ignore[method-assign]
    with serving_in_thread(server, sock):
        url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
        yield Served(url, sio, server, loops[0])


def _frames(served: Served) -> list[str]:
    """The names of the coroutines the server's one ASGI task is suspended in, outermost first."""
    (task,) = served.server.server_state.tasks
    names = []
    awaited: Any = task.get_coro()
    while awaited is not None and hasattr(awaited, "cr_frame"):
        names.append(awaited.cr_code.co_qualname)
        awaited = awaited.cr_await
    return names


async def _until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, "the condition did not come true"
        await asyncio.sleep(0.01)


async def test_an_idle_connection_keeps_a_short_call_chain(served: Served) -> None:
    async with connect(served.url, origin=ALLOWED) as ws:  # type: ignore[arg-type]
        assert str(await ws.recv()).startswith("0{")  # Engine.IO OPEN
        await ws.send("40")
        assert str(await ws.recv()).startswith("40{")  # Socket.IO CONNECT accepted
        await ws.send('421["echo","hello"]')
        assert await ws.recv() == '431["hello"]'  # served: the ack came back
        frames = served.on_loop(lambda: _frames(served))
        # Below uvicorn's task (and its proxy-headers middleware): no frame of Engine.IO's
        # request handling, its WebSocket wrapper's `wait` or uvicorn's `receive`.
        assert frames[frames.index("SocketApp.__call__") :] == [
            "SocketApp.__call__",
            "DirectWebSocket._read_packets",
        ]


async def test_a_closed_connection_is_forgotten(served: Served) -> None:
    eio = served.sio.eio
    async with connect(served.url, origin=ALLOWED) as ws:  # type: ignore[arg-type]
        assert str(await ws.recv()).startswith("0{")
        await ws.send("40")
        assert str(await ws.recv()).startswith("40{")
        assert served.on_loop(lambda: len(eio.sockets)) == 1
    await _until(lambda: served.on_loop(lambda: len(eio.sockets)) == 0)
    manager: Any = served.sio.manager
    assert served.on_loop(lambda: len(manager.hub.links)) == 0


async def test_a_foreign_origin_is_still_refused(served: Served) -> None:
    with pytest.raises(InvalidStatus):
        async with connect(served.url, origin="http://elsewhere.example"):  # type: ignore[arg-type]
            pass
    assert served.on_loop(lambda: len(served.sio.eio.sockets)) == 0


async def test_the_connect_handler_still_decides(served: Served) -> None:
    async with connect(served.url, origin=ALLOWED) as ws:  # type: ignore[arg-type]
        assert str(await ws.recv()).startswith("0{")
        await ws.send('40{"token":"' + REFUSED_TOKEN + '"}')
        assert str(await ws.recv()).startswith("44")  # CONNECT_ERROR
