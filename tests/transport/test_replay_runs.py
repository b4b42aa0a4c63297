"""A replay's lists sent whole: `HoldingManager.claim_run` claims a list at once only when
claiming its events one by one would refuse none (and leaves the same record), `Runs` joins a
list's frames once per form, and a round's slices merge the same whether the small ones are
put into the largest or all are sorted. (The path through a real server, thousands of sockets
replayed the same lists: test_recovery_storm.py and test_resubscribe_storm.py.)"""

from __future__ import annotations

import random

import pytest

from src.events.log import LoggedEvent
from src.transport import replay_reads
from src.transport.holding import HoldingManager
from src.transport.replay_runs import Runs
from tests.transport.test_replay_reads import Log, event, reference

ROOMS = ["a", "b", "c", "d"]


def manager_in_state(seed: int) -> tuple[HoldingManager, list[tuple[int, tuple[str, ...]]]]:
    """A socket `s` in random rooms joined at random watermarks, holding, with some ids
    already claimed and some rooms covered, and an ascending list of events to claim."""
    rng = random.Random(seed)
    manager = HoldingManager()
    manager.live_through = rng.randrange(0, 30)
    for room in rng.sample(ROOMS, rng.randrange(1, 4)):
        manager.live_through = rng.randrange(0, 30)
        manager.basic_enter_room("s", "/", room, eio_sid="e")
    manager.live_through = rng.randrange(0, 40)
    manager.hold("s")
    for _ in range(rng.randrange(0, 3)):
        manager.claim("s", rng.randrange(1, 40), tuple(rng.sample(ROOMS, 1)))
    if rng.random() < 0.3:
        manager.covered("s", rng.choice(ROOMS), rng.randrange(0, 30))
    first = rng.randrange(1, 40)
    ids = sorted(rng.sample(range(first, first + 30), rng.randrange(1, 8)))
    return manager, [(n, tuple(rng.sample(ROOMS, rng.randrange(1, 3)))) for n in ids]


def record(manager: HoldingManager) -> tuple[set[int], int]:
    state = manager._replays["s"]
    return set(state.replayed), state.through


def test_a_list_is_claimed_at_once_only_when_each_claim_would_take_every_event():
    at_once = 0
    for seed in range(3000):
        by_run, events = manager_in_state(seed)
        one_by_one, _ = manager_in_state(seed)
        each = [one_by_one.claim("s", n, rooms) for n, rooms in events]
        before = record(by_run)
        if by_run.claim_run("s", tuple(n for n, _ in events)):
            at_once += 1
            assert all(each), (seed, events, each)
            assert record(by_run) == record(one_by_one)  # the same record as one by one
        else:
            assert record(by_run) == before  # refused: nothing claimed
    assert at_once > 300  # both outcomes are exercised


def test_a_list_claimed_once_is_not_claimed_again_nor_its_events():
    manager = HoldingManager()
    manager.basic_enter_room("s", "/", "a", eio_sid="e")
    manager.hold("s")
    assert manager.claim_run("s", (3, 4, 5))
    assert not manager.claim_run("s", (4, 5, 6))
    assert not manager.claim("s", 4, ("a",))
    assert manager.claim("s", 6, ("a",))


def frames_of(logged: LoggedEvent, marked: bool) -> tuple[None, bytes | None]:
    if logged.meta.event_id == 99:
        return None, None  # binary parts: no frame
    return None, f"{logged.meta.event_id}{'+' if marked else ''};".encode()


def test_a_list_is_joined_once_per_form_and_not_past_the_budget():
    runs = Runs()
    made: list[int] = []

    def encoded(logged: LoggedEvent, marked: bool) -> tuple[None, bytes | None]:
        made.append(logged.meta.event_id)
        return frames_of(logged, marked)

    batch = [event(n, ("a",)) for n in (1, 2, 3)]
    run = runs.joined(batch, True, encoded, 100)
    assert run is not None and run.ids == (1, 2, 3) and run.frames == b"1+;2+;3+;"
    assert runs.joined(list(batch), True, encoded, 100) is run  # a list equal to it, once
    assert made == [1, 2, 3]
    plain = runs.joined(batch, False, encoded, 100)
    assert plain is not None and plain.frames == b"1;2;3;"
    assert runs.joined(batch, False, encoded, 5) is not None  # kept: one server, one budget
    assert Runs().joined(batch, False, encoded, 5) is None  # 6 bytes: sent a slice at a time
    assert Runs().joined([*batch, event(99, ("a",))], False, encoded, 100) is None


def test_lists_alike_at_their_ends_are_joined_each_from_its_own_events():
    """Two users' lists: the shared room's events with each user's own status event between
    them (the same first and last id, the same length): each gets its own frames, and each
    again when asked again, one after the other."""
    runs = Runs()
    mine = [event(1, ("n",)), event(2, ("u1",)), event(4, ("n",))]
    theirs = [event(1, ("n",)), event(3, ("u2",)), event(4, ("n",))]
    for _ in range(2):
        for batch, frames in ((mine, b"1;2;4;"), (theirs, b"1;3;4;")):
            run = runs.joined(list(batch), False, frames_of, 100)
            assert run is not None and run.frames == frames
            assert run.ids == tuple(logged.meta.event_id for logged in batch)


@pytest.mark.parametrize("by_inserts", [0, 1000])
async def test_rounds_merge_alike_by_inserts_or_by_a_sort(monkeypatch, by_inserts):
    """Random logs of four rooms, every `since`, with the small slices put into the largest
    or everything sorted: the flattened lists are exactly the events owed."""
    monkeypatch.setattr(replay_reads, "MERGE_BY_INSERTS", by_inserts)
    rng = random.Random(11)
    choices = [("a",), ("b",), ("c",), ("d",), ("a", "b"), ("b", "c", "d"), ("a", "d")]
    for _ in range(30):
        log = Log([rng.choice(choices) for _ in range(rng.randrange(0, 30))])
        reads = log.reader()
        for since in range(len(log.events) + 1):
            rooms = rng.sample(ROOMS, rng.randrange(1, 5))
            lists = [batch async for batch in reads.batches(rooms, since)]
            assert all(lists), lists
            flat = [logged.meta.event_id for batch in lists for logged in batch]
            assert flat == reference(log, rooms, since)
