"""`SocketApp`: the outermost ASGI app, `socketio.ASGIApp` with a short call chain per WebSocket.

An idle WebSocket connection is a suspended ASGI call: every coroutine between uvicorn's task and
the read that waits for the next message keeps its frame (~250 B each) for the connection's life.
Through `socketio.ASGIApp` that chain was 14 frames deep: the ASGI app, python-socketio's and
Engine.IO's `handle_request`, the session's `_handle_connect`, `handle_get_request` and
`_upgrade_websocket`, the WebSocket wrapper, its reader, Engine.IO's `wait` and uvicorn's
`receive` (docs/performance.md, "Memory per connection").

Here a WebSocket on the Socket.IO path still goes through Engine.IO's `handle_request` whole
(the origin check, the transport and protocol-version checks, the session's creation and
python-socketio's connect handler), but once `DirectWebSocket` has accepted a fresh connection
it hands its serving back through a slot in the scope instead of serving it down there: those
calls return, and this app serves the connection with two frames below it (`DirectWebSocket`'s
`_serve` and its reader). Everything else (HTTP, long-polling, an upgrade from long-polling,
lifespan, the REST app behind) is `socketio.ASGIApp`'s as before. The FastAPI middleware never
saw Socket.IO traffic: `socketio.ASGIApp` routes it before the REST app.

HTTP requests off the Socket.IO path go to `rest_front` when given (the hot creates, which
hand the rest to the REST app), straight from here: what `socketio.ASGIApp` would do for them
is to call the REST app, as there are no static files.

The proxy headers (`X-Forwarded-For`/`-Proto` from a trusted proxy) are applied here too, by
uvicorn's own code, instead of by uvicorn's middleware around this app, whose frame each idle
WebSocket kept (`forwarded.py`; `uvicorn_options` turns uvicorn's off).
"""

from __future__ import annotations

from typing import Any

import socketio
from starlette.types import ASGIApp

from src.transport import request_environ
from src.transport.forwarded import TrustedProxies
from src.transport.websocket import HANDOFF, DirectWebSocket


class SocketApp(socketio.ASGIApp):  # type: ignore[misc]
    """`socketio.ASGIApp`, serving a fresh WebSocket connection itself once it is accepted."""

    def __init__(
        self,
        *args: Any,
        forwarded_allow_ips: list[str] | str | None = None,
        rest_front: ASGIApp | None = None,
        **kwargs: Any,
    ) -> None:
        """`forwarded_allow_ips`: the proxies trusted for `X-Forwarded-*` (None: uvicorn's
        `FORWARDED_ALLOW_IPS` environment variable, else 127.0.0.1 and ::1); `rest_front`:
        the app in front of `other_asgi_app` for HTTP (see the module)."""
        super().__init__(*args, **kwargs)
        if rest_front is not None and self.static_files:
            raise ValueError("rest_front would bypass the static files")
        self.rest_front = rest_front
        self.proxies = TrustedProxies(forwarded_allow_ips)
        request_environ.install(self.engineio_server)  # no class made per request

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            self.proxies.rewrite(scope)
        rest_front = self.rest_front
        if rest_front is not None and scope["type"] == "http" and not self._on_socket_path(scope):
            await rest_front(scope, receive, send)
            return
        if scope["type"] != "websocket" or not self._on_socket_path(scope):
            await super().__call__(scope, receive, send)
            return
        slot: list[DirectWebSocket] = []
        scope[HANDOFF] = slot
        try:
            await self.engineio_server.handle_request(scope, receive, send)
        finally:
            scope.pop(HANDOFF, None)
        if slot:
            ws = slot.pop()
            del slot
            await ws.handed_off()

    def _on_socket_path(self, scope: dict[str, Any]) -> bool:
        path: str | None = self.engineio_path
        return path is None or bool(self._ensure_trailing_slash(scope["path"]).startswith(path))
