"""The replay side of the event log in one statement each: a room's batch with all the rooms
of its events (`read_room`) is what `read(..., all_rooms=True)` returns, retention and all,
and `is_complete_after` still tells an expired or pruned event after an id."""

from __future__ import annotations

from src.events.log import EventLog
from tests.support import Clock


def as_read(events):
    return [(e.meta, e.data, sorted(e.rooms)) for e in events]


async def test_a_rooms_batch_in_one_statement_is_what_the_two_statement_read_returns(db_session):
    clock = Clock()
    log = EventLog(retention_seconds=60, clock=clock)
    expired = await log.append(db_session, "x", {"n": 0}, ["r1"])
    clock.advance(61)  # `expired` is past retention, not pruned yet: neither read returns it
    ids = [expired.meta.event_id]
    for n, rooms in enumerate([["r1", "r2"], ["r2"], ["r1"], ["user_3", "r1", "admins"], ["r1"]]):
        ids.append(
            (await log.append(db_session, "x", {"n": n, "é": [1.5, None]}, rooms)).meta.event_id
        )
    await db_session.commit()
    for after in ids:
        for limit in (1, 2, 10):
            one = await log.read_room(db_session, "r1", after=after, limit=limit)
            two = await log.read(db_session, "r1", after=after, limit=limit, all_rooms=True)
            assert as_read(one) == as_read(two)
            assert [tuple(sorted(e.rooms)) for e in one] == [e.rooms for e in one]
    batch = await log.read_room(db_session, "r1", after=0, limit=10)
    assert [e.meta.event_id for e in batch] == [ids[1], ids[3], ids[4], ids[5]]
    assert batch[2].rooms == ("admins", "r1", "user_3")


async def test_completeness_after_an_id_sees_expired_and_pruned_events(db_session):
    clock = Clock()
    log = EventLog(retention_seconds=60, clock=clock)
    first = await log.append(db_session, "x", {}, ["r1"])
    await db_session.commit()
    assert await log.is_complete_after(db_session, first.meta.event_id - 1) is True
    clock.advance(61)  # expired, still stored
    assert await log.is_complete_after(db_session, first.meta.event_id - 1) is False
    assert await log.is_complete_after(db_session, first.meta.event_id) is True
    assert await log.prune(db_session) == 1  # pruned: the watermark says so
    assert await log.is_complete_after(db_session, first.meta.event_id - 1) is False
    assert await log.is_complete_after(db_session, first.meta.event_id) is True
