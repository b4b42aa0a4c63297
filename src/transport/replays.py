"""The hold/replay bookkeeping of a client manager, apart from python-socketio.

`ReplayBook` is what `HoldingManager` (`holding.py`) knows about each socket's replays: which
of its live room events wait (`Replays.held`), which ids a replay sent, and the live watermark
when the socket joined each room. It decides, and never sends: the manager does that.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

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


class ReplayBook:
    """Mixin of `HoldingManager`: each socket's `Replays` and the rooms' join watermarks.

    Live room events carry their `meta`, and are emitted by the relay in id order:
    `live_through` is the highest id emitted here, and each (socket, room) remembers the
    watermark when the socket joined it, which tells a replay whether the socket already got
    an event live.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.live_through = 0
        self.room_live: dict[str, int] = {}
        """The last event id sent live to each room: a replay's earlier read of a room still
        holds all of it up to `live_through` while none came since (`replay_reads.py`)."""
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
        replayed = state.replayed
        if event_id in replayed:
            return False
        if event_id <= state.started_at and event_id not in state.held_ids:
            # Received live: it was in one of `rooms` when the event was emitted here.
            joined = self._joined
            for room in rooms:
                at = joined.get((sid, room))
                if at is not None and at < event_id:
                    return False
        replayed.add(event_id)
        if event_id > state.through:
            state.through = event_id
        return True

    def covered(self, sid: str, room: str, since: int) -> None:
        """A replay of `room` after `since` finished: `sid` now has every event of it after
        `since` (replayed, received live, or held), as if it had joined then."""
        key = (sid, room)
        if key in self._joined:
            self._joined[key] = min(self._joined[key], since)

    def _replays_ended(self, sid: str, state: Replays) -> None:
        """The last replay of `sid` released what it held. Only its record can have become
        forgettable now (another's changes when the live stream moves, and `_forget_passed`
        looks at all then): going through every socket's record here was quadratic in a storm."""
        # Only ids the live stream has not passed can still come live: keep just those
        # (a later replay knows the others from `covered`).
        passed = self.live_through
        if state.through <= passed:
            state.replayed = set()  # a storm's replays: no id left to look at one by one
        else:
            state.replayed = {event_id for event_id in state.replayed if event_id > passed}
        if not state.holding and state.through <= passed and self._replays.get(sid) is state:
            del self._replays[sid]

    def _forget_passed(self) -> None:
        """Drop the replay records of sockets whose replayed ids the live stream has passed."""
        passed = [
            sid
            for sid, state in self._replays.items()
            if not state.holding and state.through <= self.live_through
        ]
        for sid in passed:
            del self._replays[sid]

    def _went_live(self, rooms: Any, event_id: int) -> None:
        """Room event `event_id` was emitted here to `rooms` (a room or a list of them)."""
        self.live_through = max(self.live_through, event_id)
        room_live = self.room_live
        for room in [rooms] if isinstance(rooms, str) else rooms:
            room_live[room] = event_id

    def _room_joined(self, sid: str, room: Any) -> None:
        """`sid` entered `room`: it receives live events after the watermark from now on."""
        if isinstance(room, str) and room != sid:
            self._joined.setdefault((sid, room), self.live_through)

    def _room_left(self, sid: str, room: Any) -> None:
        """`sid` left `room`: a later join starts from the watermark of that time."""
        if isinstance(room, str):
            self._joined.pop((sid, room), None)


def offset_of(data: Any) -> int | None:
    """A room event's offset for Connection State Recovery: its event id (None: not logged)."""
    return event_id_of(data)


def event_id_of(data: Any) -> int | None:
    """The `event_id` of a room event's `(payload, meta)`, None for any other emit."""
    if isinstance(data, tuple | list) and len(data) == 2 and isinstance(data[1], dict):
        event_id = data[1].get("event_id")
        if isinstance(event_id, int) and not isinstance(event_id, bool):
            return event_id
    return None
