"""`ReplayReads` on its own, over a log held in a list: how replays merge their rooms' batches
and when a kept batch is read again. (The reads against the real database, shared by many
sockets, are in test_resubscribe_storm.py and test_recovery_storm.py.)"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from src.events.log import LoggedEvent
from src.events.schemas import EventMeta
from src.transport.replay_reads import ReplayReads

BATCH = 3


class Log:
    """Events with their rooms, a live position, and the last live id of each room."""

    def __init__(self, rooms_of_each: list[tuple[str, ...]]) -> None:
        self.events = [event(n + 1, rooms) for n, rooms in enumerate(rooms_of_each)]
        self.position = len(self.events)
        self.room_live: dict[str, int] = {}
        self.reads: list[tuple[str, int]] = []

    async def read(self, room: str, after: int) -> list[LoggedEvent]:
        self.reads.append((room, after))
        found = [e for e in self.events if room in e.rooms and e.meta.event_id > after]
        return found[:BATCH]

    def append_live(self, rooms: tuple[str, ...]) -> None:
        self.events.append(event(len(self.events) + 1, rooms))
        self.position = len(self.events)
        for room in rooms:
            self.room_live[room] = self.position

    def reader(self) -> ReplayReads:
        return ReplayReads(
            self.read,
            batch=BATCH,
            position=lambda: self.position,
            room_live=lambda room: self.room_live.get(room, 0),
        )


def event(event_id: int, rooms: tuple[str, ...]) -> LoggedEvent:
    meta = EventMeta(event_id=event_id, event_type="notification", emitted_at=datetime.now(UTC))
    return LoggedEvent(meta=meta, data={}, rooms=rooms)


async def replay(reads: ReplayReads, rooms: list[str], since: int) -> list[int]:
    return [logged.meta.event_id async for logged in reads.merged(rooms, since)]


async def test_rooms_merge_in_id_order_and_an_event_of_two_rooms_comes_once():
    log = Log([("a",), ("b",), ("a", "b"), ("a",), ("b",), ("a",), ("a", "b"), ("b",)])
    assert await replay(log.reader(), ["a", "b"], 0) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert await replay(log.reader(), ["b", "a"], 3) == [4, 5, 6, 7, 8]


async def test_later_replays_read_nothing_again_even_from_other_ids():
    log = Log([("a",)] * 7)
    reads = log.reader()
    assert await replay(reads, ["a"], 0) == [1, 2, 3, 4, 5, 6, 7]
    first = len(log.reads)
    assert first == 3  # 1-3, 4-6, 7
    for since in range(8):  # each resumes from the batch holding its id
        assert await replay(reads, ["a"], since) == list(range(since + 1, 8))
    assert len(log.reads) == first
    assert reads.queries == first


async def test_a_new_event_of_the_room_ends_the_keeping_of_its_last_batch_only():
    log = Log([("a",)] * 4 + [("b",)])
    reads = log.reader()
    assert await replay(reads, ["a", "b"], 0) == [1, 2, 3, 4, 5]
    log.append_live(("a",))  # 6, live in `a`: `b`'s batch still holds all of `b`
    before = list(log.reads)
    assert await replay(reads, ["a", "b"], 0) == [1, 2, 3, 4, 5, 6]
    assert log.reads[len(before) :] == [("a", 3)]  # the full first batch of `a` was kept


async def test_a_replay_stops_before_what_a_room_read_earlier_may_lack():
    """Room `b` was read at position 2; an event of `a` above it may hide a later one of
    `b` that the socket will receive live, so the replay leaves the rest to the live stream."""
    log = Log([("a",), ("b",)])
    reads = log.reader()
    assert await replay(reads, ["b"], 0) == [2]
    log.events.append(event(3, ("a",)))  # committed, not yet live: position stays 2
    assert await replay(reads, ["a", "b"], 0) == [1, 2]


async def test_a_replay_asking_as_a_read_ends_finds_its_batch_kept_not_read_again():
    """Between a read's end and the moment its callers resume, the batch is already kept: a
    replay asking in that gap (a storm's sockets ask continuously) reads nothing again."""
    log = Log([("a",)] * 2)
    gate = asyncio.Event()
    read = log.read

    async def gated(room: str, after: int) -> list[LoggedEvent]:
        await gate.wait()
        return await read(room, after)

    log.read = gated  # type: ignore[method-assign]
    reads = log.reader()
    first = asyncio.ensure_future(reads.read("a", 0))
    await asyncio.sleep(0)  # the first read is under way, held at the gate
    gate.set()
    await asyncio.sleep(0)  # the read ran to its end; its caller has not resumed yet
    assert not first.done()
    asked_in_the_gap, _ = await reads.read("a", 0)
    assert [e.meta.event_id for e in asked_in_the_gap] == [1, 2]
    assert log.reads == [("a", 0)]  # one read for both
    events, _ = await first
    assert [e.meta.event_id for e in events] == [1, 2]


async def test_a_read_under_way_is_shared_while_only_other_rooms_went_live():
    """A storm's own status events go live in other rooms while a room's batch is read: a
    replay asking then joins that read. An event of the room itself splits it."""
    log = Log([("a",)] * 2)
    gate = asyncio.Event()
    read = log.read

    async def gated(room: str, after: int) -> list[LoggedEvent]:
        found = await read(room, after)  # what the database's snapshot holds as it starts
        await gate.wait()
        return found

    log.read = gated  # type: ignore[method-assign]
    reads = log.reader()
    first = asyncio.ensure_future(reads.read("a", 0))
    await asyncio.sleep(0)  # under way, held at the gate
    log.append_live(("b",))  # 3: the position moves, not `a`'s last live id
    joined = asyncio.ensure_future(reads.read("a", 0))
    await asyncio.sleep(0)
    log.append_live(("a",))  # 4, in `a`: a replay asking now needs a read of its own
    split = asyncio.ensure_future(reads.read("a", 0))
    gate.set()
    results = await asyncio.gather(first, joined, split)
    assert [[e.meta.event_id for e in events] for events, _ in results] == [[1, 2]] * 2 + [
        [1, 2, 4]
    ]
    assert log.reads == [("a", 0), ("a", 0)]


def reference(log: Log, rooms: list[str], since: int) -> list[int]:
    """What a replay must send at the log's position: every event of `rooms` after `since`
    up to it, once, in id order (the later ones come live)."""
    return [
        e.meta.event_id
        for e in log.events
        if since < e.meta.event_id <= log.position and set(rooms) & set(e.rooms)
    ]


async def test_batches_are_whole_lists_in_id_order_and_kept_batches_stay_unchanged():
    """A replay gets lists (one pass per list, not one per event): for one room, each batch
    as read; for several, each merged round. Random logs of three rooms, every `since`: the
    flattened lists are exactly the events owed, and the kept batches are never cut."""
    rng = random.Random(7)
    choices = [("a",), ("b",), ("c",), ("a", "b"), ("b", "c"), ("a", "b", "c")]
    for _ in range(40):
        log = Log([rng.choice(choices) for _ in range(rng.randrange(0, 25))])
        reads = log.reader()
        for since in range(len(log.events) + 1):
            rooms = rng.sample(["a", "b", "c"], rng.randrange(1, 4))
            lists = [batch async for batch in reads.batches(rooms, since)]
            assert all(lists), lists  # no empty list is yielded
            flat = [logged.meta.event_id for batch in lists for logged in batch]
            assert flat == reference(log, rooms, since)
        # Replayed again from the start, the kept batches give the same events.
        for rooms in (["a"], ["a", "b", "c"]):
            again = [e.meta.event_id async for e in reads.merged(rooms, 0)]
            assert again == reference(log, rooms, 0)
    one_room = Log([("a",)] * 7)
    sizes = [len(batch) async for batch in one_room.reader().batches(["a"], 0)]
    assert sizes == [BATCH, BATCH, 1]  # a batch read is one list


async def test_an_event_going_live_joins_the_kept_last_batches_of_its_rooms():
    """The relay hands each event to `went_live` before its rooms' live ids move: a room's
    last batch kept takes it in and is not read again (a storm's users' own status events).
    An event of the room that went live without it (another process's relay) still ends the
    keeping."""
    log = Log([("a",), ("b",)])
    reads = log.reader()
    assert await replay(reads, ["a", "b"], 0) == [1, 2]
    first = len(log.reads)
    log.events.append(event(3, ("a", "b")))
    reads.went_live(log.events[-1])  # before the live ids move, as `deliver` calls it
    log.position = log.room_live["a"] = log.room_live["b"] = 3  # now they move
    assert await replay(reads, ["a", "b"], 0) == [1, 2, 3]
    assert await replay(reads, ["b"], 1) == [2, 3]
    assert await replay(reads, ["a"], 0) == [1, 3]
    assert len(log.reads) == first  # nothing read again
    log.append_live(("b",))  # 4, not handed to `went_live`
    assert await replay(reads, ["a", "b"], 0) == [1, 2, 3, 4]
    assert log.reads[first] == ("b", 0)  # `b` read again (then past its full batch)
    assert all(room == "b" for room, _after in log.reads[first:])  # `a`'s batch still kept
