"""The event-log reads of replays: per room and batch, kept while they are still whole.

In a reconnect storm every socket replays its rooms from about the same id, one after another
over seconds, not all at the same instant: a read shared only while it is in flight
(`SharedReads`) is read again by each replay that starts after it ended. Here a room's batch
is read once per (room, after) and kept while it is still what a new read would have to
return, and each replay merges its rooms' batches itself (`merged`), so a storm reads each
room's batches once, not once per socket or per set of rooms.

Why a kept batch is as good as a read of one's own: a replay joins its rooms before it reads,
so every event above the live position at that moment (`live_through`, the highest event id
sent live here; live room events go out in id order) reaches the socket live, held until the
replay ends. What it must read is every event of its rooms at or below that position. Ids
commit in order and a stored event never changes, so a full batch (the first `batch` events
after `after`) is the same whenever it is read, and a batch that was not full, read when the
position was P, still holds every event of its room up to the position now as long as no
event of that room went live since P (`room_live`). Otherwise it is read again.

The encoded frames of the replayed events are kept beside them (`encoding`), so that an event
replayed to a thousand sockets is encoded once per form (with or without its offset).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable, Iterable
from typing import Any

from src.core.shared_reads import SharedReads
from src.events.log import LoggedEvent

ReadBatch = Callable[[str, int], Awaitable[list[LoggedEvent]]]
"""Reads up to the batch size of events of one room with id > `after`, in id order."""

MAX_KEPT_EVENTS = 20_000
"""Events kept at most (all batches): past it the oldest batches go."""
MAX_KEPT_ENCODINGS = 8_000
KEEP_SECONDS = 30.0
"""A batch is read again after this long even if the position has not moved (the retention
pruner may have removed its oldest events meanwhile)."""


class ReplayReads:
    """Batches of the event log per (room, after), read once while they stay whole."""

    def __init__(
        self,
        read: ReadBatch,
        *,
        batch: int,
        position: Callable[[], int],
        room_live: Callable[[str], int],
    ) -> None:
        self._read = read
        self.batch = batch
        self._position = position
        self._room_live = room_live
        """The last event id sent live to a room (0: none yet)."""
        self._single = SharedReads()
        self._kept: dict[tuple[str, int], tuple[float, int, list[LoggedEvent]]] = {}
        """(room, after) -> (when read, the live position then, the events)."""
        self._kept_events = 0
        self.encodings: dict[Hashable, Any] = {}
        """Encoded frames of replayed events, by (event id, with offset): see `encoding`."""

    @property
    def queries(self) -> int:
        """How many batch reads actually ran (for tests and metrics)."""
        return self._single.queries

    async def read(self, room: str, after: int) -> tuple[list[LoggedEvent], int]:
        """`room`'s events after `after` (one batch), and the live position they cover: every
        event of `room` at or below it is in the batch unless the batch is full."""
        position = self._position()
        now = time.monotonic()
        key = (room, after)
        kept = self._kept.get(key)
        if kept is not None:
            if self._whole(room, now, *kept):
                return kept[2], position
            self._drop(key)
        events = await self._single.run((*key, position), lambda: self._read(room, after))
        if key not in self._kept:
            self._keep(key, (now, position, events))
        return events, position

    def _whole(
        self, room: str, now: float, read_at: float, position: int, events: list[Any]
    ) -> bool:
        """Whether a batch read at `read_at`, when the live position was `position`, still
        holds what a read now would have to return."""
        if now - read_at >= KEEP_SECONDS:
            return False
        return len(events) >= self.batch or self._room_live(room) <= position

    def encoding(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The encoding of a replayed event, made once (`key`: its id and form)."""
        found = self.encodings.get(key)
        if found is None:
            if len(self.encodings) >= MAX_KEPT_ENCODINGS:
                self.encodings.clear()
            found = self.encodings[key] = make()
        return found

    def _keep(self, key: tuple[str, int], kept: tuple[float, int, list[LoggedEvent]]) -> None:
        self._kept[key] = kept
        self._kept_events += len(kept[2])
        while self._kept_events > MAX_KEPT_EVENTS and len(self._kept) > 1:
            self._drop(next(iter(self._kept)))  # the oldest

    def _drop(self, key: tuple[str, int]) -> None:
        self._kept_events -= len(self._kept.pop(key)[2])

    async def merged(self, rooms: Iterable[str], since: int) -> AsyncGenerator[LoggedEvent, None]:
        """The events of `rooms` after `since`, in id order, each once, from the rooms'
        batches. It ends before an event above the position of a room's last (not full)
        batch: that room's later events were not read, and the socket gets them live."""
        pending: dict[str, deque[LoggedEvent]] = {}
        known: dict[str, int | None] = {}
        """Per room: the position its last batch covers, None while batches are full."""
        cursors = dict.fromkeys(sorted(set(rooms)), since)
        last = since
        while True:
            for room, cursor in cursors.items():
                if not pending.get(room) and known.get(room, None) is None:
                    events, position = await self.read(room, cursor)
                    pending[room] = deque(events)
                    known[room] = None if len(events) >= self.batch else position
                    if events:
                        cursors[room] = events[-1].meta.event_id
            heads = [(queue[0].meta.event_id, room) for room, queue in pending.items() if queue]
            if not heads:
                return
            event_id, room = min(heads)
            if any(bound is not None and event_id > bound for bound in known.values()):
                return
            logged = pending[room].popleft()
            if event_id > last:  # an event of several rooms comes once
                last = event_id
                yield logged
