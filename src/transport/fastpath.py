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
- **slices**: an emit to more than `EMIT_SLICE` sockets hands its event out a slice per loop
  pass (`deliveries.py`), and a flush writes `FLUSH_SLICE` links per pass, both stepping aside
  while other work is ready (`turns.py`): requests are served during a large fan-out, and each
  socket still gets the events in emit order;
- **ordering**: everything this connection sends goes through its link (the packets queued for
  its Engine.IO socket too, see `DirectWebSocket._write_queued`), and a broadcast is written
  directly only when the socket's Engine.IO queue is empty; otherwise it is queued behind what
  is already there;
- **back-pressure**: while the transport is paused (its buffer is over the high-water mark, the
  peer reads slowly), frames wait in the link; past `SOCKET_WRITE_BUFFER_LIMIT` bytes the
  connection is aborted rather than buffered without bound (the client reconnects and
  resubscribes with `since`, so it misses nothing);
- **memory**: a link drops what uvicorn and `websockets` keep of the handshake, moves uvicorn's
  shared protocol state to its class (`protocol_state.py`) and swaps in light queues and
  events (`light_queue.py`); a WebSocket session is one frame of ours under `SocketApp`
  (`DirectWebSocket`, `entry.py`), its pings and timeouts on server-wide timers
  (`heartbeat.py`, `deadlines.py`): docs/performance.md, "Memory per connection";
- anything else (long-polling, a socket still upgrading, binary attachments, an emit with a
  callback, another WebSocket implementation) takes the plain path: python-socketio's queue,
  one coroutine per recipient awaited in turn, no task per recipient.

The hold/release of `HoldingManager` is untouched: its `emit` decides who is held and then calls
this fan-out for everyone else.

Interface: `memory_manager(...)` / `redis_manager(...)` (the client manager for
`socketio.AsyncServer`, chosen by `src/app/backend.py`) and `install(sio, ...)` (wires the
WebSocket driver and links to that server). The parts beside it: `frames.py`, `links.py`, `hub.py`,
`environ.py`, `deliveries.py`, `turns.py`, `websocket.py`, `entry.py`, `protocol_state.py`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from src.core.config import FanoutMode
from src.transport.deliveries import EMIT_SLICE, Deliveries, Delivery, Send
from src.transport.frames import websocket_frame
from src.transport.heartbeat import Heartbeat
from src.transport.hub import FLUSH_PAUSE_MAX, Hub
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
    deliveries: Deliveries
    """Set by `HoldingManager.__init__`: the emits on their way (`deliveries.py`)."""

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
        # The recipients are read now, in the step where `HoldingManager.emit` raised the
        # live position; as two lists (no tuple per recipient, `Delivery.sids`).
        participants = dict(self.get_participants(namespace, target))
        for sid in _as_set(skip_sid):
            participants.pop(sid, None)
        sids, eio_sids = list(participants), list(participants.values())
        send = self._sender(namespace, event, _arguments(data), offset)
        deliveries = self.deliveries
        to_one_socket = isinstance(target, str) and target in self.rooms[namespace].get(None, {})
        if len(sids) <= EMIT_SLICE and (not deliveries.runs or to_one_socket):
            for sid, eio_sid in zip(sids, eio_sids, strict=True):
                pending = send(sid, eio_sid)
                if pending is not None:
                    await pending
            return None
        await deliveries.run(Delivery(sids, eio_sids, send))
        return None

    def _sender(self, namespace: str, event: str, arguments: list[Any], offset: int | None) -> Send:
        """Hands the event to one recipient: to its link when the fast path may write it,
        else through its Engine.IO queue (the plain path, awaited). Each encoding is made
        once, for the first socket that takes it."""
        encodings: dict[bool, _Encoded] = {}
        links = self.hub.links if (self.hub is not None and self.fanout_mode == "direct") else {}
        offset_sids = self.offset_sids
        send_packet = self.server._send_eio_packet

        def send(sid: str, eio_sid: str) -> Awaitable[None] | None:
            marked = offset is not None and sid in offset_sids
            encoded = encodings.get(marked)
            if encoded is None:
                extra = [str(offset)] if marked else []
                encoded = encodings[marked] = self._encode(namespace, event, [*arguments, *extra])
            packets, frame = encoded
            link = links.get(eio_sid)
            if link is not None and frame is not None and link.direct():
                link.write(frame)
                return None
            return _send_all(send_packet, eio_sid, packets)

        return send

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

    async def leave_room(self, sid: str, namespace: str, room: Any) -> None:
        """What the deliveries on their way owe `sid` goes first: none arrives after it left
        (after the client's `unsubscribe` is answered)."""
        await self.deliveries.settle(sid)
        await super().leave_room(sid, namespace, room)

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


async def _send_all(send_packet: Any, eio_sid: str, packets: list[eio_packet.Packet]) -> None:
    """The plain path: the packets through the socket's Engine.IO queue, in turn."""
    for pkt in packets:
        await send_packet(eio_sid, pkt)


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
    sio: socketio.AsyncServer,
    *,
    write_buffer_limit: int,
    flush_pause: float = FLUSH_PAUSE_MAX,
) -> Hub | None:
    """Route `sio`'s WebSocket connections through links (when its manager's mode is `direct`).

    Returns the hub of links, or None on the plain paths. `write_buffer_limit` is the bytes a
    slow reader may have waiting before its connection is aborted; `flush_pause` the longest
    pause between two flushes (seconds, `SOCKET_FLUSH_PAUSE_MS`).
    """
    manager = sio.manager
    if not isinstance(manager, FanoutManager) or manager.fanout_mode != "direct":
        return None
    hub = Hub(write_buffer_limit, pause_max=flush_pause)
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
