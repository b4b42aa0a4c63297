"""The broadcast fast path: each room event is encoded once and its bytes written to every socket.

python-socketio already encodes a room emit's Socket.IO packet once, but then, per recipient,
it creates a task, queues the packet, wakes that socket's writer task, builds an ASGI message
and lets uvicorn frame and (unless told otherwise) compress it. Per delivery that is ~50 µs of
CPU; the socket write itself is a few µs. Here, for a WebSocket connection served by uvicorn's
default protocol:

- the Socket.IO packet, the Engine.IO packet and the WebSocket frame are built once per emit;
- the frame's bytes go to each recipient's `Link`, which writes them to the connection's
  asyncio transport, below the per-socket queue and the ASGI message layer. The frames a link
  gathers until the next flush are joined into one `transport.write`. A flush runs at the end
  of the event-loop pass, but never sooner than its predecessor's duration plus 2 ms after it
  (at most 10 ms): idle, an event goes out at once; in a burst, one write per socket carries
  several events, which saves a system call per delivery on the server and a read on the
  client;
- **ordering**: everything this connection sends goes through its link (the Engine.IO writer
  task's packets too, see `DirectWebSocket.send`), and a broadcast is written directly only when
  the socket's Engine.IO queue is empty; otherwise it is queued behind what is already there;
- **back-pressure**: while the transport is paused (its buffer is over the high-water mark, the
  peer reads slowly), frames wait in the link; past `SOCKET_WRITE_BUFFER_LIMIT` bytes the
  connection is aborted rather than buffered without bound (the client reconnects and
  resubscribes with `since`, so it misses nothing);
- **memory**: after the accept, a link drops what uvicorn and `websockets` keep of the handshake,
  swaps uvicorn's receive queue and `writable` event for light ones (`LightQueue`,
  `LightEvent`; each socket's Engine.IO queue is a `LightQueue` too, with a byte bound, see
  `outbox.py`), and serves a fresh WebSocket connection with two tasks fewer than Engine.IO's
  own handler (`DirectWebSocket._serve`); the gateway trims the environ python-socketio keeps
  (`slim_environ`). About 25 KiB per idle connection instead of 36;
- anything else (long-polling, a socket still upgrading, binary attachments, an emit with a
  callback, another WebSocket implementation) takes the plain path: python-socketio's queue,
  one coroutine per recipient awaited in turn, no task per recipient.

The hold/release of `HoldingManager` is untouched: its `emit` decides who is held and then calls
this fan-out for everyone else.

Interface: `memory_manager(...)` / `redis_manager(...)` (the client manager to give
`socketio.AsyncServer`, chosen by `src/app/backend.py`) and
`install(sio, settings)` (wires the WebSocket driver and links to that server).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import struct
from typing import Any

import socketio
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers import asgi as eio_asgi
from socketio import packet as sio_packet

from src.core.config import FanoutMode
from src.transport.managers import HoldingManager, OrderedRedisManager, offset_of

try:  # uvicorn's default WebSocket protocol when `websockets` is installed
    from uvicorn.protocols.websockets.websockets_sansio_impl import (
        WebSocketsSansIOProtocol as _UvicornProtocol,
    )
except ImportError:  # pragma: no cover - then every connection takes the plain path
    _UvicornProtocol = None  # type: ignore[assignment,misc]

logger = logging.getLogger("mindwire.events")

CORK_BYTES = 64 * 1024
"""A link holding more than this writes at once instead of waiting for its flush."""
FLUSH_GAP = 0.002
FLUSH_PAUSE_MAX = 0.010
"""After a flush that took T seconds, the next one waits T + FLUSH_GAP, at most FLUSH_PAUSE_MAX."""


# -- WebSocket frames --------------------------------------------------------------------------


def websocket_frame(message: str | bytes) -> bytes:
    """One unfragmented, unmasked server-to-client frame: text for `str`, binary for `bytes`."""
    if isinstance(message, str):
        payload, first = message.encode(), 0x81
    else:
        payload, first = bytes(message), 0x82
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


# -- Engine.IO's per-socket queue ---------------------------------------------------------------


class LightQueue:
    """What Engine.IO needs of its per-socket `asyncio.Queue`, in a fraction of the memory.

    An idle `asyncio.Queue` holds three deques and an `Event`, ~3.3 KiB per connection; this
    one holds nothing until something is queued, then one list. Same semantics for Engine.IO's
    use: FIFO, unbounded, `get` cancellable (`wait_for`), `task_done`/`join`.
    """

    __slots__ = ("_getters", "_head", "_items", "_joiners", "_unfinished", "in_hand")

    def __init__(self) -> None:
        self.in_hand = False
        """A waiting `get` has taken a packet that its consumer has not written yet."""
        self._items: list[Any] | None = None
        self._head = 0
        self._getters: list[asyncio.Future[None]] | None = None
        self._joiners: list[asyncio.Future[None]] | None = None
        self._unfinished = 0

    def qsize(self) -> int:
        return len(self._items) - self._head if self._items is not None else 0

    def empty(self) -> bool:
        return self._items is None

    def full(self) -> bool:
        return False

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        self._unfinished += 1
        self._wake_getter()

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        items = self._items
        if items is None:
            raise asyncio.QueueEmpty
        item = items[self._head]
        self._head += 1
        if self._head == len(items):
            self._items, self._head = None, 0
        else:
            items[self._head - 1] = None
        return item

    async def get(self) -> Any:
        while self._items is None:
            getter = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                with contextlib.suppress(ValueError):
                    self._getters.remove(getter)
                if self._items is not None and not getter.cancelled():
                    self._wake_getter()  # we were woken but will not take it: pass it on
                raise
        self.in_hand = True
        return self.get_nowait()

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._joiners:
            joiners, self._joiners = self._joiners, None
            for joiner in joiners:
                if not joiner.done():
                    joiner.set_result(None)

    async def join(self) -> None:
        if self._unfinished:
            joiner = asyncio.get_running_loop().create_future()
            if self._joiners is None:
                self._joiners = []
            self._joiners.append(joiner)
            await joiner

    def _wake_getter(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                break
        if not getters:
            self._getters = None


class LightEvent:
    """`asyncio.Event` for uvicorn's `writable` flag: no deque until someone waits.

    An `asyncio.Event` allocates its waiters' deque (~0.6 KiB) up front; this one a list when
    the first `wait` has to wait. Same semantics: `set` wakes every waiter, `clear`, `is_set`.
    """

    __slots__ = ("_value", "_waiters")

    def __init__(self, value: bool = False) -> None:
        self._value = value
        self._waiters: list[asyncio.Future[bool]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if self._value:
            return
        self._value = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
            return True
        finally:
            if self._waiters is not None:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)


ENVIRON_KEPT = frozenset(
    {
        "REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR", "REMOTE_PORT",
        "SERVER_NAME", "SERVER_PORT", "wsgi.url_scheme", "HTTP_HOST", "HTTP_ORIGIN",
        "HTTP_USER_AGENT", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO",
        "asgi.receive", "asgi.send", "asgi.scope",
    }
)  # fmt: skip
"""What `slim_environ` keeps: Engine.IO still needs the `asgi.*` entries to answer."""


def slim_environ(environ: Any) -> None:
    """Shrink a connected socket's WSGI environ in place (~3 KiB per connection).

    python-socketio keeps the handshake's environ for the connection's life (`get_environ`),
    and the ASGI task's frames hold the same dict, so it is trimmed in place rather than
    replaced: the other request headers and the WSGI constants go, and the ASGI scope's raw
    header list (already translated, read by nobody after the handshake) is emptied.
    Called once the socket's Socket.IO connect has been accepted: connect handlers see it all.
    """
    if not isinstance(environ, dict):
        return
    kept = {key: value for key, value in environ.items() if key in ENVIRON_KEPT}
    environ.clear()  # frees the table; `update` builds a right-sized one
    environ.update(kept)
    scope = kept.get("asgi.scope")
    if isinstance(scope, dict) and scope.get("type") == "websocket" and scope.get("headers"):
        scope["headers"] = []


# -- links: one connection's write side --------------------------------------------------------


class Link:
    """Writes frames to one uvicorn WebSocket connection's transport, in order, with a bound."""

    __slots__ = ("_drain", "buffer", "buffered", "closed", "hub", "protocol", "queued", "socket")

    def __init__(self, hub: Hub, protocol: Any, socket: Any) -> None:
        self.hub = hub
        self.protocol = protocol
        self.socket = socket
        """The Engine.IO socket this connection serves."""
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.queued = False
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
        self.buffer.append(frame)
        self.buffered += len(frame)
        if self._drain is not None:  # paused: `_drain` writes once the peer catches up
            if self.buffered > self.hub.limit:
                self.abort()
            return
        if self.buffered >= CORK_BYTES:
            self.flush()
        elif not self.queued:
            self.queued = True
            self.hub.mark(self)

    def flush(self) -> None:
        if self.closed or not self.buffer:
            return
        protocol = self.protocol
        if protocol.close_sent or protocol.disconnected or protocol.transport.is_closing():
            self.buffer.clear()
            self.buffered = 0
            return
        if not protocol.writable.is_set():
            if self.buffered > self.hub.limit:
                self.abort()
            elif self._drain is None:
                self._drain = asyncio.ensure_future(self._wait_writable())
            return
        buffer = self.buffer
        data = buffer[0] if len(buffer) == 1 else b"".join(buffer)
        buffer.clear()
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
        self.buffer.clear()
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
        self.buffer.clear()
        self.buffered = 0
        self.closed = True


class Hub:
    """The links of one server's WebSocket connections, by Engine.IO session id."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.links: dict[str, Link] = {}
        self._marked: list[Link] = []
        self._scheduled = False
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
            self._scheduled = True
            loop = asyncio.get_running_loop()
            delay = self._quiet_until - loop.time()
            if delay > 0:
                loop.call_later(delay, self._flush)
            else:
                loop.call_soon(self._flush)

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        marked, self._marked = self._marked, []
        self._scheduled = False
        for link in marked:
            link.queued = False
            link.flush()
        ended = loop.time()
        # Pacing: after a flush that took T, the next waits T + FLUSH_GAP (at most
        # FLUSH_PAUSE_MAX). Idle or lightly loaded, events are further apart than that and go
        # out at once; under a burst, the events of the pause share one write per socket.
        self._quiet_until = ended + min(ended - started + FLUSH_GAP, FLUSH_PAUSE_MAX)


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
        Here the reader reads in the connection's own task and both time out with
        `asyncio.timeout`. Same behaviour otherwise: the ping interval plus timeout without a
        message (or a packet to send) ends the connection, packets are written in order, the
        writer stops at `None`, then the socket closes with `TRANSPORT_CLOSE`.
        """
        server = socket.server
        timeout = server.ping_interval + server.ping_timeout
        queue = socket.queue
        socket.connected = True
        socket.upgraded = True

        async def writer() -> None:
            while True:
                try:
                    async with asyncio.timeout(timeout):
                        pkt = await queue.get()
                except (TimeoutError, asyncio.CancelledError):
                    break  # Engine.IO's poll: QueueEmpty
                queue.task_done()
                if pkt is None:
                    break
                packets = [pkt]
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
                try:
                    for pkt in packets:
                        await self.send(pkt.encode())
                except Exception:
                    break
            await self.close()

        writer_task = asyncio.ensure_future(writer())
        while True:
            try:
                async with asyncio.timeout(timeout):
                    data = await self.wait()
                if data and len(data) > server.max_http_buffer_size:
                    raise ValueError("packet is too large")
            except (Exception, asyncio.CancelledError):
                break  # as Engine.IO: a timeout, a closed connection, a cancellation
            if data is None:
                break
            try:
                pkt = eio_packet.Packet(encoded_packet=data)
            except Exception as exc:  # Engine.IO lets it out as a traceback per frame
                logger.warning(
                    "closing connection %s: an Engine.IO packet that does not decode (%s)",
                    getattr(socket, "sid", "?"),
                    type(exc).__name__,
                )
                break
            try:
                await socket.receive(pkt)
            except eio_exceptions.UnknownPacketError:
                pass
            except eio_exceptions.SocketIsClosedError:
                server.logger.info("Receive error -- socket is closed")
                break
            except Exception:
                server.logger.exception("Unknown receive error")
            # One message per event-loop pass, as in Engine.IO's handler: a client that floods
            # must not hold the loop while its backlog drains (the others' pings wait then).
            await asyncio.sleep(0)
        await queue.put(None)  # unlock the writer so it can exit
        await writer_task
        await socket.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)

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


# -- the manager -------------------------------------------------------------------------------


_Encoded = tuple[list[eio_packet.Packet], bytes | None]
"""An event's Engine.IO packets, and its WebSocket frame when the fast path may write it."""


class FanoutManager(socketio.AsyncManager):  # type: ignore[misc]
    """`AsyncManager.emit` without a task per recipient, and with the fast path when installed.

    Placed after `HoldingManager` in the method order, so that holding decides first. A room
    event (one with an id) goes out in two encodings at most, each made once per emit: without
    its offset, and with it as a last argument for the sockets in `offset_sids` (Connection
    State Recovery, `src/transport/recovery.py`).
    """

    fanout_mode: FanoutMode = "direct"
    hub: Hub | None = None
    offset_sids: set[str]
    """Set by `HoldingManager.__init__`."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> Any:
        target = to or room
        offset = offset_of(data) if self.offset_sids else None
        if callback is not None or self.fanout_mode == "tasks":
            if offset is not None and callback is None:
                return await self._emit_tasks_split(event, data, namespace, target, skip_sid)
            return await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to,
                **kwargs,
            )  # fmt: skip
        namespace = namespace or "/"
        if namespace not in self.rooms:
            return None
        arguments = _arguments(data)
        # Each encoding is made once, for the first socket that takes it.
        plain: _Encoded | None = None
        marked: _Encoded | None = None
        skip = _as_set(skip_sid)
        links = self.hub.links if (self.hub is not None and self.fanout_mode == "direct") else {}
        offset_sids = self.offset_sids
        send_packet = self.server._send_eio_packet
        for sid, eio_sid in self.get_participants(namespace, target):
            if sid in skip:
                continue
            if offset is not None and sid in offset_sids:
                if marked is None:
                    marked = self._encode(namespace, event, [*arguments, str(offset)])
                packets, frame = marked
            else:
                if plain is None:
                    plain = self._encode(namespace, event, arguments)
                packets, frame = plain
            link = links.get(eio_sid)
            if link is not None and frame is not None and link.direct():
                link.write(frame)
                continue
            for pkt in packets:  # the plain path: the socket's queue, awaited in turn
                await send_packet(eio_sid, pkt)
        return None

    def _encode(self, namespace: str, event: str, arguments: list[Any]) -> _Encoded:
        """The Engine.IO packets of an event, and its WebSocket frame when the fast path may
        write it (not with binary attachments: several packets)."""
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        if isinstance(encoded, list):
            return [eio_packet.Packet(eio_packet.MESSAGE, part) for part in encoded], None
        packets = [eio_packet.Packet(eio_packet.MESSAGE, encoded)]
        if self.hub is None or self.fanout_mode != "direct":
            return packets, None
        return packets, websocket_frame(packets[0].encode())

    async def _emit_tasks_split(
        self, event: str, data: Any, namespace: str | None, target: Any, skip_sid: Any
    ) -> None:
        """The `tasks` mode of a room event: python-socketio's fan-out, once for the sockets
        without offsets and once, with the offset appended, for those with."""
        namespace = namespace or "/"
        skip = _as_set(skip_sid)
        takers: list[str] = []
        others: list[str] = []
        for sid, _eio_sid in self.get_participants(namespace, target):
            if sid not in skip:
                (takers if sid in self.offset_sids else others).append(sid)
        marked = (*_arguments(data), str(offset_of(data)))
        if others:
            await super().emit(event, data, namespace, room=target, skip_sid=[*skip, *takers])
        if takers:
            await super().emit(event, marked, namespace, room=target, skip_sid=[*skip, *others])


def _arguments(data: Any) -> list[Any]:
    """An emit's `data` as its list of arguments (a tuple is several, None none)."""
    if isinstance(data, tuple):
        return list(data)
    return [] if data is None else [data]


class DirectHoldingManager(HoldingManager, FanoutManager):  # type: ignore[misc]
    """The in-memory manager with the fast fan-out."""


class DirectRedisManager(OrderedRedisManager, FanoutManager):  # type: ignore[misc]
    """The Redis manager with the fast fan-out for this worker's sockets."""


def memory_manager(mode: FanoutMode = "direct") -> HoldingManager:
    """The in-memory client manager for `socketio.AsyncServer`, with fan-out `mode`."""
    manager = DirectHoldingManager()
    manager.fanout_mode = mode
    return manager


def redis_manager(url: str, channel: str, mode: FanoutMode = "direct") -> HoldingManager:
    """The Redis client manager (its own connections: `src/app/backend.py` says why)."""
    manager = DirectRedisManager(url, channel=channel)
    manager.fanout_mode = mode
    return manager


def install(
    sio: socketio.AsyncServer, *, write_buffer_limit: int, gc_freeze: bool = False
) -> Hub | None:
    """Route `sio`'s WebSocket connections through links (when its manager's mode is `direct`).

    Returns the hub of links, or None on the plain paths. `write_buffer_limit` is the bytes a
    slow reader may have waiting before its connection is aborted.
    """
    if gc_freeze:
        gc.collect()
        gc.freeze()
    manager = sio.manager
    if not isinstance(manager, FanoutManager) or manager.fanout_mode != "direct":
        return None
    hub = Hub(write_buffer_limit)
    manager.hub = hub
    eio = sio.eio
    # A copy: the driver table is shared by every server of this async mode.
    eio._async = {**eio._async, "websocket": functools.partial(DirectWebSocket, hub)}
    return hub


def _as_set(skip_sid: Any) -> frozenset[Any] | set[Any]:
    if skip_sid is None:
        return frozenset()
    if isinstance(skip_sid, str):
        return frozenset((skip_sid,))
    return set(skip_sid)
