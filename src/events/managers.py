"""The Socket.IO client manager, chosen by URL: in-memory for one process, Redis for many.

Both managers can *hold* a socket: while its subscription replays the event log, live room
events for that socket are buffered instead of sent, then released after the replay. The
socket therefore sees events in id order even when a live event is emitted mid-replay, so a
client that keeps "the last id I saw" and disconnects at any moment never skips one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from typing import Any

import socketio
from socketio.packet import Packet

logger = logging.getLogger("mindwire.events")

Emit = tuple[str, Any, str]
"""A held live emit: (event name, data, namespace)."""


class HoldingManager(socketio.AsyncManager):  # type: ignore[misc]
    """`AsyncManager` whose local room emits skip held sockets and queue for them instead.

    Only emits addressed to rooms are held; an emit addressed to the socket itself (its
    replay, `pong`, `error`, ...) goes straight through.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: dict[str, list[Emit]] = {}

    def hold(self, sid: str) -> None:
        """Queue live room events for `sid` until `release`."""
        self._held.setdefault(sid, [])

    async def release(self, sid: str) -> None:
        """Send what was queued for `sid`, in order, then deliver to it live again."""
        queue = self._held.get(sid)
        while queue:
            event, data, namespace = queue.pop(0)
            await super().emit(event, data, namespace=namespace, to=sid)
        self._held.pop(sid, None)

    async def emit(self, event: str, data: Any, namespace: str | None = None, **kw: Any) -> Any:
        """`AsyncManager.emit` (python-socketio passes room, to, skip_sid... by keyword)."""
        to, room = kw.pop("to", None), kw.pop("room", None)
        target = to if to is not None else room
        namespace = namespace or "/"
        if self._held and target is not None and kw.get("callback") is None:
            held = self._held_recipients(namespace, target)
            if held:
                for sid in held:
                    self._held[sid].append((event, data, namespace))
                skip_sid = kw.get("skip_sid")
                skipped = [skip_sid] if isinstance(skip_sid, str) else list(skip_sid or [])
                kw["skip_sid"] = skipped + held
        return await super().emit(event, data, namespace=namespace, room=target, **kw)

    def _held_recipients(self, namespace: str, target: Any) -> list[str]:
        """Held sockets that `target` (a room or list of rooms, never themselves) reaches."""
        rooms = [target] if isinstance(target, str) else list(target)
        held: list[str] = []
        for sid in self._held:
            if sid in rooms:
                continue  # addressed to the socket itself: a replay or a reply
            socket_rooms = self.rooms.get(namespace, {})
            if any(sid in socket_rooms.get(room, {}) for room in rooms):
                held.append(sid)
        return held


class OrderedRedisManager(socketio.AsyncRedisManager, HoldingManager):  # type: ignore[misc]
    """`AsyncRedisManager` that publishes before it delivers locally, and raises on failure.

    python-socketio delivers to its own sockets first, then logs "giving up" if Redis cannot
    take the message. The event relay needs all or nothing: when Redis is down, no socket
    gets the event yet, the relay keeps its place and sends it once Redis is back (so the
    sockets of this worker do not receive it once per retry).
    """

    async def emit(self, event: str, data: Any, namespace: str | None = None, **kw: Any) -> Any:
        if kw.get("ignore_queue") or kw.get("callback") is not None:
            return await super().emit(event, data, namespace, **kw)
        arguments = list(data) if isinstance(data, tuple) else [data]
        binary = Packet.data_is_binary(arguments)
        if binary:
            arguments, attachments = Packet.deconstruct_binary(arguments)
            arguments = [arguments, *[base64.b64encode(a).decode() for a in attachments]]
        message = {
            "method": "emit",
            "event": event,
            "data": arguments,
            "binary": binary,
            "namespace": namespace or "/",
            "room": kw.get("to") or kw.get("room"),
            "skip_sid": kw.get("skip_sid"),
            "callback": None,
            "host_id": self.host_id,
        }
        await self._publish(message)  # other workers first: raises when Redis is down
        await self._handle_emit(message)  # then this worker's sockets
        return None

    async def _publish(self, data: Any) -> Any:
        for attempt in range(2):
            try:
                if not getattr(self, "connected", False):
                    self._redis_connect()
                return await self.redis.publish(self.channel, self.json.dumps(data))
            except Exception:
                self.connected = False
                if attempt == 1:
                    raise
        return None


def create_client_manager(redis_url: str | None, channel: str = "mindwire") -> HoldingManager:
    """`OrderedRedisManager` when `redis_url` is set (emits reach every worker), else in-memory."""
    if redis_url:
        return OrderedRedisManager(redis_url, channel=channel)
    return HoldingManager()


async def close_client_manager(manager: Any) -> None:
    """Stop a Redis manager's listener task and close its connections (no-op in memory)."""
    listener = getattr(manager, "thread", None)
    if isinstance(listener, asyncio.Task):
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
    for name in ("pubsub", "redis"):
        connection = getattr(manager, name, None)
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.aclose()
