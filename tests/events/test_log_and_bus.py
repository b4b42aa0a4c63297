"""The event log's retention and pruning, and the EventBus forwarding domain events."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from src.events.bus import EventBus
from src.events.log import EventLog
from src.events.models import EventRecord
from tests.support import Clock, use_clock


async def test_prune_deletes_expired_events_and_marks_replay_incomplete(db_session):
    clock = Clock()
    log = EventLog(retention_seconds=60, clock=clock)
    first = await log.append(db_session, "notification", {"n": 1}, ["notifications"])
    await db_session.commit()
    clock.advance(59)
    assert await log.prune(db_session) == 0
    clock.advance(2)
    second = await log.append(db_session, "notification", {"n": 2}, ["notifications"])
    await db_session.commit()

    assert await log.prune(db_session) == 1
    remaining = await log.read(db_session, "notifications", after=0)
    assert [e.meta.event_id for e in remaining] == [second.meta.event_id]
    assert await log.is_complete_after(db_session, first.meta.event_id - 1) is False
    assert await log.is_complete_after(db_session, first.meta.event_id) is True


async def test_event_ids_keep_increasing_after_the_newest_event_is_pruned(db_session):
    clock = Clock()
    log = EventLog(retention_seconds=60, clock=clock)
    old = await log.append(db_session, "notification", {}, ["notifications"])
    await db_session.commit()
    clock.advance(61)
    assert await log.prune(db_session) == 1
    new = await log.append(db_session, "notification", {}, ["notifications"])
    await db_session.commit()
    assert new.meta.event_id > old.meta.event_id


async def test_read_returns_only_the_rooms_events_in_id_order(db_session):
    log = EventLog(retention_seconds=60)
    a = await log.append(db_session, "x", {"n": 1}, ["r1", "r2"])
    await log.append(db_session, "x", {"n": 2}, ["r2"])
    c = await log.append(db_session, "x", {"n": 3}, ["r1", "r1"])
    await db_session.commit()
    events = await log.read(db_session, "r1", after=0)
    assert [e.meta.event_id for e in events] == [a.meta.event_id, c.meta.event_id]
    assert [e.meta.event_id for e in await log.read(db_session, "r1", after=a.meta.event_id)] == [
        c.meta.event_id
    ]


async def test_bus_forwards_to_every_subscriber_even_when_one_fails():
    bus = EventBus()
    seen = []

    async def broken(data):
        raise RuntimeError("broken subscriber")

    async def working(data):
        seen.append(data)

    bus.subscribe("memory_log.created", broken)
    bus.subscribe("memory_log.created", working)
    assert await bus.publish("memory_log.created", {"id": 1}) == 1
    assert seen == [{"id": 1}]


async def test_bus_forwards_domain_events_to_sockets(live_server, connect, alice):
    sock = await connect(alice)
    await sock.call("subscribe_event", {"event_type": "memory_logs"})
    log = {
        "id": 42,
        "user_id": alice.id,
        "content": "via bus",
        "created_at": "2026-01-01T00:00:00Z",
    }
    delivered = await live_server.run_on_server(
        live_server.services.bus.publish("memory_log.created", log)
    )
    assert delivered == 1
    [event] = await sock.wait_for("memory_log_created")
    assert event.data["content"] == "via bus"


async def test_the_server_prunes_expired_events_by_itself(
    live_server_factory, connect, alice, db_session
):
    server = live_server_factory(event_retention_seconds=4)  # checks every second
    clock = Clock()
    await use_clock(server, clock)
    async with httpx.AsyncClient(base_url=server.url) as http:
        await http.post("/api/memory-logs", json={"content": "soon gone"}, headers=alice.headers)
    assert await db_session.scalar(select(func.count()).select_from(EventRecord)) == 1
    clock.advance(5)  # past the retention: the next round of the pruner deletes it
    for _ in range(100):  # the pruner's round comes within a second of real time
        await asyncio.sleep(0.1)
        db_session.expire_all()
        if not await db_session.scalar(select(func.count()).select_from(EventRecord)):
            break
    assert await db_session.scalar(select(func.count()).select_from(EventRecord)) == 0
    sock = await connect(alice, url=server.url)
    ack = await sock.call("subscribe_event", {"event_type": "memory_logs", "since": 0})
    head = ack["head"]
    assert ack == {
        "ok": True,
        "event_type": "memory_logs",
        "replayed": 0,
        "complete": False,
        "head": head,
    }
