"""One WebSocket connection's write side (`Link`); `hub.py` holds a server's links and paces
their flushes.

A link writes frames to the uvicorn connection's asyncio transport, below Engine.IO's queue and
the ASGI message layer, in order, with back-pressure and a bound (`SOCKET_WRITE_BUFFER_LIMIT`).
`fastpath.py` has the overview.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from src.transport.hub import Hub

logger = logging.getLogger("mindwire.events")

CORK_BYTES = 64 * 1024
"""A link holding more than this writes at once instead of waiting for its flush."""


class Link:
    """Writes frames to one uvicorn WebSocket connection's transport, in order, with a bound."""

    __slots__ = ("_drain", "buffer", "buffered", "closed", "hub", "protocol", "queued", "socket")

    def __init__(self, hub: Hub, protocol: Any, socket: Any) -> None:
        self.hub = hub
        self.protocol = protocol
        self.socket = socket
        """The Engine.IO socket this connection serves."""
        self.buffer: list[bytes] | None = None
        """What waits to be written, in order; None when nothing does (no list per idle link)."""
        self.buffered = 0
        self.queued: bool | None = None
        """Marked for the hub's next flush. None until the first write, which goes out at once:
        it is Engine.IO's OPEN, and nothing follows it until the client answers it with its
        CONNECT (paced behind a burst of handshakes, the OPENs waited seconds in their links
        and the clients' CONNECTs with them, while the clients sat idle)."""
        self.closed = False
        self._drain: asyncio.Task[None] | None = None

    def direct(self) -> bool:
        """True when a broadcast may skip the Engine.IO queue: nothing is waiting in it.

        Nor in the writer task's hands: on Python 3.11 its `wait_for(queue.get())` takes a
        packet one loop pass before the writer resumes and writes it; a broadcast written
        in that pass would overtake the packet.
        """
        socket = self.socket
        queue = socket.queue
        return (
            not self.closed
            and socket.upgraded
            and not socket.upgrading
            and not socket.closing
            and queue.empty()
            and not queue.in_hand
        )

    def write(self, frame: bytes) -> None:
        """Queue `frame` behind everything written before; sent at the end of this loop pass."""
        if self.closed:
            return
        buffer = self.buffer
        if buffer is None:
            self.buffer = [frame]
        else:
            buffer.append(frame)
        self.buffered += len(frame)
        if self._drain is not None:  # paused: `_drain` writes once the peer catches up
            if self.buffered > self.hub.limit:
                self.abort()
            return
        if self.queued is None:  # the connection's first frame
            self.queued = False
            self.flush()
        elif self.buffered >= CORK_BYTES:
            self.flush()
        elif not self.queued:
            self.queued = True
            self.hub.mark(self)

    def flush(self) -> None:
        buffer = self.buffer
        if self.closed or not buffer:
            return
        protocol = self.protocol
        if protocol.close_sent or protocol.disconnected or protocol.transport.is_closing():
            self.buffer = None
            self.buffered = 0
            return
        if not protocol.writable.is_set():
            if self.buffered > self.hub.limit:
                self.abort()
            elif self._drain is None:
                self._drain = asyncio.ensure_future(self._wait_writable())
            return
        data = buffer[0] if len(buffer) == 1 else b"".join(buffer)
        self.buffer = None
        self.buffered = 0
        protocol.transport.write(data)

    async def _wait_writable(self) -> None:
        try:
            await self.protocol.writable.wait()
        finally:
            self._drain = None
        self.flush()

    def abort(self) -> None:
        """The peer is too far behind: drop what waits and cut the connection."""
        logger.warning(
            "closing socket %s: its reader is %d bytes behind (SOCKET_WRITE_BUFFER_LIMIT=%d)",
            getattr(self.socket, "sid", "?"),
            self.buffered,
            self.hub.limit,
        )
        self.drop()

    def drop(self) -> None:
        """Forget what waits and cut the connection (`abort` without the log line)."""
        self.closed = True
        self.buffer = None
        self.buffered = 0
        if self._drain is not None:
            self._drain.cancel()
        self.protocol.transport.abort()

    def close(self) -> None:
        """No more writes through the link; what it holds is written first (pause or not)."""
        if self.closed:
            return
        if self._drain is not None:
            self._drain.cancel()
            self._drain = None
        protocol = self.protocol
        if self.buffer and not (protocol.close_sent or protocol.transport.is_closing()):
            protocol.transport.write(b"".join(self.buffer))
        self.buffer = None
        self.buffered = 0
        self.closed = True
