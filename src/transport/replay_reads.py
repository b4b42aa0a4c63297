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
from bisect import bisect_left, bisect_right
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from itertools import chain, pairwise
from typing import Any

from src.core.shared_reads import SharedReads
from src.events.log import LoggedEvent
from src.transport.replay_runs import Runs, event_id_of

ReadBatch = Callable[[str, int], Awaitable[list[LoggedEvent]]]
"""Reads up to the batch size of events of one room with id > `after`, in id order."""

MAX_KEPT_EVENTS = 20_000
"""Events kept at most (all batches): past it they all go."""
MAX_KEPT_ENCODINGS = 8_000
MERGE_BY_INSERTS = 32
"""Events of a round's smaller slices put into its largest one by one, above: sorted."""
KEEP_SECONDS = 30.0
"""A batch is read again after this long even if the position has not moved (the retention
pruner may have removed its oldest events meanwhile)."""


@dataclass(frozen=True, slots=True)
class Kept:
    """A batch read: when, up to which id it held every event of its room, its events."""

    read_at: float
    position: int
    """The live position when it was read, or its last id when higher."""
    events: list[LoggedEvent]


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
        self._single = SharedReads(join_running=True)  # the key holds the room's live id
        self._kept: dict[str, dict[int, Kept]] = {}
        """Per room, per `after`: the batches read."""
        self._kept_events = 0
        self.encodings: dict[Hashable, Any] = {}
        """Encoded frames of replayed events, by (event id, with offset): see `encoding`."""
        self.runs = Runs()
        """Replay lists' frames joined once for all the sockets they are replayed to."""

    @property
    def queries(self) -> int:
        """How many batch reads actually ran (for tests and metrics)."""
        return self._single.queries

    async def read(self, room: str, after: int) -> tuple[list[LoggedEvent], int | None]:
        """`room`'s next events after `after`, in id order, and how far they go: None when
        more may follow the last (they are a full batch, or its rest), else the id up to
        which they hold every event of `room` (the live position, or the last id read).

        From a kept batch when one still holds them: replays resume from different ids (a
        client resubscribes from wherever its recovery replay had got to), and a batch read
        from an earlier id holds the events after a later one too.
        """
        position = self._position()
        now = time.monotonic()
        found = self._kept_rest(room, after, now)
        if found is not None:
            events, full, last = found
        else:
            # Joining a read that began at a lower position is safe while no event of `room`
            # went live since: every event of it up to `position` was committed before that
            # read began. Other rooms' events (a storm's own status events) move `position`
            # without splitting the read.
            key = (room, after, self._room_live(room))
            events = await self._single.run(
                key, lambda: self._read_and_keep(room, after, now, position)
            )
            full = len(events) >= self.batch
            last = events[-1].meta.event_id if events else 0
        # Ids commit in order: what the read saw up to its last id was all committed then.
        return events, None if full else max(position, last)

    async def _read_and_keep(
        self, room: str, after: int, read_at: float, position: int
    ) -> list[LoggedEvent]:
        """Read a batch and keep it before the read counts as done: a replay that asks between
        the read's end and the moment its callers resume finds it kept, not read again."""
        events = await self._read(room, after)
        last = events[-1].meta.event_id if events else 0
        # A list of its own: `went_live` grows the kept one, the read's callers keep theirs.
        self._keep(room, after, Kept(read_at, max(position, last), list(events)))
        return events

    def _kept_rest(
        self, room: str, after: int, now: float
    ) -> tuple[list[LoggedEvent], bool, int] | None:
        """The events after `after` of a kept batch of `room` that still holds them all,
        whether that batch was full, and its last id."""
        batches = self._kept.get(room)
        if not batches:
            return None
        for start, kept in list(batches.items()):
            full = len(kept.events) >= self.batch
            if now - kept.read_at >= KEEP_SECONDS or not (
                full or self._room_live(room) <= kept.position
            ):
                self._kept_events -= len(batches.pop(start).events)
                continue
            if start > after or (full and kept.events[-1].meta.event_id <= after):
                continue
            rest = bisect_right(kept.events, after, key=event_id_of)
            last = kept.events[-1].meta.event_id if kept.events else 0
            return kept.events[rest:], full, last
        return None

    def went_live(self, logged: LoggedEvent) -> None:
        """`logged` is about to go live (the relay sends in id order, before its rooms' live
        ids move): the last batch kept of each of its rooms that still holds every event of
        the room takes it in, instead of being read again. Every event of the room between
        that batch's position and `logged` went live before it, so there is none (the batch
        would not hold all of its room any more).

        The kept list grows in place (a copy per live event was the hot path's cost): no
        replay holds it, `read` hands out slices of it or the read's own list."""
        event_id = logged.meta.event_id
        for room in logged.rooms:
            batches = self._kept.get(room)
            if not batches:
                continue
            live = self._room_live(room)
            for start, kept in batches.items():
                full = len(kept.events) >= self.batch
                if full or start >= event_id or not live <= kept.position < event_id:
                    continue
                kept.events.append(logged)  # in place: no copy of the batch per live event
                batches[start] = Kept(kept.read_at, event_id, kept.events)
                self._kept_events += 1

    def encoding(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The encoding of a replayed event, made once (`key`: its id and form)."""
        found = self.encodings.get(key)
        if found is None:
            if len(self.encodings) >= MAX_KEPT_ENCODINGS:
                self.encodings.clear()
            found = self.encodings[key] = make()
        return found

    def _keep(self, room: str, after: int, kept: Kept) -> None:
        if self._kept_events + len(kept.events) > MAX_KEPT_EVENTS:
            self._kept.clear()  # rare: a storm over many rooms and ids at once
            self._kept_events = 0
        batches = self._kept.setdefault(room, {})
        if after not in batches:
            batches[after] = kept
            self._kept_events += len(kept.events)

    async def merged(self, rooms: Iterable[str], since: int) -> AsyncGenerator[LoggedEvent, None]:
        """`batches`, an event at a time."""
        async with aclosing(self.batches(rooms, since)) as batches:
            async for batch in batches:
                for logged in batch:
                    yield logged

    async def batches(
        self, rooms: Iterable[str], since: int
    ) -> AsyncGenerator[list[LoggedEvent], None]:
        """The events of `rooms` after `since`, in id order, each once, a list at a time
        (a replay sends a list with one pass of its own, not one per event). It ends before
        an event above what a room's last (not full) batch covers: that room's later events
        were not read, and the socket gets them live (so that none of them arrives after a
        later event of another room). The lists are new: a kept batch only grows at its end."""
        order = sorted(set(rooms))
        pending: dict[str, list[LoggedEvent]] = {room: [] for room in order}
        known: dict[str, int | None] = dict.fromkeys(order)
        """Per room: the id its last batch covers, None while batches are full."""
        cursors = dict.fromkeys(order, since)
        while True:
            for room in order:
                if not pending[room] and known[room] is None:
                    events, known[room] = await self.read(room, cursors[room])
                    pending[room] = events
                    if events:
                        cursors[room] = events[-1].meta.event_id
            # How far every room is known: a full batch's rest up to its last id (its next
            # batch begins above it), a last batch up to what it covers.
            bound = min(_known_through(pending[room], known[room]) for room in order)
            slices: list[list[LoggedEvent]] = []
            for room in order:
                queue = pending[room]
                cut = bisect_right(queue, bound, key=event_id_of)
                if cut:
                    slices.append(queue[:cut])
                    pending[room] = queue[cut:]
            if not slices:
                return  # what is left is above a room's last batch: it comes live
            slices.sort(key=_first_id)
            if all(a[-1].meta.event_id < b[0].meta.event_id for a, b in pairwise(slices)):
                # Rooms' events in ranges apart (one room's; a user's status event, then
                # another room's run): in id order as they are, each once, all above what
                # earlier rounds took (at or below the bound of their round).
                yield slices[0] if len(slices) == 1 else list(chain.from_iterable(slices))
            else:
                yield _merged(slices)


def _merged(slices: list[list[LoggedEvent]]) -> list[LoggedEvent]:
    """Rooms' slices of one round (each in id order, all above what earlier rounds took) in
    id order, an event of several rooms once. The few events of small slices (a user's status
    events beside a shared room's run) are put into the largest in place of a sort and sweep of
    them all."""
    slices.sort(key=len)
    base = slices[-1]
    if sum(map(len, slices)) - len(base) > MERGE_BY_INSERTS:
        taken = sorted(chain.from_iterable(slices), key=event_id_of)
        return [
            logged
            for logged, before in zip(taken, [None, *taken], strict=False)
            if before is None or logged.meta.event_id != before.meta.event_id
        ]
    batch = list(base)
    for logged in chain.from_iterable(slices[:-1]):
        event_id = logged.meta.event_id
        at = bisect_left(batch, event_id, key=event_id_of)
        if at == len(batch) or batch[at].meta.event_id != event_id:
            batch.insert(at, logged)
    return batch


def _first_id(events: list[LoggedEvent]) -> int:
    return events[0].meta.event_id


def _known_through(queue: list[LoggedEvent], known: int | None) -> int:
    """Up to which id a room's events are all at hand: what its last batch covers, or the
    last id of the rest of a full batch."""
    if known is not None:
        return known
    return queue[-1].meta.event_id
