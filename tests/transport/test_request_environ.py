"""`translate_request`: the environ Engine.IO's own ASGI `translate_request` builds, key for
key, without defining a class per request."""

from __future__ import annotations

import gc
from typing import Any

import socketio
from engineio.async_drivers import asgi as eio_asgi

from src.transport.entry import SocketApp
from src.transport.request_environ import AwaitablePayload, translate_request


def _scope(kind: str) -> dict[str, Any]:
    return {
        "type": kind,
        "path": "/socket.io/",
        "query_string": b"EIO=4&transport=polling&t=x",
        "method": "POST",
        "headers": [
            (b"host", b"example.test"),
            (b"content-type", b"text/plain"),
            (b"content-length", b"11"),
            (b"x-multi", b"a"),
            (b"x-multi", b"b"),
            (b"x-forwarded-proto", b"https"),
            (b"x-bad", b"\xff"),
        ],
    }


def _receiver(*events: dict[str, Any]) -> Any:
    queue = list(events)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


async def _both(kind: str, *events: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    send = object()
    ours = await translate_request(_scope(kind), _receiver(*events), send)
    theirs = await eio_asgi.translate_request(_scope(kind), _receiver(*events), send)
    return ours, theirs


def _comparable(environ: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in environ.items() if k not in ("wsgi.input", "asgi.receive")}


async def test_the_same_environ_as_engineios() -> None:
    for kind, first in (("http", "http.request"), ("websocket", "websocket.connect")):
        ours, theirs = await _both(kind, {"type": first, "body": b"x"})
        assert _comparable(ours) == _comparable(theirs)
        assert list(ours) == list(theirs)  # in the same order
        assert ours["wsgi.url_scheme"] == "https" and ours["HTTP_X_MULTI"] == "a,b"
    assert await _both("http", {"type": "http.disconnect"}) == ({}, {})


async def test_the_body_reads_as_engineios() -> None:
    chunks = (
        {"type": "http.request", "body": b"hello ", "more_body": True},
        {"type": "http.request", "body": b"world", "more_body": False},
    )
    ours, theirs = await _both("http", *chunks)
    assert isinstance(ours["wsgi.input"], AwaitablePayload)
    for length in (3, None, None):  # quirks included (a short read drops the rest)
        assert await ours["wsgi.input"].read(length) == await theirs["wsgi.input"].read(length)
    ours, theirs = await _both("http", *chunks)
    assert await ours["wsgi.input"].read() == await theirs["wsgi.input"].read() == b"hello world"


async def test_no_class_is_made_per_request() -> None:
    """Fails on Engine.IO's: each call defines `AwaitablePayload` anew."""
    gc.collect()
    before = sum(1 for o in gc.get_objects() if isinstance(o, type))
    kept = [
        await translate_request(_scope("http"), _receiver({"type": "http.request"}), None)
        for _ in range(20)
    ]
    after = sum(1 for o in gc.get_objects() if isinstance(o, type))
    assert len(kept) == 20 and after - before < 5


def test_socket_app_installs_it() -> None:
    app = SocketApp(socketio.AsyncServer(async_mode="asgi"))
    assert app.engineio_server.eio._async["translate_request"] is translate_request
    assert eio_asgi._async["translate_request"] is eio_asgi.translate_request  # not process-wide
