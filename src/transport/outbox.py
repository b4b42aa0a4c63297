"""The bound on what waits for one socket, whatever its transport, and the wait a replay makes.

Engine.IO queues each packet for a socket in that socket's queue until its transport takes it:
the WebSocket writer task, or the next long-polling GET. A long-polling client that stops
sending GETs never takes anything, and without a bound its queue grows with every event sent
to it (a replay of a large room: over a gigabyte in seconds). Here every socket's queue
(`BoundedQueue`, installed as `eio.create_queue` on every fan-out mode) counts the bytes of
the packets it holds; past `SOCKET_WRITE_BUFFER_LIMIT` the socket is closed with one warning
line and what it held is dropped. The client reconnects and resubscribes with `since`, so it
misses nothing. The WebSocket fast path has the same bound on its `Link` (`links.py`).

A replay does not fill the queue up to that bound: before each event it waits (`Outbox.drain`)
until what waits for the socket (its queue, its link and its transport's buffer) is at most
half the limit. A reader that reads gets its replay at its own pace; one that does not read is
closed once it has made no progress for `SOCKET_DRAIN_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from src.transport.hub import Hub
from src.transport.light_queue import LightQueue

logger = logging.getLogger("mindwire.events")

PACKET_OVERHEAD = 16
"""Bytes counted for a packet without a string or bytes payload (ping, noop, open...)."""
DRAIN_POLL = 0.01
DRAIN_POLL_MAX = 0.2
"""Seconds between two looks at a socket's pending bytes while a replay waits for it: from
DRAIN_POLL, doubled after each look without progress up to DRAIN_POLL_MAX (a replay stuck on
a reader that reads nothing costs 5 wake-ups a second), back to DRAIN_POLL on progress."""


def packet_bytes(pkt: Any) -> int:
    """The bytes an Engine.IO packet puts on the wire, near enough (the payload's), cheaply.

    `str.isascii` is constant time in CPython: only a non-ASCII payload is encoded to count it.
    """
    data = getattr(pkt, "data", None)
    if isinstance(data, str):
        return len(data) if data.isascii() else len(data.encode())
    if isinstance(data, bytes | bytearray):
        return len(data)
    return 0 if pkt is None else PACKET_OVERHEAD


class BoundedQueue(LightQueue):
    """Engine.IO's per-socket queue, counting the bytes it holds; past the limit, `Outbox.cut`."""

    __slots__ = ("outbox", "overflowed", "pending")

    def __init__(self, outbox: Outbox) -> None:
        super().__init__()
        self.outbox = outbox
        self.pending = 0
        """Bytes of the packets queued and not yet taken by the transport."""
        self.overflowed = False

    def put_nowait(self, item: Any) -> None:
        if self.overflowed and item is not None:
            return  # the socket is being closed: nothing more is kept for it
        self.pending += packet_bytes(item)
        super().put_nowait(item)
        if self.pending > self.outbox.limit:
            self.outbox.cut_queue(self)

    def get_nowait(self) -> Any:
        item = super().get_nowait()
        self.pending -= packet_bytes(item)
        return item

    def drop(self) -> None:
        """Forget every queued packet, then wake the transport's reader with `None` (stop)."""
        self.overflowed = True
        self._items, self._head, self.pending = None, 0, 0
        self._unfinished = 0
        self.task_done_all()
        super().put_nowait(None)

    def task_done_all(self) -> None:
        joiners, self._joiners = self._joiners, None
        for joiner in joiners or ():
            if not joiner.done():
                joiner.set_result(None)


class Outbox:
    """One server's bound on what waits for each socket, and the replay's wait for a drain."""

    def __init__(self, sio: socketio.AsyncServer, limit: int, drain_timeout: float) -> None:
        self.sio = sio
        self.limit = limit
        self.drain_timeout = drain_timeout
        self.hub: Hub | None = None

    def create_queue(self, *_args: Any, **_kwargs: Any) -> BoundedQueue:
        """`eio.create_queue`: each Engine.IO socket's queue."""
        return BoundedQueue(self)

    def pending(self, sid: str) -> int | None:
        """Bytes waiting for Socket.IO socket `sid` (queue, link, transport); None once it is
        gone or closing."""
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        socket = self.sio.eio.sockets.get(eio_sid) if eio_sid is not None else None
        if socket is None or socket.closed or socket.closing:
            return None
        queue = socket.queue
        if getattr(queue, "overflowed", False):
            return None
        waiting: int = getattr(queue, "pending", 0)
        link = self.hub.links.get(eio_sid) if self.hub is not None else None
        if link is not None:
            if link.closed:
                return None
            waiting += link.buffered + link.protocol.transport.get_write_buffer_size()
        return waiting

    async def drain(self, sid: str) -> bool:
        """Wait until at most half the limit waits for `sid`; False when it is gone, or was
        closed here because it made no progress for `drain_timeout` seconds."""
        waiting = self.pending(sid)
        threshold = self.limit // 2
        if waiting is None or waiting <= threshold:
            return waiting is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_timeout
        pause = DRAIN_POLL
        while waiting > threshold:
            await asyncio.sleep(pause)
            now = self.pending(sid)
            if now is None:
                return False
            if now < waiting:  # the reader reads: wait on
                deadline, pause = loop.time() + self.drain_timeout, DRAIN_POLL
            elif loop.time() > deadline:
                self.cut(sid, now, f"its reader read nothing for {self.drain_timeout:g}s")
                return False
            else:
                pause = min(pause * 2, DRAIN_POLL_MAX)
            waiting = now
        return True

    def cut(self, sid: str, waiting: int, why: str) -> None:
        """Close Socket.IO socket `sid`, whose reader is too far behind (one warning line)."""
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        socket = self.sio.eio.sockets.get(eio_sid) if eio_sid is not None else None
        if socket is not None:
            self._close(socket, waiting, why)

    def cut_queue(self, queue: BoundedQueue) -> None:
        """`queue` holds more than the limit: close the Engine.IO socket it belongs to."""
        for socket in list(self.sio.eio.sockets.values()):  # rare: only on an overflow
            if socket.queue is queue:
                self._close(socket, queue.pending, "its queue is over the limit")
                break
        if not queue.overflowed:  # no socket, or one already closing: just forget
            queue.drop()

    def _close(self, socket: Any, waiting: int, why: str) -> None:
        """Drop what waits for `socket` and close it, once (the close itself runs in a task)."""
        queue = socket.queue
        if socket.closed or socket.closing or getattr(queue, "overflowed", False):
            return
        logger.warning(
            "closing socket %s: %s (%d bytes wait for its reader, SOCKET_WRITE_BUFFER_LIMIT=%d)",
            socket.sid,
            why,
            waiting,
            self.limit,
        )
        if isinstance(queue, BoundedQueue):
            queue.drop()
        link = self.hub.links.get(socket.sid) if self.hub is not None else None
        if link is not None:
            link.drop()
        reason = self.sio.eio.reason.SERVER_DISCONNECT
        task = asyncio.ensure_future(socket.close(wait=False, abort=True, reason=reason))
        _closing.add(task)
        task.add_done_callback(_closing.discard)


_closing: set[asyncio.Future[Any]] = set()
"""Close tasks in flight (the loop keeps only weak references to tasks)."""


def install(
    sio: socketio.AsyncServer, hub: Hub | None, *, limit: int, drain_timeout: float
) -> Outbox:
    """Bound every socket's queue of `sio` and give its manager the outbox (replay, holds)."""
    outbox = Outbox(sio, limit, drain_timeout)
    outbox.hub = hub
    sio.eio.create_queue = outbox.create_queue
    sio.manager.outbox = outbox
    return outbox
