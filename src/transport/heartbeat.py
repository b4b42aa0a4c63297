"""`Heartbeat`: Engine.IO's pings for every socket of a server, without a task per socket.

Engine.IO pings each socket `ping_interval` after its last pong, from a task per socket that
sleeps meanwhile: a task, its coroutine, a future and a timer per idle connection (~1.8 KiB).
Here each socket is one entry in `Deadlines`, and the pings that come due together are sent
by one task. Same behaviour: the ping is sent unless the socket is closing or closed, with
`last_ping` set first, through `socket.send` (the ping timeout check, the queue and its bound).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from engineio import async_socket as eio_async_socket
from engineio import packet as eio_packet

from src.transport.deadlines import Deadlines

logger = logging.getLogger("mindwire.events")


class Heartbeat:
    """Sends Engine.IO's pings for the sockets of `eio` (install with `adopt`)."""

    def __init__(self, eio: Any) -> None:
        self.eio = eio
        self.deadlines: Deadlines[Any] = Deadlines(self._due)
        self._tasks: set[asyncio.Task[None]] = set()
        heartbeat = self

        class Socket(eio_async_socket.AsyncSocket):  # type: ignore[misc]
            """Engine.IO's socket, its next ping scheduled by the heartbeat."""

            last_ping: float | None

            def schedule_ping(self) -> None:
                # as Engine.IO: only once the previous ping has had its pong
                if self.last_ping:
                    self.last_ping = None
                    heartbeat.schedule(self)

        self.socket_class = Socket

    def adopt(self, sid: str) -> None:
        """Have the heartbeat ping Engine.IO socket `sid` (just created, not yet pinged)."""
        socket = self.eio.sockets.get(sid)
        if type(socket) is eio_async_socket.AsyncSocket:
            socket.__class__ = self.socket_class

    def schedule(self, socket: Any) -> None:
        loop = asyncio.get_running_loop()
        self.deadlines.set(socket, loop.time() + self.eio.ping_interval)

    def _due(self, sockets: list[Any]) -> None:
        task = asyncio.ensure_future(self._ping(sockets))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ping(self, sockets: list[Any]) -> None:
        for socket in sockets:
            if socket.closing or socket.closed:
                continue
            socket.last_ping = time.time()
            try:
                await socket.send(eio_packet.Packet(eio_packet.PING))
            except Exception:  # one socket's failure does not cost the others their ping
                logger.exception("ping to socket %s failed", getattr(socket, "sid", "?"))
