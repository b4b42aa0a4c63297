"""Engine.IO's WebSocket driver for the fast path: everything a connection sends goes via its link.

`install` (`fastpath.py`) makes `DirectWebSocket` Engine.IO's ASGI WebSocket class. It serves a
fresh connection in the connection's own task only (Engine.IO's handler adds three), and writes
the packets queued for the socket through the connection's `Link` as they are queued, in order
with the broadcasts written there directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers import asgi as eio_asgi

from src.transport.frames import websocket_frame
from src.transport.light_queue import LightQueue
from src.transport.protocol_state import restart_parser

if TYPE_CHECKING:
    from src.transport.hub import Hub
    from src.transport.links import Link

logger = logging.getLogger("mindwire.events")

HANDOFF = "mindwire.handoff"
"""The ASGI scope key of `SocketApp`'s slot: a fresh connection's serving goes there."""


class DirectWebSocket(eio_asgi.WebSocket):  # type: ignore[misc]
    """Engine.IO's ASGI WebSocket wrapper, sending through the connection's `Link` when it has one.

    Engine.IO builds one per WebSocket connection, with the socket's handler (a bound method of
    the Engine.IO socket). Everything queued for the socket then goes through the link, in the
    same order as the broadcasts written there directly.
    """

    handler: Any
    """The Engine.IO socket's handler (set by Engine.IO's `__init__`)."""

    def __init__(self, hub: Hub, handler: Any, server: Any) -> None:
        super().__init__(handler, server)
        self.hub = hub
        self.link: Link | None = None
        self._reader: asyncio.Task[Any] | None = None
        self._waiting = False
        self._timed_out = False
        self._closer: asyncio.Future[None] | None = None

    async def __call__(self, environ: dict[str, Any]) -> str:
        self.asgi_receive = environ["asgi.receive"]
        self.asgi_send = environ["asgi.send"]
        await self.asgi_send({"type": "websocket.accept"})
        socket: Any = getattr(self.handler, "__self__", None)
        self.link = self.hub.attach(self.asgi_send, socket)
        if self.link is not None and not socket.connected:
            slot = handoff_slot(environ)
            if slot is not None:  # `SocketApp` serves it, once Engine.IO's calls have returned
                slot.append(self)
                return ""
            await self._serve(socket)
            return ""
        try:  # an upgrade from long-polling: Engine.IO's own handler
            await self.handler(self)
        finally:
            if self.link is not None:
                self.hub.detach(self.link)
        return ""

    def handed_off(self) -> Coroutine[Any, Any, None]:
        """The serving of a connection `__call__` left in `SocketApp`'s slot (a coroutine to
        await there: no frame of its own)."""
        assert self.link is not None
        self.handler = None  # the socket's bound method: read once, by `__call__`
        return self._serve(self.link.socket, handed_off=True)

    def _serve(self, socket: Any, *, handed_off: bool = False) -> Coroutine[Any, Any, None]:
        """Engine.IO's `_websocket_handler` for a fresh WebSocket connection, without its tasks:
        the connection set up now, its reading in the coroutine returned (`_read_packets`).

        Engine.IO reads each message in a new task under `asyncio.wait_for`, and its writer
        task waits on the queue under `wait_for` too, which on Python 3.11 wraps the `get` in
        one more task: 4 tasks, their coroutine frames and timers per idle connection (~4 KiB).
        Here the reader reads in the connection's own task (its timeout is a shared deadline,
        see `_read_packets`), and there is no writer task: what is queued for the socket is
        written to its link as it is queued (`_write_queued`). Same behaviour otherwise: the
        ping interval plus timeout without a message ends the connection, packets are written
        in order, then the socket closes with `TRANSPORT_CLOSE`.

        `handed_off`: run by `SocketApp` after Engine.IO's `handle_request` has returned (its
        frames are not kept for the connection's life), so what Engine.IO does once a
        WebSocket ends, forgetting the closed session, is done here.
        """
        server = socket.server
        try:
            queue = socket.queue
            if not isinstance(queue, LightQueue):  # Engine.IO's own (no `outbox.install`)
                queue = socket.queue = _light_copy(queue)
            socket.connected = True
            socket.upgraded = True
            queue.on_put = self._write_queued
            self._write_queued()  # what was queued before (the OPEN packet)
        except BaseException:
            self._forget(socket, handed_off)
            raise
        return self._read_packets(socket, server.ping_interval + server.ping_timeout, handed_off)

    def _forget(self, socket: Any, handed_off: bool) -> None:
        """The connection has ended: its link goes, and with `handed_off` its closed session."""
        socket.queue.on_put = None
        assert self.link is not None
        self.hub.detach(self.link)
        sessions = socket.server.sockets
        if handed_off and socket.closed and sessions.get(socket.sid) is socket:
            del sessions[socket.sid]

    def _stop_writing(self) -> asyncio.Future[None]:
        """Close the WebSocket once, as Engine.IO's writer does when it stops."""
        if self._closer is None:
            self._closer = asyncio.ensure_future(self.close())
        return self._closer

    def _write_queued(self) -> None:
        """Engine.IO's writer task, run as each packet is queued: takes what the socket's queue
        holds (marking it done, for `join`) and writes it to the link, in order; a `None`
        (Engine.IO's "stop writing", e.g. `door.py` closing a session) stops the writing and
        closes the WebSocket; what is queued after it is not written, as in Engine.IO.

        Nothing waits in the queue, so a broadcast that finds it empty and writes to the link
        directly comes after everything queued before it (`Link.direct`). Engine.IO's writer
        also gives up after the ping interval plus timeout without a packet to send; that
        never happens while the heartbeat pings, and the reader times out after that long.
        """
        link = self.link
        assert link is not None
        queue = link.socket.queue
        while True:
            try:
                pkt = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            queue.task_done()
            if pkt is None:
                queue.on_put = None
                self._stop_writing()
                return
            link.write(websocket_frame(pkt.encode()))  # after a close: ignored

    async def _read_packets(self, socket: Any, idle_limit: float, handed_off: bool) -> None:
        """The reader, in the connection's own task: hands each message to the socket until a
        timeout, a closed connection, a cancellation or a message that ends it; then closes.

        The timeout is a deadline in the hub's `idle` (one timer for every connection) rather
        than an `asyncio.timeout` (a timer per connection, ~0.8 KiB): armed while the reader
        waits, it cancels the wait as `asyncio.timeout` would (`time_out`). On uvicorn's
        protocol the reader waits on its receive queue's future itself: no coroutine of
        `wait`, `receive` or `get` is kept suspended per idle connection.
        """
        server = socket.server
        idle = self.hub.idle
        loop = asyncio.get_running_loop()
        direct = _direct_receive(self)
        self._reader = asyncio.current_task()
        try:
            try:
                while True:
                    try:
                        idle.set(self, loop.time() + idle_limit)
                        self._waiting = True
                        try:
                            if direct is None:
                                data = await self.wait()
                            else:  # uvicorn's `receive` and Engine.IO's `wait`
                                while direct.queue.empty():
                                    restart_parser(direct.conn)  # not holding the last frame
                                    await direct.queue.put_waiter()
                                data = _received(direct, direct.queue.get_nowait())
                        finally:
                            self._waiting = False
                        if data and len(data) > server.max_http_buffer_size:
                            raise ValueError("packet is too large")
                    except (Exception, asyncio.CancelledError):
                        break  # as Engine.IO: a timeout, a closed connection, a cancellation
                    if data is None or not await self._receive(socket, data):
                        break
                    data = None  # not held while the connection idles
                    # One message per event-loop pass, as in Engine.IO's handler: a client
                    # that floods must not hold the loop while its backlog drains.
                    await asyncio.sleep(0)
            finally:
                self._stop_reading(socket)
            await self._stop_writing()
            await socket.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)
        finally:
            self._forget(socket, handed_off)

    def _stop_reading(self, socket: Any) -> None:
        socket.queue.on_put = None
        self.hub.idle.cancel(self)
        self._reader = None
        if self._timed_out:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                current.uncancel()  # our own cancellation, handled: the task goes on

    def time_out(self) -> None:
        """The ping interval plus timeout without a message: end the wait (`hub.idle`)."""
        reader = self._reader
        if reader is not None and self._waiting and not reader.done():
            self._timed_out = True
            reader.cancel()

    async def _receive(self, socket: Any, data: Any) -> bool:
        """Decode one message and hand it to the socket; False when the connection must end."""
        server = socket.server
        try:
            pkt = eio_packet.Packet(encoded_packet=data)
        except Exception as exc:  # Engine.IO lets it out as a traceback per frame
            logger.warning(
                "closing connection %s: an Engine.IO packet that does not decode (%s)",
                getattr(socket, "sid", "?"),
                type(exc).__name__,
            )
            return False
        try:
            await socket.receive(pkt)
        except eio_exceptions.UnknownPacketError:
            pass
        except eio_exceptions.SocketIsClosedError:
            server.logger.info("Receive error -- socket is closed")
            return False
        except Exception:
            server.logger.exception("Unknown receive error")
        return True

    async def send(self, message: str | bytes) -> None:
        link = self.link
        if link is None or link.closed:
            await super().send(message)
            return
        link.socket.queue.in_hand = False  # the writer task writes what it took, in one go
        link.write(websocket_frame(message))

    async def close(self) -> None:
        if self.link is not None:
            self.link.close()
        await super().close()


def _light_copy(queue: asyncio.Queue[Any]) -> LightQueue:
    """A `LightQueue` holding what `queue` holds (nothing waits on it yet: not served)."""
    light = LightQueue()
    while not queue.empty():
        light.put_nowait(queue.get_nowait())
        queue.task_done()
    return light


def handoff_slot(environ: dict[str, Any]) -> list[DirectWebSocket] | None:
    """Where `SocketApp` (`entry.py`) takes the connection's serving from, if it runs us."""
    scope = environ.get("asgi.scope")
    slot = scope.get(HANDOFF) if isinstance(scope, dict) else None
    return slot if isinstance(slot, list) else None


def _direct_receive(ws: DirectWebSocket) -> Any:
    """The uvicorn protocol whose light receive queue the reader may take from, or None."""
    protocol = getattr(ws.asgi_receive, "__self__", None)
    link = ws.link
    if link is None or protocol is not link.protocol:
        return None
    return protocol if isinstance(getattr(protocol, "queue", None), LightQueue) else None


def _received(protocol: Any, message: dict[str, Any]) -> Any:
    """What uvicorn's `receive` does after its `get` (resume a paused read), then Engine.IO's
    `wait`: a message's data, or OSError for anything but a message."""
    if protocol.read_paused and protocol.queue.empty():
        protocol.read_paused = False
        protocol.transport.resume_reading()
    if message["type"] != "websocket.receive":
        raise OSError()
    if message.get("bytes") is not None:
        return message["bytes"]
    if message.get("text") is not None:
        return message["text"]
    raise OSError()
