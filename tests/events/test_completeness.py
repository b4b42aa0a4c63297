"""`Completeness`: a storm's thousands of "is the log complete after this id?" cost a read per
id, while the answer cannot have changed; it changes as events leave the retention window,
and then the next ask reads it again (a false answer stays false)."""

from __future__ import annotations

import asyncio

from src.app.services import AppServices
from src.events.completeness import MARGIN, Completeness
from src.events.log import EventLog
from tests.support import Clock

RETENTION = 3600


async def _append(services: AppServices, log: EventLog) -> int:
    """An event committed to room `r`; its id."""
    async with services.sessionmaker() as session:
        event_id = (await log.append(session, "x", {}, ["r"])).meta.event_id
        await session.commit()
    return event_id


async def test_the_answer_is_read_once_per_id_until_an_event_after_it_may_have_expired(
    services: AppServices,
) -> None:
    clock = Clock()
    log = EventLog(RETENTION, clock=clock)
    completeness = Completeness(services.sessionmaker, log)
    since = await _append(services, log) - 1
    assert await asyncio.gather(*(completeness.after(since) for _ in range(50))) == [True] * 50
    clock.advance(RETENTION - MARGIN.total_seconds() - 1)
    assert await completeness.after(since) is True
    assert completeness.reads == 1
    clock.advance(2)  # `first` may be about to expire: read again (still there, still in)
    assert await completeness.after(since) is True
    assert completeness.reads == 2
    clock.advance(MARGIN.total_seconds())  # past retention: incomplete, and for good
    assert await completeness.after(since) is False
    assert await completeness.after(since) is False
    assert completeness.reads == 3


async def test_an_event_committed_after_the_read_is_counted_once_it_may_expire(
    services: AppServices,
) -> None:
    clock = Clock()
    log = EventLog(RETENTION, clock=clock)
    completeness = Completeness(services.sessionmaker, log)
    position = await _append(services, log)
    assert await completeness.after(position) is True  # nothing after it yet
    clock.advance(10)
    await _append(services, log)  # stamped after the read began
    clock.advance(RETENTION - MARGIN.total_seconds() - 20)  # the kept answer still holds
    assert await completeness.after(position) is True
    assert completeness.reads == 1
    clock.advance(MARGIN.total_seconds() + 30)  # the new event is past retention now
    assert await completeness.after(position) is False
    assert completeness.reads == 2
