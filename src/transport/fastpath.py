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
- **ordering**: everything this connection sends goes through its link (the packets queued for
  its Engine.IO socket too, see `DirectWebSocket._write_queued`), and a broadcast is written
  directly only when the socket's Engine.IO queue is empty; otherwise it is queued behind what
  is already there;
- **back-pressure**: while the transport is paused (its buffer is over the high-water mark, the
  peer reads slowly), frames wait in the link; past `SOCKET_WRITE_BUFFER_LIMIT` bytes the
  connection is aborted rather than buffered without bound (the client reconnects and
  resubscribes with `since`, so it misses nothing);
- **memory**: after the accept, a link drops what uvicorn and `websockets` keep of the handshake,
  swaps uvicorn's receive queue and `writable` event for light ones (`LightQueue`,
  `LightEvent`; each socket's Engine.IO queue is a `LightQueue` too, with a byte bound, see
  `outbox.py`), and serves a fresh WebSocket connection in its own task alone, where Engine.IO's
  handler adds three (`DirectWebSocket._serve`: no writer task, the reader's timeout a shared
  deadline); Engine.IO's pings come from one `Heartbeat` (`heartbeat.py`), not a task per
  socket; the gateway trims the environ python-socketio keeps (`slim_environ`). Measured with
  `bench/memory_per_connection.py` (docs/performance.md, "Memory per connection");
- anything else (long-polling, a socket still upgrading, binary attachments, an emit with a
  callback, another WebSocket implementation) takes the plain path: python-socketio's queue,
  one coroutine per recipient awaited in turn, no task per recipient.

The hold/release of `HoldingManager` is untouched: its `emit` decides who is held and then calls
this fan-out for everyone else.

Interface: `memory_manager(...)` / `redis_manager(...)` (the client manager to give
`socketio.AsyncServer`, chosen by `src/app/backend.py`) and
`install(sio, write_buffer_limit=, gc_freeze=)` (wires the WebSocket driver and links to that
server).

The parts: `frames.py` (`websocket_frame`), `light_queue.py` (`LightQueue`, `LightEvent`),
`links.py` (`Link`, `Hub`, `slim_environ`), `websocket.py`
(`DirectWebSocket`, Engine.IO's driver); this module keeps the fan-out (`FanoutManager`, the
`Direct*Manager` classes) and the wiring (`memory_manager`, `redis_manager`, `install`).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Hashable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from src.core.config import FanoutMode
from src.transport.frames import websocket_frame
from src.transport.heartbeat import Heartbeat
from src.transport.links import Hub
from src.transport.managers import HoldingManager, OrderedRedisManager, offset_of
from src.transport.websocket import DirectWebSocket

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

    async def emit_encoded(
        self,
        sid: str,
        event: str,
        arguments: Callable[[], list[Any]],
        offset: int,
        encoding: Callable[[Hashable, Callable[[], Any]], Any],
    ) -> None:
        """A room event to one socket of this process (a replay), encoded at most once per
        form among all the sockets it is replayed to: `encoding((offset, marked), make)`
        returns the kept encoding or makes it. Equal to `emit(..., to=sid)` on the wire."""
        namespace = "/"
        eio_sid = self.eio_sid_from_sid(sid, namespace)
        if eio_sid is None:
            return
        marked = sid in self.offset_sids

        def make() -> _Encoded:
            listed = arguments()
            return self._encode(namespace, event, [*listed, str(offset)] if marked else listed)

        packets, frame = encoding((offset, marked), make)
        links = self.hub.links if (self.hub is not None and self.fanout_mode == "direct") else {}
        link = links.get(eio_sid)
        if link is not None and frame is not None and link.direct():
            link.write(frame)
            return
        for pkt in packets:
            await self.server._send_eio_packet(eio_sid, pkt)

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
    _beat_without_tasks(eio)
    return hub


def _beat_without_tasks(eio: Any) -> None:
    """Engine.IO's pings from one `Heartbeat` instead of a task per socket: each socket is
    adopted by it in Engine.IO's connect handler, which runs before its first ping is planned."""
    heartbeat = Heartbeat(eio)
    handle_connect = eio.handlers["connect"]

    async def connect(eio_sid: str, *args: Any) -> Any:
        heartbeat.adopt(eio_sid)
        return await handle_connect(eio_sid, *args)

    eio.handlers["connect"] = connect


def _as_set(skip_sid: Any) -> frozenset[Any] | set[Any]:
    if skip_sid is None:
        return frozenset()
    if isinstance(skip_sid, str):
        return frozenset((skip_sid,))
    return set(skip_sid)
