"""`translate_request`: Engine.IO's ASGI `translate_request`, without a class made per request.

Engine.IO's ASGI driver turns each request's scope into a WSGI-like environ, and defines its
`wsgi.input` class (`AwaitablePayload`) inside the function: every request, WebSocket or
long-polling, builds a new class (type creation costs tens of microseconds, and a class is a
reference cycle, left for the cyclic collector to free). Here the class is defined once and
holds what the nested one read from its closure (the first event's type, `receive`); the
environ is built as Engine.IO builds it, key for key. `SocketApp` gives its Engine.IO server
this function (`install`).
"""

from __future__ import annotations

import sys
from typing import Any


class AwaitablePayload:
    """Engine.IO's `wsgi.input`: a request's body, read from ASGI's `receive` on demand."""

    __slots__ = ("_first_type", "_receive", "event", "payload")

    def __init__(self, event: dict[str, Any], receive: Any) -> None:
        self._first_type = event["type"]
        self._receive = receive
        self.event = event
        self.payload: bytes | None = None

    async def read(self, length: int | None = None) -> Any:
        if self.payload is None and self._first_type == "http.request":
            # read payload from http request
            self.payload = self.event.get("body") or b""
            while self.event.get("more_body"):
                self.event = await self._receive()
                if self.event["type"] == "http.request":
                    if length is None or len(self.payload) < length:
                        self.payload += self.event.get("body") or b""
        payload: Any = self.payload  # None for a WebSocket, as in Engine.IO's
        if length is None:
            self.payload = b""
            return payload
        self.payload = payload[length:]
        return payload[:length]


async def translate_request(scope: dict[str, Any], receive: Any, send: Any) -> dict[str, Any]:
    """Engine.IO's `engineio.async_drivers.asgi.translate_request`, the same environ."""
    event = await receive()
    if event["type"] not in ("http.request", "websocket.connect"):
        return {}

    raw_uri = scope["path"]
    query_string = ""
    if "query_string" in scope and scope["query_string"]:
        try:
            query_string = scope["query_string"].decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raw_uri += "?" + query_string
    environ: dict[str, Any] = {
        "wsgi.input": AwaitablePayload(event, receive),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.async": True,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "SERVER_SOFTWARE": "asgi",
        "REQUEST_METHOD": scope.get("method", "GET"),
        "PATH_INFO": scope["path"],
        "QUERY_STRING": query_string,
        "RAW_URI": raw_uri,
        "SCRIPT_NAME": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "0",
        "SERVER_NAME": "asgi",
        "SERVER_PORT": "0",
        "asgi.receive": receive,
        "asgi.send": send,
        "asgi.scope": scope,
    }

    for raw_name, raw_value in scope["headers"]:
        try:
            name = raw_name.upper().decode("utf-8")
            value = raw_value.decode("utf-8")
        except UnicodeDecodeError:
            continue  # skip header if it cannot be decoded
        if name == "CONTENT-TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if name == "CONTENT-LENGTH":
            environ["CONTENT_LENGTH"] = value
            continue
        key = "HTTP_" + name.replace("-", "_")
        if key in environ:
            value = f"{environ[key]},{value}"
        environ[key] = value

    environ["wsgi.url_scheme"] = environ.get("HTTP_X_FORWARDED_PROTO", "http")
    return environ


def install(server: Any) -> None:
    """Make `translate_request` the one `server`'s Engine.IO server uses (a python-socketio
    server's `eio`, or an Engine.IO server itself), for it alone."""
    eio = getattr(server, "eio", server)
    eio._async = {**eio._async, "translate_request": translate_request}
