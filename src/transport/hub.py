"""The links of a server (`Hub`): it attaches a `Link` to each WebSocket connection and batches
their flushes, a slice of links per event-loop pass.

Attaching a link also drops what uvicorn keeps of the handshake and lightens its receive queue
and `writable` event (`environ.py` trims the environ python-socketio keeps). `fastpath.py` has
the overview.
"""

from __future__ import annotations

import asyncio
from typing import Any

from src.transport.deadlines import Deadlines
from src.transport.light_queue import LightEvent, LightQueue
from src.transport.links import Link
from src.transport.protocol_state import settle_accepted
from src.transport.turns import MAX_DEFERRALS, others_ready

try:  # uvicorn's default WebSocket protocol when `websockets` is installed
    from uvicorn.protocols.websockets.websockets_sansio_impl import (
        WebSocketsSansIOProtocol as _UvicornProtocol,
    )
except ImportError:  # pragma: no cover - then every connection takes the plain path
    _UvicornProtocol = None  # type: ignore[assignment,misc]

FLUSH_GAP = 0.002
FLUSH_PAUSE_MAX = 0.010
"""After a flush that took T seconds, the next one waits T + FLUSH_GAP, at most the hub's
`pause_max` (this by default, `SOCKET_FLUSH_PAUSE_MS`; 0 flushes at the end of every pass)."""
FLUSH_SLICE = 8
"""Links one event-loop pass flushes (~0.12 ms of `send()`s): a flush of thousands of links goes
out over many passes, and the requests that arrive meanwhile are served between them. Under
uvloop a slice runs in every pass a request takes (~10 for a REST write): 64 links a slice cost
a write ~10-18 ms inside the server with 5000 subscribers. Smaller slices cost no CPU per
delivery (a link waiting for its slice gathers more frames into its one write) as long as an
emit slice hands out 16 times as many (`deliveries.EMIT_SLICE`): at fewer, links are flushed
with fewer frames each."""
FLUSH_STRETCH = 0.05
FLUSH_STRETCH_MAX = 32
"""A flush still running after k * FLUSH_STRETCH s writes k + 1 slices a pass (at most this many,
~4 ms of `send()`s): in a connect burst a slice stepped aside in four passes of five and the
acks waited seconds in their links, at ~1,600 links a second. A fan-out to 5,000 takes <75 ms."""
FLUSH_WHOLE = 128
"""A flush of at most this many links goes out in one pass (~1-2 ms of `send()`s at most, once):
slicing a small flush only adds passes, hence CPU and latency at 100 subscribers."""


class Hub:
    """The links of one server's WebSocket connections, by Engine.IO session id."""

    def __init__(
        self,
        limit: int,
        *,
        pause_max: float = FLUSH_PAUSE_MAX,
        slice_size: int = FLUSH_SLICE,
        whole: int = FLUSH_WHOLE,
        stretch: float = FLUSH_STRETCH,
    ) -> None:
        self.limit = limit
        self.stretch = stretch
        self.pause_max = pause_max
        self.slice_size = slice_size
        self.whole = whole
        """Flushes of at most this many links are not sliced (0: every flush is)."""
        self.links: dict[str, Link] = {}
        self.idle: Deadlines[Any] = Deadlines(_time_out)
        """When each connection's reader times out (`DirectWebSocket._read_packets`)."""
        self._marked: list[Link] = []
        """The links marked for the next flush."""
        self._flushing: list[Link] = []
        """The links of the flush in progress, flushed from `_next` on, a slice per pass."""
        self._next = 0
        self._took = 0.0
        self._began = 0.0
        """When the flush in progress began (its slices grow with its age)."""
        self._deferred = 0
        """Passes in a row the next slice has stepped aside for other ready work."""
        self._scheduled = False
        """A flush is planned or in progress: marking schedules nothing more."""
        self._quiet_until = 0.0

    def attach(self, send: Any, socket: Any) -> Link | None:
        """A link for the connection behind ASGI `send`, or None when it is not uvicorn's."""
        protocol = getattr(send, "__self__", None)
        sid = getattr(socket, "sid", None)
        if _UvicornProtocol is None or not isinstance(protocol, _UvicornProtocol) or sid is None:
            return None
        # uvicorn keeps the handshake's request and response for the connection's life (~4 KiB
        # of headers) though it reads them only until the accept, which has happened. The
        # request is also held by the suspended frame of `websockets`' parser (`request =
        # yield from Request.parse(...)`), so its headers are emptied, not just unreferenced.
        for name in ("request", "response"):
            message = getattr(protocol, name, None)
            if message is not None:
                headers = getattr(message, "headers", None)
                if headers is not None and hasattr(headers, "clear"):
                    headers.clear()
                setattr(protocol, name, None)
        _lighten(protocol)
        settle_accepted(protocol)
        link = Link(self, protocol, socket)
        self.links[sid] = link
        return link

    def detach(self, link: Link) -> None:
        link.close()
        if self.links.get(link.socket.sid) is link:
            del self.links[link.socket.sid]

    def mark(self, link: Link) -> None:
        """`link` has frames to write: flush at the end of this pass, or once the pause is over."""
        self._marked.append(link)
        if not self._scheduled:
            self._schedule()

    def _schedule(self) -> None:
        self._scheduled = True
        loop = asyncio.get_running_loop()
        delay = self._quiet_until - loop.time()
        if delay > 0:
            loop.call_later(delay, self._flush)
        else:
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Start a flush of the marked links; `_flush_slice` writes them a slice per pass."""
        self._flushing, self._marked = self._marked, []
        self._next = 0
        self._took = 0.0
        self._began = asyncio.get_running_loop().time()
        self._flush_slice()

    def _flush_slice(self) -> None:
        """Flush the next `slice_size` links of the flush in progress, then yield the loop.

        A flush that has run for a while takes larger slices (`FLUSH_STRETCH`). Order holds
        across the slices: a link waiting for its turn keeps `queued` set, so what
        is written to it meanwhile joins its buffer, behind what waits there, and goes out in
        the same write (no later frame to any socket can overtake an earlier one); a link
        already flushed is marked again, for the next flush.
        """
        loop = asyncio.get_running_loop()
        if self._next and self._deferred < MAX_DEFERRALS and others_ready(loop):
            self._deferred += 1  # other work first (`turns.py`)
            loop.call_soon(self._flush_slice)
            return
        self._deferred = 0
        started = loop.time()
        flushing = self._flushing
        index = self._next
        size = len(flushing)
        if size <= self.whole:
            end = size
        else:
            stretched = 1 + int((started - self._began) / self.stretch)
            end = min(index + self.slice_size * min(stretched, FLUSH_STRETCH_MAX), size)
        try:
            while index < end:
                link = flushing[index]
                index += 1
                link.queued = False
                link.flush()
        finally:  # a link that raised is left behind, never the others (nor the hub)
            self._next = index
            self._took += loop.time() - started
            if index < len(flushing):
                loop.call_soon(self._flush_slice)
            else:
                self._flushed(loop.time())

    def _flushed(self, ended: float) -> None:
        """The flush is over: plan the next one, if anything is marked for it.

        Pacing: after a flush that took T (its slices' time), the next waits T + FLUSH_GAP (at
        most `pause_max`). Idle or lightly loaded, events are further apart than that and go
        out at once; under a burst, the events of the pause share one write per socket.
        """
        self._flushing = []
        self._quiet_until = ended + min(self._took + FLUSH_GAP, self.pause_max)
        if self._marked:
            self._schedule()
        else:
            self._scheduled = False


def _time_out(readers: list[Any]) -> None:
    for reader in readers:
        reader.time_out()


def _lighten(protocol: Any) -> None:
    """uvicorn's receive queue (an `asyncio.Queue`: three deques and an `Event`, ~3 KiB) and
    its `writable` event (~0.7 KiB) become the light versions, their state carried over.
    Nothing waits on either yet: the accept has just been sent and Engine.IO has not read."""
    queue = protocol.queue
    if type(queue) is asyncio.Queue and not queue._getters:  # type: ignore[attr-defined]
        light = LightQueue()
        while not queue.empty():
            light.put_nowait(queue.get_nowait())
        protocol.queue = light
    writable = protocol.writable
    if type(writable) is asyncio.Event and not writable._waiters:
        protocol.writable = LightEvent(writable.is_set())
