"""`SocketApp` on a real uvicorn server: a WebSocket on the Socket.IO path is served with a short
call chain, and goes through every check Engine.IO and python-socketio make on the way in.

Engine.IO's `handle_request` still runs whole for each WebSocket (origin, transport, the
session, the connect handler); only the serving of an accepted connection moves up to
`SocketApp`, so an idle connection does not keep Engine.IO's frames (`entry.py`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import socketio
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from src.app.serving import uvicorn_options
from src.core.config import Settings
from src.transport.entry import SocketApp
from src.transport.fastpath import install, memory_manager
from src.transport.forwarded import TrustedProxies
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
        if isinstance(auth, dict) and auth.get("token") == REFUSED_TOKEN:
            return False
        scope = environ["asgi.scope"]
        seen = {"client": scope["client"], "scheme": scope["scheme"]}
        await sio.save_session(sid, {"scope": seen})
        return True

    @sio.event
    async def echo(sid: str, data: Any) -> Any:
        return data

    @sio.event
    async def whoami(sid: str) -> Any:
        scope = (await sio.get_session(sid))["scope"]
        return [list(scope["client"]), scope["scheme"]]

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        SocketApp(sio),
        log_level="warning",
        lifespan="off",
        ws_ping_interval=None,
        proxy_headers=False,  # as `uvicorn_options`: `SocketApp` applies them
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
        # Below uvicorn's task: no proxy-headers middleware, no frame of Engine.IO's request
        # handling, its WebSocket wrapper's `wait` or uvicorn's `receive`.
        assert frames == [
            "WebSocketsSansIOProtocol.run_asgi",
            "SocketApp.__call__",
            "DirectWebSocket._read_packets",
        ]


async def _whoami(served: Served, headers: dict[str, str]) -> Any:
    async with connect(served.url, origin=ALLOWED, additional_headers=headers) as ws:  # type: ignore[arg-type]
        assert str(await ws.recv()).startswith("0{")
        await ws.send("40")
        assert str(await ws.recv()).startswith("40{")
        await ws.send('421["whoami"]')
        reply = str(await ws.recv())
        assert reply.startswith("431")
        return json.loads(reply[3:])[0]


async def test_a_trusted_proxys_headers_are_applied_without_uvicorns_middleware(
    served: Served,
) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.7:4711", "X-Forwarded-Proto": "https"}
    assert await _whoami(served, forwarded) == [["203.0.113.7", 4711], "wss"]
    assert (await _whoami(served, {}))[1] == "ws"


async def test_an_untrusted_peers_forwarded_headers_are_ignored(served: Served) -> None:
    app: Any = served.server.config.app
    app.proxies = TrustedProxies("10.9.9.9")  # 127.0.0.1, the test's client, is not trusted
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    client, scheme = await _whoami(served, forwarded)
    assert client[0] == "127.0.0.1" and scheme == "ws"


def test_the_rewrite_is_uvicorns_and_idempotent() -> None:
    """Applied twice (uvicorn's middleware left on as well), the scope ends as after once."""
    proxies = TrustedProxies("127.0.0.1,10.0.0.0/8")
    headers = [(b"x-forwarded-for", b"198.51.100.1, 10.1.1.1"), (b"x-forwarded-proto", b"https")]
    scope: dict[str, Any] = {"type": "http", "client": ("127.0.0.1", 5), "headers": headers}
    scope["scheme"] = "http"
    proxies.rewrite(scope)
    assert (scope["client"], scope["scheme"]) == (("198.51.100.1", 0), "https")
    proxies.rewrite(scope)
    assert (scope["client"], scope["scheme"]) == (("198.51.100.1", 0), "https")
    proxies.rewrite(lifespan := {"type": "lifespan"})
    assert lifespan == {"type": "lifespan"}


def test_uvicorn_options_leave_the_proxy_headers_to_the_app() -> None:
    settings = Settings(_env_file=None, secret_key="k" * 32)  # type: ignore[call-arg]
    assert uvicorn_options(settings)["proxy_headers"] is False


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


def _parser_locals(served: Served) -> list[dict[str, Any]]:
    """The locals of each connection's `websockets` frame parser (its suspended generator)."""
    manager: Any = served.sio.manager
    return [
        dict(link.protocol.conn.parser.gi_frame.f_locals) for link in manager.hub.links.values()
    ]


async def test_an_idle_connection_keeps_no_frame_it_received(served: Served) -> None:
    async with connect(served.url, origin=ALLOWED) as ws:  # type: ignore[arg-type]
        assert str(await ws.recv()).startswith("0{")
        await ws.send("40")
        assert str(await ws.recv()).startswith("40{")
        for n in range(3):  # back to back: each is read, in order
            await ws.send(f'42{n}["echo","{"x" * 500}{n}"]')
        for n in range(3):
            assert await ws.recv() == f'43{n}["{"x" * 500}{n}"]'
        (parser,) = served.on_loop(lambda: _parser_locals(served))
        assert parser.get("frame") is None  # the last message's frame is not held


async def test_an_idle_connections_protocol_keeps_nine_attributes_of_its_own(
    served: Served,
) -> None:
    """Its flags at their first value are read from its class (`protocol_state.py`); a close
    still sets them on the instance."""
    async with connect(served.url, origin=ALLOWED) as ws:  # type: ignore[arg-type]
        assert str(await ws.recv()).startswith("0{")
        await ws.send("40")
        assert str(await ws.recv()).startswith("40{")
        links: Any = served.sio.manager.hub.links  # type: ignore[attr-defined]
        own = served.on_loop(lambda: [sorted(vars(link.protocol)) for link in links.values()])
        assert own == [
            [
                "client", "conn", "curr_msg_data_type", "frames", "queue", "read_paused", "scope",
                "transport", "writable",
            ]
        ]  # fmt: skip
        protocols = served.on_loop(lambda: [link.protocol for link in links.values()])
    await _until(lambda: served.on_loop(lambda: len(links)) == 0)
    assert protocols[0].disconnected is True and vars(protocols[0])["disconnected"] is True


async def test_http_off_the_socket_path_goes_through_the_rest_front() -> None:
    """The front (the hot creates) sees every REST request and hands on what it does not
    answer; Engine.IO's requests never reach it."""
    seen: list[str] = []

    async def rest(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"rest"})

    async def front(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await rest(scope, receive, send)

    sio = socketio.AsyncServer(async_mode="asgi")
    app = SocketApp(sio, other_asgi_app=rest, rest_front=front, socketio_path="socket.io")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        answered = await client.post("/api/memory-logs", json={"content": "x"})
        polling = await client.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
    assert answered.text == "rest"
    assert polling.status_code == 200 and polling.text.startswith('0{"sid"')
    assert seen == ["/api/memory-logs"]


def test_a_rest_front_is_refused_beside_static_files() -> None:
    sio = socketio.AsyncServer(async_mode="asgi")
    with pytest.raises(ValueError, match="static files"):
        SocketApp(sio, static_files={"/": "web"}, rest_front=lambda *_: None)
