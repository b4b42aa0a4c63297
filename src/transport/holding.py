"""`HoldingManager`, the in-memory Socket.IO client manager (`OrderedRedisManager` in
`redis_manager.py` extends it for many processes).

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

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from socketio.packet import EVENT

from src.transport.deliveries import Deliveries
from src.transport.replays import Emit, ReplayBook, event_id_of
from src.transport.room_index import RoomIndex

if TYPE_CHECKING:
    from src.transport.outbox import Outbox

RoomsChanged = Callable[[str], Awaitable[None]]


class HoldingManager(ReplayBook, RoomIndex):
    """`AsyncManager` whose local room emits skip held sockets and queue for them instead.

    Only emits addressed to rooms are held; an emit addressed to the socket itself (its
    replay, `pong`, `error`, ...) goes straight through. A socket whose held events pass the
    outbox's limit is closed (a reader that does not read would otherwise hold them all).
    What is held and replayed is kept by `ReplayBook` (`replays.py`).
    """

    outbox: Outbox | None = None
    """Set by `outbox.install`: the byte limit of what waits for a socket, and its closing."""
    rooms_changed: RoomsChanged | None = None
    """Awaited after a socket of this process entered or left a room (the gateway stores its
    recovery session's rooms)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offset_sids: set[str] = set()
        """This process's sockets whose room events carry their offset (`recovery.py`)."""
        self.deliveries = Deliveries()
        """The emits on their way to their sockets, a slice per loop pass (`deliveries.py`)."""

    async def hold_settled(self, sid: str) -> None:
        """`hold(sid)` once the deliveries on their way have handed `sid` what they owe it:
        a replay that begins now must not find a live event still to come behind it."""
        await self.deliveries.settle(sid)
        self.hold(sid)

    def has_after(self, sid: str, rooms: list[str], since: int, live_at_join: int) -> bool:
        """Whether `sid`, in each of `rooms`, already has (or holds) every event of them after
        `since`: it joined each when the live stream was at or below `since`, or a finished
        replay covered it from there (`covered`), so a replay from `since` would send nothing.
        Events committed and not yet sent live reach it live, held behind its replays.

        Never when the live stream was behind `since` as this subscription joined its rooms
        (`live_at_join`: a restarted process whose relay is catching up): what was committed
        after `since` may be far from going live, and a replay sends it before its ack. (The
        position now is no guide: the relay may have caught up while the replay waited.)"""
        if since > live_at_join:
            return False
        joined = self._joined
        for room in rooms:
            at = joined.get((sid, room))
            if at is None or at > since:
                return False
        return True

    def owes_nothing(self, sid: str, rooms: list[str], since: int) -> bool:
        """Whether a replay of `rooms` from `since` for `sid` would join no room and send
        nothing: no replay of it runs, it is in each of `rooms` since the live stream was at or
        below `since` (or a finished replay covered it from there), and the live stream has
        reached `since` (`has_after`). A client resubscribing after its Connection State
        Recovery replay, from the offset that replay began at, is answered without one."""
        state = self._replays.get(sid)
        if state is not None and state.holding:
            return False
        return self.has_after(sid, rooms, since, self.live_through)

    def claim_run(self, sid: str, ids: tuple[int, ...]) -> bool:
        """Claim every id of `ids` (ascending, one replay's list) for `sid` at once, when
        `claim` could refuse none of them: True then; False claims nothing (claim each).

        None can be refused when no replay sent any id from the first on (every replayed id is
        at or below `through`) and the socket joined each of its rooms at or above every id it
        could have received live (at or below `started_at` and the last): an event reached it
        live only through a room it was in below the event's id. A storm's replays are
        thousands of such lists, each claimed here without a step per event."""
        state = self._replays.get(sid)
        if state is None:
            return True
        first, last = ids[0], ids[-1]
        if state.replayed and state.through >= first:
            return False
        bar = min(last, state.started_at)
        if bar >= first:
            joined = self._joined
            for room in self.get_rooms(sid, "/"):
                at = joined.get((sid, room))
                if at is not None and at < bar:
                    return False
        state.replayed.update(ids)
        if last > state.through:
            state.through = last
        return True

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
            self._replays_ended(sid, state)

    async def emit(self, event: str, data: Any, namespace: str | None = None, **kw: Any) -> Any:
        """`AsyncManager.emit` (python-socketio passes room, to, skip_sid... by keyword)."""
        to, room = kw.pop("to", None), kw.pop("room", None)
        target = to if to is not None else room
        namespace = namespace or "/"
        if target is not None and kw.get("callback") is None:
            event_id = event_id_of(data)
            one = self._to_one_socket(namespace, target)
            # An emit to a socket itself (a reply, `subscribed`) is never held nor dropped:
            # a storm's thousands of them skip the look-up among the replaying sockets.
            if self._replays and not one:
                emit = (event_id, event, data, namespace, 0)
                skipped = self._hold_or_drop(namespace, target, emit)
                if skipped:
                    skip_sid = kw.get("skip_sid")
                    before = [skip_sid] if isinstance(skip_sid, str) else list(skip_sid or [])
                    kw["skip_sid"] = before + skipped
            if event_id is not None and not one:
                self._went_live(target, event_id)
                if self._replays:
                    self._forget_passed()
        return await super().emit(event, data, namespace=namespace, room=target, **kw)

    def _hold_or_drop(self, namespace: str, target: Any, emit: Emit) -> list[str]:
        """Sockets `target` reaches that must not get `emit` now: held ones queue it, and
        a socket whose replay already sent it skips it."""
        rooms = [target] if isinstance(target, str) else list(target)
        event_id = emit[0]
        skipped: list[str] = []
        over: list[tuple[str, int]] = []
        for sid in self._reached(namespace, rooms):
            if sid in rooms:
                continue  # addressed to the socket itself: a replay or a reply
            state = self._replays[sid]
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

    def _reached(self, namespace: str, rooms: list[str]) -> list[str]:
        """The sockets with a replay state that `rooms` reach, found from the smaller side:
        a storm's replays are thousands of emits, each to one socket, while thousands of
        sockets replay (going through every replay state for each was the storm's cost)."""
        socket_rooms = self.rooms.get(namespace, {})
        members = [socket_rooms.get(room, {}) for room in rooms]
        if sum(len(each) for each in members) < len(self._replays):
            found = (sid for each in members for sid in each if sid in self._replays)
            return list(dict.fromkeys(found))
        return [sid for sid in self._replays if any(sid in each for each in members)]

    def _packet_bytes(self, emit: Emit) -> int:
        """The length of `emit`'s encoded Socket.IO packet (its Engine.IO payload)."""
        _, event, data, namespace, _ = emit
        arguments = list(data) if isinstance(data, tuple) else [data]
        encoded = self.server.packet_class(
            EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        parts = encoded if isinstance(encoded, list) else [encoded]
        return sum(len(part) for part in parts)

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
        self._room_joined(sid, room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        self._room_left(sid, room)

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        super().basic_disconnect(sid, namespace, **kwargs)
        self._replays.pop(sid, None)
        self.offset_sids.discard(sid)
