"""`ReplayReads` on its own, over a log held in a list: how replays merge their rooms' batches
and when a kept batch is read again. (The reads against the real database, shared by many
sockets, are in test_resubscribe_storm.py and test_recovery_storm.py.)"""

from __future__ import annotations

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
