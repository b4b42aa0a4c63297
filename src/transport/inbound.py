"""The gateway's part that checks each inbound event (`InboundChecks`) before the registry.

Each event passes the rate limit (`SOCKET_RATE_LIMIT`), then the decoding check (JSON nested
too deep, `packets.py`), then the size limit, then the `EventHandlerRegistry`. Inbound events
come through a namespace handler (`InboundEvents`), not `sio.on("*")`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any

import socketio

from src.events.errors import SocketError
from src.events.handlers import HandlerContext
from src.events.rooms import Viewer
from src.events.schemas import ErrorCode
from src.transport.gateway_state import GatewayState
from src.transport.packets import MALFORMED_EVENT


class InboundChecks(GatewayState):
    """Rate, decoding and size checks of a client event, then its handler."""

    refresh: Callable[[str, str], Coroutine[Any, Any, datetime]]
    """`AccessChecks.refresh`: the handler context carries it, for `refresh_token`."""

    async def _on_event(self, event: str, sid: str, *args: Any) -> Any:
        client = self._clients.get(sid)
        if client is None:
            return None
        known = event in self.registry.registrations
        self.sockets.metrics.received(event if known else "unknown").inc()
        context = self.context_for(sid, client.viewer)
        if not client.bucket.take():
            error = SocketError(ErrorCode.RATE_LIMITED, "too many events: slow down")
            return await self.registry.reject(event, error, context)
        if event is MALFORMED_EVENT:
            error = SocketError(
                ErrorCode.VALIDATION_ERROR,
                "the message could not be decoded: its JSON is nested too deeply",
            )
            return await self.registry.reject(None, error, context)
        if _encoded_size(args) > self.limits.max_message_bytes:
            error = SocketError(
                ErrorCode.PAYLOAD_TOO_LARGE,
                f"messages are limited to {self.limits.max_message_bytes} bytes",
            )
            return await self.registry.reject(event, error, context)
        data = args[0] if len(args) == 1 else (list(args) if args else None)
        return await self.registry.handle_event(event, sid, data, context)

    def context_for(self, sid: str, viewer: Viewer) -> HandlerContext:
        return HandlerContext(
            sid=sid,
            viewer=viewer,
            socket_service=self.service,
            emitter=self.emitter,
            rooms=self.rooms,
            sessionmaker=self.service.sessionmaker,
            logger=self.registry.logger,
            max_subscriptions=self.limits.max_subscriptions,
            tokens=self,
        )


class InboundEvents(socketio.AsyncNamespace):  # type: ignore[misc]
    """Every client event of namespace `/` but `connect` and `disconnect`, with its name."""

    def __init__(self, on_event: Callable[..., Awaitable[Any]]) -> None:
        super().__init__("/")
        self._on_event = on_event

    async def trigger_event(self, event: str, *args: Any) -> Any:
        return await self._on_event(event, *args)


def _encoded_size(args: tuple[Any, ...]) -> int:
    """Bytes the message's arguments take as JSON (binary attachments by their length)."""
    size = 0
    for arg in args:
        if isinstance(arg, bytes | bytearray):
            size += len(arg)
            continue
        try:
            size += len(_SIZING.encode(arg))
        except (TypeError, ValueError):
            size += 0
    return size


def _binary_size_marker(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "x" * len(value)
    raise TypeError(f"cannot size {type(value).__name__}")


_SIZING = json.JSONEncoder(default=_binary_size_marker, separators=(",", ":"))
"""What `json.dumps(arg, default=_binary_size_marker, separators=(",", ":"))` builds on every
call, built once (~2 us less per event; the same text)."""
