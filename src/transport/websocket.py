"""Engine.IO's WebSocket driver for the fast path: everything a connection sends goes via its link.

`install` (`fastpath.py`) makes `DirectWebSocket` Engine.IO's ASGI WebSocket class. It serves a
fresh connection with two tasks fewer than Engine.IO's handler, and writes the writer task's
packets through the connection's `Link`, in order with the broadcasts written there directly.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers import asgi as eio_asgi

from src.transport.frames import websocket_frame

if TYPE_CHECKING:
    from src.transport.links import Hub, Link

logger = logging.getLogger("mindwire.events")


class DirectWebSocket(eio_asgi.WebSocket):  # type: ignore[misc]
    """Engine.IO's ASGI WebSocket wrapper, sending through the connection's `Link` when it has one.

    Engine.IO builds one per WebSocket connection, with the socket's handler (a bound method of
    the Engine.IO socket). Everything the writer task sends then goes through the link, in the
    same order as the broadcasts written there directly.
    """

    def __init__(self, hub: Hub, handler: Any, server: Any) -> None:
        super().__init__(handler, server)
        self.hub = hub
        self.link: Link | None = None
        self._reader: asyncio.Task[Any] | None = None
        self._waiting = False
        self._timed_out = False

    async def __call__(self, environ: dict[str, Any]) -> str:
        self.asgi_receive = environ["asgi.receive"]
        self.asgi_send = environ["asgi.send"]
        await self.asgi_send({"type": "websocket.accept"})
        socket: Any = getattr(self.handler, "__self__", None)
        self.link = self.hub.attach(self.asgi_send, socket)
        try:
            if self.link is not None and not socket.connected:
                await self._serve(socket)
            else:  # an upgrade from long-polling: Engine.IO's own handler
                await self.handler(self)
        finally:
            if self.link is not None:
                self.hub.detach(self.link)
        return ""

    async def _serve(self, socket: Any) -> None:
        """Engine.IO's `_websocket_handler` for a fresh WebSocket connection, with 2 tasks fewer.

        Engine.IO reads each message in a new task under `asyncio.wait_for`, and its writer
        waits on the queue under `wait_for` too, which on Python 3.11 wraps the `get` in one
        more task: 4 tasks, their coroutine frames and timers per idle connection (~3 KiB).
        Here the reader reads in the connection's own task and times out with `asyncio.timeout`,
        and the writer waits without a timer (`_write_packets` says why). Same behaviour
        otherwise: the ping interval plus timeout without a message ends the connection,
        packets are written in order, the writer stops at `None`, then the socket closes with
        `TRANSPORT_CLOSE`.
        """
        server = socket.server
        idle_limit = server.ping_interval + server.ping_timeout
        queue = socket.queue
        socket.connected = True
        socket.upgraded = True
        writer_task = asyncio.ensure_future(self._write_packets(queue))
        await self._read_packets(socket, idle_limit)
        await queue.put(None)  # unlock the writer so it can exit
        await writer_task
        await socket.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)

    async def _write_packets(self, queue: Any) -> None:
        """The writer task: sends the queue's packets, all those waiting in one go, until `None`,
        a cancellation or a failed send, then closes the connection.

        Engine.IO's writer also gives up after the ping interval plus timeout without a packet
        to send; it never comes to that here, so it keeps no timer: the heartbeat queues a ping
        every ping interval while the socket is open, and the reader, which times out after
        that long without a message, puts the `None` that ends the writer.
        """
        while True:
            try:
                pkt = await queue.get()
            except asyncio.CancelledError:
                break  # Engine.IO's poll: QueueEmpty
            queue.task_done()
            if pkt is None:
                break
            packets = [pkt, *_take_waiting(queue)]
            try:
                for pkt in packets:
                    await self.send(pkt.encode())
            except Exception:
                break
        await self.close()

    async def _read_packets(self, socket: Any, idle_limit: float) -> None:
        """The reader, in the connection's own task: hands each message to the socket until a
        timeout, a closed connection, a cancellation or a message that ends it.

        The timeout is a deadline in the hub's `idle` (one timer for every connection) rather
        than an `asyncio.timeout` (a timer per connection, ~0.8 KiB): armed while the reader
        waits, it cancels the wait as `asyncio.timeout` would (`time_out`).
        """
        server = socket.server
        idle = self.hub.idle
        loop = asyncio.get_running_loop()
        self._reader = asyncio.current_task()
        try:
            while True:
                try:
                    idle.set(self, loop.time() + idle_limit)
                    self._waiting = True
                    try:
                        data = await self.wait()
                    finally:
                        self._waiting = False
                    if data and len(data) > server.max_http_buffer_size:
                        raise ValueError("packet is too large")
                except (Exception, asyncio.CancelledError):
                    break  # as Engine.IO: a timeout, a closed connection, a cancellation
                if data is None:
                    break
                if not await self._receive(socket, data):
                    break
                # One message per event-loop pass, as in Engine.IO's handler: a client that
                # floods must not hold the loop while its backlog drains (the others' pings
                # wait then).
                await asyncio.sleep(0)
        finally:
            idle.cancel(self)
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


def _take_waiting(queue: Any) -> list[Any]:
    """The packets already in `queue`, taken without waiting; a `None` is put back for the
    next `get` (the writer sends what came before it, then stops)."""
    packets = []
    while True:
        try:
            pkt = queue.get_nowait()
        except asyncio.QueueEmpty:
            break
        queue.task_done()
        if pkt is None:
            queue.put_nowait(None)
            break
        packets.append(pkt)
    return packets
