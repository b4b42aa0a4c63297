"""The Socket.IO client managers: in-memory for one process, Redis for many
(`src/app/backend.py` chooses).

Both managers can *hold* a socket: while any of its subscriptions replays the event log, live
room events for that socket are buffered instead of sent, then released after the last replay
(held events are sent in id order, those a replay already sent are dropped). The socket
therefore sees each room's events in id order even when live events are emitted mid-replay
and several rooms replay at once, so a client that keeps "the last id I saw" per room and
disconnects at any moment never skips one. Each event reaches the socket once: a replay skips
what the socket already received live or from another replay, and a live copy of a replayed
event that the relay sends after the replay is dropped.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import socketio
from socketio.packet import EVENT, Packet

if TYPE_CHECKING:
    from src.transport.outbox import Outbox

logger = logging.getLogger("mindwire.events")

RoomsChanged = Callable[[str], Awaitable[None]]
Emit = tuple[int | None, str, Any, str, int]
"""A held live emit: (event id, event name, data, namespace, its packet's bytes)."""


@dataclass(slots=True)
class Replays:
    """One socket's replays: what is held while any runs, and which ids they sent.

    It outlives the replays while a replayed id may still come live (the relay had not sent
    it yet), so that the live copy is dropped; it goes once the live stream has passed them.
    """

    started_at: int
    """The live watermark when the current replays began: ids at or below it were sent live
    before (to the socket's rooms of that time), ids above it are held."""
    depth: int = 0
    releasing: bool = False
    held: deque[Emit] = field(default_factory=deque)
    held_ids: set[int] = field(default_factory=set)
    held_bytes: int = 0
    """Bytes of the held packets: past `SOCKET_WRITE_BUFFER_LIMIT` the socket is closed."""
    replayed: set[int] = field(default_factory=set)
    through: int = 0
    """The highest id replayed."""

    @property
    def holding(self) -> bool:
        return self.depth > 0 or self.releasing


class HoldingManager(socketio.AsyncManager):  # type: ignore[misc]
    """`AsyncManager` whose local room emits skip held sockets and queue for them instead.

    Only emits addressed to rooms are held; an emit addressed to the socket itself (its
    replay, `pong`, `error`, ...) goes straight through. A socket whose held events pass the
    outbox's limit is closed (a reader that does not read would otherwise hold them all).
    Live room events carry their `meta`, and are emitted by the relay in id order:
    `live_through` is the highest id emitted here, and each (socket, room) remembers the
    watermark when the socket joined it, which tells a replay whether the socket already got
    an event live.
    """

    outbox: Outbox | None = None
    """Set by `outbox.install`: the byte limit of what waits for a socket, and its closing."""
    rooms_changed: RoomsChanged | None = None
    """Awaited after a socket of this process entered or left a room (the gateway stores its
    recovery session's rooms)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.live_through = 0
        self.offset_sids: set[str] = set()
        """This process's sockets whose room events carry their offset (`recovery.py`)."""
        self._replays: dict[str, Replays] = {}
        self._joined: dict[tuple[str, str], int] = {}

    def hold(self, sid: str) -> None:
        """A replay for `sid` begins: queue its live room events until the last `release`."""
        state = self._replays.get(sid)
        if state is None:
            state = self._replays[sid] = Replays(started_at=self.live_through)
        elif not state.holding:
            state.started_at = self.live_through
        state.depth += 1

    def claim(self, sid: str, event_id: int, rooms: Iterable[str]) -> bool:
        """True when a replay should send `event_id` (carried by `rooms`) to `sid`.

        False when another replay sent it already, or when the socket received it live
        before its replays began (it was then in one of `rooms`). Called inside `hold`.
        """
        state = self._replays.get(sid)
        if state is None:
            return True
        if event_id in state.replayed:
            return False
        if (
            event_id <= state.started_at
            and event_id not in state.held_ids
            and self._received_live(sid, rooms, event_id)
        ):
            return False
        state.replayed.add(event_id)
        state.through = max(state.through, event_id)
        return True

    def covered(self, sid: str, room: str, since: int) -> None:
        """A replay of `room` after `since` finished: `sid` now has every event of it after
        `since` (replayed, received live, or held), as if it had joined then."""
        key = (sid, room)
        if key in self._joined:
            self._joined[key] = min(self._joined[key], since)

    async def release(self, sid: str) -> None:
        """A replay for `sid` ended; after the last one, send what was held, in id order."""
        state = self._replays.get(sid)
        if state is None or state.depth == 0:
            return
        state.depth -= 1
        if state.depth or state.releasing:
            return  # another replay still runs, or an earlier release is still sending
        state.releasing = True  # live emits keep queueing behind what is being sent
        try:
            # A replay that begins meanwhile stops this; its own release sends the rest.
            while state.held and state.depth == 0:
                event_id, event, data, namespace, size = state.held.popleft()
                state.held_bytes -= size
                if event_id is not None:
                    state.held_ids.discard(event_id)
                    if event_id in state.replayed:
                        continue  # the replay sent it
                await super().emit(event, data, namespace=namespace, to=sid)
        finally:
            state.releasing = False
        if state.depth == 0:
            # Only ids the live stream has not passed can still come live: keep just those
            # (a later replay knows the others from `covered`).
            passed = self.live_through
            state.replayed = {event_id for event_id in state.replayed if event_id > passed}
            self._forget_passed()

    async def emit(self, event: str, data: Any, namespace: str | None = None, **kw: Any) -> Any:
        """`AsyncManager.emit` (python-socketio passes room, to, skip_sid... by keyword)."""
        to, room = kw.pop("to", None), kw.pop("room", None)
        target = to if to is not None else room
        namespace = namespace or "/"
        if target is not None and kw.get("callback") is None:
            event_id = _event_id(data)
            if self._replays:
                emit = (event_id, event, data, namespace, 0)
                skipped = self._hold_or_drop(namespace, target, emit)
                if skipped:
                    skip_sid = kw.get("skip_sid")
                    before = [skip_sid] if isinstance(skip_sid, str) else list(skip_sid or [])
                    kw["skip_sid"] = before + skipped
            if event_id is not None and not self._to_one_socket(namespace, target):
                self.live_through = max(self.live_through, event_id)
                if self._replays:
                    self._forget_passed()
        return await super().emit(event, data, namespace=namespace, room=target, **kw)

    def _hold_or_drop(self, namespace: str, target: Any, emit: Emit) -> list[str]:
        """Sockets `target` reaches that must not get `emit` now: held ones queue it, and
        a socket whose replay already sent it skips it."""
        rooms = [target] if isinstance(target, str) else list(target)
        socket_rooms = self.rooms.get(namespace, {})
        event_id = emit[0]
        skipped: list[str] = []
        over: list[tuple[str, int]] = []
        for sid, state in self._replays.items():
            if sid in rooms:
                continue  # addressed to the socket itself: a replay or a reply
            if not any(sid in socket_rooms.get(room, {}) for room in rooms):
                continue
            if state.holding:
                if not emit[4]:  # measured once per emit, only when someone holds it
                    emit = (*emit[:4], self._packet_bytes(emit))
                state.held.append(emit)
                state.held_bytes += emit[4]
                if event_id is not None:
                    state.held_ids.add(event_id)
                skipped.append(sid)
                if self.outbox is not None and state.held_bytes > self.outbox.limit:
                    over.append((sid, state.held_bytes))
            elif event_id is not None and event_id in state.replayed:
                skipped.append(sid)
        for sid, held_bytes in over:  # closed: what it held goes
            state = self._replays[sid]
            state.held.clear()
            state.held_ids.clear()
            state.held_bytes = 0
            assert self.outbox is not None
            self.outbox.cut(sid, held_bytes, "its held live events are over the limit")
        return skipped

    def _packet_bytes(self, emit: Emit) -> int:
        """The length of `emit`'s encoded Socket.IO packet (its Engine.IO payload)."""
        _, event, data, namespace, _ = emit
        arguments = list(data) if isinstance(data, tuple) else [data]
        encoded = self.server.packet_class(
            EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        parts = encoded if isinstance(encoded, list) else [encoded]
        return sum(len(part) for part in parts)

    def _forget_passed(self) -> None:
        """Drop the replay records of sockets whose replayed ids the live stream has passed."""
        passed = [
            sid
            for sid, state in self._replays.items()
            if not state.holding and state.through <= self.live_through
        ]
        for sid in passed:
            del self._replays[sid]

    def _received_live(self, sid: str, rooms: Iterable[str], event_id: int) -> bool:
        """Whether `sid` was in one of `rooms` when live event `event_id` was emitted here."""
        for room in rooms:
            joined = self._joined.get((sid, room))
            if joined is not None and joined < event_id:
                return True
        return False

    def _to_one_socket(self, namespace: str, target: Any) -> bool:
        return isinstance(target, str) and bool(self.is_sid_room(namespace, target))

    async def enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        await super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        if self.rooms_changed is not None and room != sid:
            await self.rooms_changed(sid)

    async def leave_room(self, sid: str, namespace: str, room: Any) -> None:
        await super().leave_room(sid, namespace, room)
        if self.rooms_changed is not None and room != sid:
            await self.rooms_changed(sid)

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        if isinstance(room, str) and room != sid:
            self._joined.setdefault((sid, room), self.live_through)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        if isinstance(room, str):
            self._joined.pop((sid, room), None)

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        super().basic_disconnect(sid, namespace, **kwargs)
        self._replays.pop(sid, None)
        self.offset_sids.discard(sid)


def offset_of(data: Any) -> int | None:
    """A room event's offset for Connection State Recovery: its event id (None: not logged)."""
    return _event_id(data)


def _event_id(data: Any) -> int | None:
    """The `event_id` of a room event's `(payload, meta)`, None for any other emit."""
    if isinstance(data, tuple | list) and len(data) == 2 and isinstance(data[1], dict):
        event_id = data[1].get("event_id")
        if isinstance(event_id, int) and not isinstance(event_id, bool):
            return event_id
    return None


class OrderedRedisManager(socketio.AsyncRedisManager, HoldingManager):  # type: ignore[misc]
    """`AsyncRedisManager` that publishes before it delivers locally, and raises on failure.

    python-socketio delivers to its own sockets first, then logs "giving up" if Redis cannot
    take the message. The event relay needs all or nothing: when Redis is down, no socket
    gets the event yet, the relay keeps its place and sends it once Redis is back (so the
    sockets of this worker do not receive it once per retry).
    """

    async def emit(self, event: str, data: Any, namespace: str | None = None, **kw: Any) -> Any:
        if kw.get("ignore_queue") or kw.get("callback") is not None:
            return await super().emit(event, data, namespace, **kw)
        arguments = list(data) if isinstance(data, tuple) else [data]
        binary = Packet.data_is_binary(arguments)
        if binary:
            arguments, attachments = Packet.deconstruct_binary(arguments)
            arguments = [arguments, *[base64.b64encode(a).decode() for a in attachments]]
        message = {
            "method": "emit",
            "event": event,
            "data": arguments,
            "binary": binary,
            "namespace": namespace or "/",
            "room": kw.get("to") or kw.get("room"),
            "skip_sid": kw.get("skip_sid"),
            "callback": None,
            "host_id": self.host_id,
        }
        await self._publish(message)  # other workers first: raises when Redis is down
        await self._handle_emit(message)  # then this worker's sockets
        return None

    async def _publish(self, data: Any) -> Any:
        for attempt in range(2):
            try:
                if not getattr(self, "connected", False):
                    self._redis_connect()
                return await self.redis.publish(self.channel, self.json.dumps(data))
            except Exception:
                self.connected = False
                if attempt == 1:
                    raise
        return None


async def close_client_manager(manager: Any) -> None:
    """Stop a Redis manager's listener task and close its connections (no-op in memory)."""
    listener = getattr(manager, "thread", None)
    if isinstance(listener, asyncio.Task):
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
    for name in ("pubsub", "redis"):
        connection = getattr(manager, name, None)
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.aclose()
