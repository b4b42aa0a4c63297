"""uvicorn's HTTP/1.1 protocols with a deadline for a request's headers and for its body.

uvicorn times out only the idle gap between keep-alive requests, and cancels that timer on
the first byte: a client that drips a request one byte at a time keeps its connection (and
a file descriptor) for as long as it likes. Here each connection carries one timer:

- headers: from the connection opening, or from the previous response's end, until the
  request line and headers are complete;
- body: from the headers until the request body is complete. Time during which the server
  itself stopped reading (uvicorn's flow control) is not held against the client.

On expiry a client that has sent part of a request and had no response to it yet is
answered 408, then the connection is closed. A connection that has sent nothing since it
opened or since the previous response is closed silently, as uvicorn's keep-alive timeout
does: a 408 written there could cross a request the client is sending at that moment, and
be taken for its answer. A WebSocket upgrade disarms the timer when its headers are complete.
`protocol_factory(settings)` gives the `http=` option of uvicorn (see `src/app/serving.py`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is absent on PyPy
    HttpToolsProtocol = None  # type: ignore[assignment, misc]

from uvicorn.logging import TRACE_LOG_LEVEL

from src.core.config import Settings
from src.transport.handshake import takes_requests

Phase = Literal["headers", "body"]

TIMEOUT_BODY = b"request timeout\n"


def timeout_response(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The whole 408 answer, closing the connection."""
    lines = [b"HTTP/1.1 408 Request Timeout"]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [
        b"content-type: text/plain; charset=utf-8",
        b"content-length: " + str(len(TIMEOUT_BODY)).encode("ascii"),
        b"connection: close",
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + TIMEOUT_BODY


class Deadline:
    """The one timer of a connection, and what its expiry does. Mixed into a uvicorn
    protocol, whose `transport`, `flow`, `cycle`, `loop` and `server_state` it uses."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    server_state: Any
    flow: Any
    cycle: Any

    def __init__(self, *args: Any, header_timeout: float, body_timeout: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.deadline: asyncio.TimerHandle | None = None
        self.deadline_phase: Phase | None = None
        self.heard = False
        """Whether bytes arrived since the headers deadline was armed."""

    def arm(self, phase: Phase) -> None:
        """(Re)start the timer for `phase`."""
        self.disarm()
        self.heard = False
        seconds = self.header_timeout if phase == "headers" else self.body_timeout
        self.deadline = self.loop.call_later(seconds, self.expired)
        self.deadline_phase = phase

    def disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
            self.deadline_phase = None

    def expired(self) -> None:
        phase = self.deadline_phase
        self.deadline = None
        self.deadline_phase = None
        if self.transport.is_closing():
            return
        if phase == "body" and self.flow.read_paused:
            self.arm("body")  # the server paused reading, not the client: wait on
            return
        cycle = self.cycle
        if (phase == "headers" and self.heard) or (phase == "body" and not cycle.response_started):
            self.transport.write(timeout_response(self.server_state.default_headers))
        if phase == "body":
            # As connection_lost does: the app's receive() answers http.disconnect, its
            # send() writes nothing more.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()


if HttpToolsProtocol is not None:

    class HttpToolsDeadlineProtocol(Deadline, HttpToolsProtocol):
        """httptools' protocol (uvicorn's default) with the deadlines, driven by the
        parser's callbacks."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.arm("headers")

        def connection_lost(self, exc: Exception | None) -> None:
            self.disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self.heard = True
            super().data_received(data)

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            if self.parser.should_upgrade() and self._should_upgrade():
                self.disarm()  # a WebSocket: its protocol takes the connection over
            else:
                self.arm("body")  # disarmed at once by on_message_complete when bodiless

        def handle_websocket_upgrade(self) -> None:
            if takes_requests(self.ws_protocol_class):
                self._hand_over_upgrade()
            else:
                super().handle_websocket_upgrade()
            # httptools' parser holds this protocol's bound methods (its callbacks), and
            # uvicorn drops the parser only in `connection_lost`, which the upgraded
            # connection now reports to the WebSocket protocol: left as is, every WebSocket
            # leaves this protocol, its parser and flow control as a garbage cycle that only
            # a full collection frees (a burst's connects promote thousands of them into the
            # oldest generation). Dropping the parser frees them by their reference counts.
            self.parser = None  # type: ignore[assignment]

        def _hand_over_upgrade(self) -> None:
            """uvicorn's `handle_websocket_upgrade`, handing the request over as parsed rather
            than as bytes to parse again (`handshake.py`)."""
            if self.logger.level <= TRACE_LOG_LEVEL:
                prefix = f"{self.client[0]}:{self.client[1]} - " if self.client else ""
                self.logger.log(TRACE_LOG_LEVEL, "%sUpgrading to WebSocket", prefix)
            self.connections.discard(self)
            protocol_class: Any = self.ws_protocol_class
            protocol = protocol_class(
                config=self.config, server_state=self.server_state, app_state=self.app_state
            )
            protocol.connection_made(self.transport)
            protocol.take_request(self.scope["method"], self.url, self.scope["headers"])
            self.transport.set_protocol(protocol)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            if self.deadline_phase == "body":
                self.disarm()

        def on_response_complete(self) -> None:
            pipelined = bool(self.pipeline)  # a queued request already has its headers
            super().on_response_complete()
            if not pipelined and not self.transport.is_closing():
                self.arm("headers")


class H11DeadlineProtocol(Deadline, H11Protocol):
    """h11's protocol (uvicorn's choice without httptools) with the deadlines, driven by
    the states h11 reports after each read and each response."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.arm("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self.disarm()
        super().handle_websocket_upgrade(event)

    def data_received(self, data: bytes) -> None:
        self.heard = True
        super().data_received(data)
        self.follow_states()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.follow_states()

    def follow_states(self) -> None:
        """Arm the timer the parser's state calls for, keeping one already running."""
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            self.disarm()
            return
        theirs, ours = self.conn.their_state, self.conn.our_state
        wanted: Phase | None = None
        if theirs is h11.IDLE and ours is h11.IDLE:
            wanted = "headers"
        elif theirs is h11.SEND_BODY:
            wanted = "body"
        if wanted is None:
            self.disarm()
        elif self.deadline_phase != wanted:
            self.arm(wanted)


def protocol_factory(settings: Settings) -> functools.partial[asyncio.Protocol]:
    """uvicorn's `http=` option: the protocol uvicorn would pick, with the deadlines of
    `settings`. A partial of a module-level class, so that `--workers` can pickle it."""
    protocol: Callable[..., asyncio.Protocol] = (
        H11DeadlineProtocol if HttpToolsProtocol is None else HttpToolsDeadlineProtocol
    )
    return functools.partial(
        protocol,
        header_timeout=settings.http_header_timeout_seconds,
        body_timeout=settings.http_body_timeout_seconds,
    )
