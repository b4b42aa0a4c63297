"""`SocketGateway`: the Socket.IO connection lifecycle and the inbound event pipeline.

Connect: authenticate the token, join `user_{id}`, send `connection_established`, count
presence. Each inbound event: rate limit, size limit, then the `EventHandlerRegistry`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio

from src.core.config import RateLimit
from src.events.emitters import EventEmitter
from src.events.errors import SocketError
from src.events.handlers import EventHandlerRegistry, HandlerContext
from src.events.presence import LocalPresence
from src.events.rate_limit import TokenBucket
from src.events.rooms import Viewer, user_room
from src.events.schemas import ErrorCode
from src.events.socket_service import SocketService

logger = logging.getLogger("mindwire.events")

Authenticator = Callable[[str | None], Awaitable[Viewer | None]]
StatusChange = Callable[[int, str], Awaitable[None]]

UNAUTHORIZED = "unauthorized"


@dataclass
class ConnectedClient:
    viewer: Viewer
    bucket: TokenBucket


@dataclass
class GatewayLimits:
    rate: RateLimit
    max_message_bytes: int
    max_subscriptions: int


@dataclass
class SocketGateway:
    """Binds connect, disconnect and every other event of `service.sio` to Mindwire's rules."""

    service: SocketService
    registry: EventHandlerRegistry
    emitter: EventEmitter
    authenticate: Authenticator
    on_status_change: StatusChange
    limits: GatewayLimits
    presence: LocalPresence = field(default_factory=LocalPresence)
    _clients: dict[str, ConnectedClient] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def bind(self) -> None:
        sio = self.service.sio
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.on("*", self._on_event)

    async def _on_connect(
        self,
        sid: str,
        environ: Any,  # noqa: ARG002
        auth: Any = None,
    ) -> bool | None:
        if sid in self._clients:
            # A connected client sent an event named "connect": not a new connection.
            return None
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            viewer = await self.authenticate(token if isinstance(token, str) else None)
        except Exception:
            logger.exception("authentication of a socket failed")
            raise socketio.exceptions.ConnectionRefusedError("service unavailable") from None
        if viewer is None:
            raise socketio.exceptions.ConnectionRefusedError(UNAUTHORIZED)
        self._clients[sid] = ConnectedClient(viewer, TokenBucket(self.limits.rate))
        await self.service.enter_room(sid, user_room(viewer.user_id))
        self.service.metrics.connected_sockets.inc()
        first_connection = await self.presence.connected(viewer.user_id)
        # Runs after python-socketio has queued the CONNECT packet, so the client is
        # connected when `connection_established` arrives.
        self._spawn(self._after_connect(sid, viewer, first_connection))
        return True

    async def _after_connect(self, sid: str, viewer: Viewer, first_connection: bool) -> None:
        try:
            await self.emitter.emit_connection_established(sid, viewer.user_id)
            if first_connection:
                await self.on_status_change(viewer.user_id, "online")
        except Exception:
            logger.exception("connect follow-up for user %s failed", viewer.user_id)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:  # noqa: ARG002
        if self.service.sio.manager.is_connected(sid, "/"):
            # A connected client sent an event named "disconnect": ignore it.
            return
        client = self._clients.pop(sid, None)
        if client is None:
            return
        self.service.metrics.connected_sockets.dec()
        if await self.presence.disconnected(client.viewer.user_id):
            try:
                await self.on_status_change(client.viewer.user_id, "offline")
            except Exception:
                logger.exception("could not mark user %s offline", client.viewer.user_id)

    async def _on_event(self, event: str, sid: str, *args: Any) -> Any:
        client = self._clients.get(sid)
        if client is None:
            return None
        known = event in self.registry.registrations
        self.service.metrics.events_received.labels(event if known else "unknown").inc()
        context = self.context_for(sid, client.viewer)
        if not client.bucket.take():
            error = SocketError(ErrorCode.RATE_LIMITED, "too many events: slow down")
            return await self.registry.reject(event, error, context)
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
            sessionmaker=self.service.sessionmaker,
            logger=self.registry.logger,
            max_subscriptions=self.limits.max_subscriptions,
        )

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for connect follow-ups still running (used at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _encoded_size(args: tuple[Any, ...]) -> int:
    """Bytes the message's arguments take as JSON (binary attachments by their length)."""
    size = 0
    for arg in args:
        if isinstance(arg, bytes | bytearray):
            size += len(arg)
            continue
        try:
            size += len(json.dumps(arg, default=_binary_size_marker, separators=(",", ":")))
        except (TypeError, ValueError):
            size += 0
    return size


def _binary_size_marker(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "x" * len(value)
    raise TypeError(f"cannot size {type(value).__name__}")
