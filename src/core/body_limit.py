"""`BodyLimit`: no REST request body past `MAX_REQUEST_BODY_BYTES` is read.

A body announced larger (`Content-Length`) is refused before the app runs; a chunked body is
counted as it arrives and refused once it passes the limit, so at most the limit plus one
chunk is ever held by the app. Before, four 100 MiB bodies to `register` took the server to 1 GB.

A pure ASGI middleware, so the body streams through it untouched. Socket.IO traffic never
reaches it: `socketio.ASGIApp` answers `/socket.io/` itself (Engine.IO has its own limit).
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SETTING = "MAX_REQUEST_BODY_BYTES"


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes the limit; FastAPI lets an
    `HTTPException` raised while reading the body through, so it is answered as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


def too_large(limit: int) -> str:
    return f"the request body is larger than {SETTING} ({limit} bytes)"


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimit:
    """Answers 413 `{"detail": …}` for a body over `max_bytes`. The app never sees the rest:
    uvicorn reads it off the socket and drops it, so the client can read its 413 (closing at
    once would reset the connection under a client still sending)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:  # a streaming endpoint already answered: nothing else can be said
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": too_large(self.max_bytes)}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
