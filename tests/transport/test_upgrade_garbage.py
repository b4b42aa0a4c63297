"""A WebSocket upgrade leaves no garbage cycle behind: the HTTP protocol that parsed the
upgrade request is freed by its reference count once the WebSocket protocol has the
connection, not by a later full collection (`slow_http.py`).

Under a connect burst those cycles (the protocol, httptools' parser holding its bound
methods, the flow control: ~15 objects a connection) were promoted into the oldest
generation by the thousands and made the collector's full passes both more frequent and
longer, and the RSS after the burst higher.
"""

from __future__ import annotations

import functools
import gc
import socket
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.asyncio.client import connect

from src.transport.slow_http import HttpToolsDeadlineProtocol
from tests.support import serving_in_thread


async def echo_app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]):
    """A WebSocket that echoes each text message."""
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message["text"]})


@pytest.fixture
def collector_off() -> Iterator[None]:
    """Only reference counts free objects while the test runs."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def serve(
    protocol: type[HttpToolsProtocol],
) -> tuple[uvicorn.Server, socket.socket, list[weakref.ref[Any]]]:
    """A uvicorn server on `protocol` (with the deadlines' arguments when it takes them), and
    weak references to each HTTP protocol it creates."""
    made: list[weakref.ref[Any]] = []
    kwargs = {"header_timeout": 5.0, "body_timeout": 5.0}
    takes_deadlines = protocol is not HttpToolsProtocol
    factory = functools.partial(protocol, **kwargs) if takes_deadlines else protocol

    def tracked(**options: Any) -> Any:
        instance = factory(**options)
        made.append(weakref.ref(instance))
        return instance

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(echo_app, http=tracked, log_level="warning", lifespan="off")
    return uvicorn.Server(config), sock, made


async def upgraded_and_echoed(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/") as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello"


async def test_the_upgraded_http_protocol_is_freed_without_the_collector(collector_off) -> None:
    server, sock, made = serve(HttpToolsDeadlineProtocol)
    with serving_in_thread(server, sock):
        await upgraded_and_echoed(sock.getsockname()[1])
        assert len(made) == 1
        assert made[0]() is None  # freed while the WebSocket is still being served


async def test_uvicorns_own_protocol_leaves_it_to_the_collector(collector_off) -> None:
    """The probe is not blind: uvicorn's protocol alone keeps the cycle until a collection."""
    server, sock, made = serve(HttpToolsProtocol)
    with serving_in_thread(server, sock):
        await upgraded_and_echoed(sock.getsockname()[1])
        assert len(made) == 1 and made[0]() is not None
        gc.collect()
        assert made[0]() is None
