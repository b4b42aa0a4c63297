"""The relay's hand-off (`Signals.hand_off`): a grouped write's committed event reaches the
relay as a read of the log returns it, and the relay sends handed events without reading them
back only when that is what a read would send. Routes' writes, withheld hand-offs and polls
interleaved with hot writes: every event once, in id order, none skipped."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from src.app.services import AppServices
from src.cluster.cluster import LocalCluster
from src.cluster.relay import SAVE_EVERY_SECONDS, SAVE_HANDED_EVERY_SECONDS, EventRelay
from src.cluster.signals import Signals
from src.events.grouped_writes import GroupedWrites
from src.events.log import EventLog, LoggedEvent, log_position
from src.memory_logs.models import MemoryLog

STATEMENT = select(func.count()).select_from(MemoryLog)  # any statement: a read here


def _grouped(services: AppServices) -> GroupedWrites:
    grouped = services.socket_service.grouped
    if grouped is None:
        pytest.skip("group commit and its hand-off are SQLite's")
    return grouped


class Recorder:
    """A relay over its own signals, recording what it delivers and how often it reads."""

    def __init__(self, services: AppServices) -> None:
        self.services = services
        self.signals = Signals(shared=False)
        self.log = CountingLog(services.event_log)
        self.sent: list[LoggedEvent] = []
        self.relay = EventRelay(
            services.sessionmaker, self.log, LocalCluster(self.signals), self._deliver
        )

    async def _deliver(self, logged: LoggedEvent) -> None:
        self.sent.append(logged)

    async def start(self) -> None:
        async with self.services.sessionmaker() as session:
            self.relay.cursor = await log_position(session)
        await self.relay.relay_once()  # reads once: caught up

    async def hot(self, hand: bool = True) -> LoggedEvent:
        """A grouped write; `hand=False`: its caller went away before handing it over."""
        spec = ("notification", {"message": "m"}, ("notifications", "admins"))
        _, logged = await _grouped(self.services).write(STATEMENT, {}, lambda _v: spec)
        assert logged is not None
        if hand:
            self.signals.hand_off(logged)
        return logged

    async def route(self) -> int:
        """A write through a session (a FastAPI route's), which wakes the relay."""
        async with self.services.sessionmaker() as session:
            logged = await self.log.append(session, "notification", {"message": "r"}, ["x"])
            await session.commit()
        self.signals.wake()
        return logged.meta.event_id

    async def drain(self) -> None:
        while await self.relay.relay_once():
            pass

    async def stored(self, after: int) -> list[LoggedEvent]:
        async with self.services.sessionmaker() as session:
            return await self.log.read_all(session, after=after, limit=10_000)


class CountingLog(EventLog):
    """The app's event log, counting the relay's reads."""

    def __init__(self, log: EventLog) -> None:
        super().__init__(int(log.retention.total_seconds()), clock=log.clock)
        self.reads = 0

    async def read_all(self, session: Any, *, after: int, limit: int) -> list[LoggedEvent]:
        self.reads += 1
        return await super().read_all(session, after=after, limit=limit)


async def test_a_handed_event_is_what_a_read_returns(services: AppServices) -> None:
    grouped = _grouped(services)
    plus_two = timezone(timedelta(hours=2))
    grouped.event_log.clock = lambda: datetime(2026, 12, 7, 8, 0, 0, 123456, tzinfo=plus_two)
    data = {"message": "é\u2028", "n": 1.5, "nested": {"b": [1, None, True]}}
    spec = ("notification", data, ("user_7", "admins", "notifications"))
    _, handed = await grouped.write(STATEMENT, {}, lambda _v: spec)
    assert handed is not None
    async with services.sessionmaker() as session:
        read = await services.event_log.read_all(session, after=handed.meta.event_id - 1, limit=1)
    assert read == [handed]
    assert handed.meta.emitted_at == datetime(2026, 12, 7, 6, 0, 0, 123456, tzinfo=UTC)
    assert handed.meta.model_dump(mode="json") == read[0].meta.model_dump(mode="json")


async def test_handed_events_in_a_row_are_sent_without_reading(services: AppServices) -> None:
    recorder = Recorder(services)
    await recorder.start()
    reads = recorder.log.reads
    handed = [await recorder.hot() for _ in range(3)]
    await recorder.drain()
    assert recorder.sent == handed
    assert recorder.log.reads == reads  # none read back


async def test_interleaved_routes_withheld_hand_offs_and_polls_send_each_once_in_order(
    services: AppServices,
) -> None:
    recorder = Recorder(services)
    await recorder.start()
    start = recorder.relay.cursor
    assert start is not None
    rng = random.Random(14)
    for _ in range(60):
        step = rng.random()
        if step < 0.5:
            await recorder.hot()
        elif step < 0.6:
            await recorder.hot(hand=False)  # a gap in what was handed: read from the log
        elif step < 0.75:
            await recorder.route()
        if rng.random() < 0.4:
            await recorder.relay.relay_once()
    await recorder.signals.wait_for_wake(0)  # a poll: the withheld last ones are read
    await recorder.drain()
    stored = await recorder.stored(after=start)
    assert len(stored) >= 40
    assert recorder.sent == stored  # every stored event once, in id order, as read


async def test_a_route_write_after_hand_offs_is_read_not_waited_for(
    services: AppServices,
) -> None:
    """Nothing after the route's event is handed over: its wake-up alone makes the read."""
    recorder = Recorder(services)
    await recorder.start()
    handed = [await recorder.hot(), await recorder.hot()]
    route = await recorder.route()
    await recorder.relay.relay_once()
    ids = [e.meta.event_id for e in recorder.sent]
    assert ids == [handed[0].meta.event_id, handed[1].meta.event_id, route]


async def test_a_withheld_hand_off_is_read_before_the_next_handed_one(
    services: AppServices,
) -> None:
    recorder = Recorder(services)
    await recorder.start()
    withheld = await recorder.hot(hand=False)
    handed = await recorder.hot()
    reads = recorder.log.reads
    await recorder.relay.relay_once()
    assert recorder.sent == [withheld, handed]
    assert recorder.log.reads == reads + 1


async def test_a_failed_delivery_of_handed_events_is_read_again(services: AppServices) -> None:
    recorder = Recorder(services)
    await recorder.start()
    handed = [await recorder.hot() for _ in range(3)]
    failing = True

    async def deliver(logged: LoggedEvent) -> None:
        if failing and logged is handed[1]:
            raise ConnectionError("the cluster is down")
        recorder.sent.append(logged)

    recorder.relay.deliver = deliver
    with pytest.raises(ConnectionError):
        await recorder.relay.relay_once()
    recorder.relay._behind = True  # as `run_forever` does on a failure
    failing = False
    await recorder.drain()
    assert [e.meta.event_id for e in recorder.sent] == [e.meta.event_id for e in handed]


async def _stored_cursor(services: AppServices) -> int:
    async with services.sessionmaker() as session:
        return await services.event_log.relay_cursor(session)


async def test_handed_events_store_the_cursor_at_most_every_few_seconds(
    services: AppServices,
) -> None:
    """A cursor save is a commit on the write turn, which a hot write would wait for: while
    the events come handed over, the stored cursor moves every `SAVE_HANDED_EVERY_SECONDS`,
    not every `SAVE_EVERY_SECONDS` (the relay's last save is set back, not slept for)."""
    recorder = Recorder(services)
    async with services.sessionmaker() as session:
        await services.event_log.ensure_relay_cursor(session)
    await recorder.start()
    before = await _stored_cursor(services)
    recorder.relay._saved_at = time.monotonic() - 2 * SAVE_EVERY_SECONDS
    first = await recorder.hot()
    await recorder.drain()
    assert recorder.sent == [first]
    assert await _stored_cursor(services) == before  # sent, not stored yet
    recorder.relay._saved_at = time.monotonic() - SAVE_HANDED_EVERY_SECONDS
    second = await recorder.hot()
    await recorder.drain()
    assert recorder.sent == [first, second]
    assert await _stored_cursor(services) == second.meta.event_id
