"""`OrderedRedisManager`, the client manager of many processes, and `close_client_manager`."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import Any

import socketio
from socketio.packet import Packet

from src.transport.holding import HoldingManager


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
