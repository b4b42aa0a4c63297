"""A recording Socket.IO client: a real python-socketio client that keeps what it receives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio


@dataclass
class Received:
    """One event as it arrived: `.data` is the payload, `.meta` the `meta` argument if any."""

    event: str
    args: tuple[Any, ...]

    @property
    def data(self) -> Any:
        return self.args[0] if self.args else None

    @property
    def meta(self) -> dict[str, Any] | None:
        return self.args[1] if len(self.args) > 1 else None


@dataclass
class RecordingClient:
    """A real python-socketio client that records every event it receives, in order.

    Tests wait for what must arrive (`wait_for`) instead of sleeping, then read `events`.
    """

    sio: socketio.AsyncClient
    received: list[Received] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @classmethod
    def create(cls) -> RecordingClient:
        client = cls(socketio.AsyncClient(reconnection=False))

        async def record(event: str, *args: Any) -> None:
            async with client._changed:
                client.received.append(Received(event, args))
                client._changed.notify_all()

        client.sio.on("*", handler=record)
        return client

    async def connect(self, url: str, token: str | None) -> None:
        auth = {"token": token} if token is not None else None
        await self.sio.connect(url, auth=auth, transports=["websocket"], wait_timeout=5)

    def events(self, name: str) -> list[Received]:
        return [item for item in self.received if item.event == name]

    async def wait_for(
        self,
        name: str,
        where: Callable[[Received], bool] = lambda _item: True,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Received]:
        """Wait until `count` events named `name` (and matching `where`) have arrived."""

        def matching() -> list[Received]:
            return [item for item in self.events(name) if where(item)]

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(matching()) >= count)
        return matching()

    async def call(self, event: str, data: Any = None, timeout: float = 5.0) -> Any:
        """Emit `event` and return the server's ack."""
        return await self.sio.call(event, data, timeout=timeout)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()


# `connect(user=None, *, token=None, url=None)`, the type of the `connect` fixture.
SocketFactory = Callable[..., Awaitable[RecordingClient]]
