"""A reconnect storm: many sockets resubscribe from the same id at once. They share the
event-log reads (one query per batch, not per socket), each still gets every event once and
in order; and a socket that finds no free database connection is told to retry, not closed."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event

CLIENTS = 60
SEEDED = 250  # two batches of REPLAY_BATCH (200)
BATCHES = 2
ROOM = "notifications"
REPLAY_READ = "event_log_rooms.room IN"  # the filter of the replay's batch read only


async def seed(live_server: Any) -> list[int]:
    """Old events in `ROOM`; returns their ids."""
    emitter = live_server.services.emitter
    ids = []
    for n in range(SEEDED):
        meta = await live_server.run_on_server(emitter.emit_notification(f"old {n}"))
        ids.append(meta.event_id)
    return ids


def gate_shared_reads(service: Any, callers: int) -> None:
    """Hold each replay until `callers` replays asked for the same batch, so that all of them
    ask before its read starts: the overlap a storm makes, made certain (the reads themselves
    run unchanged against the real database)."""
    original = service._shared
    arrivals: Counter[tuple[Any, ...]] = Counter()
    everyone: dict[tuple[Any, ...], asyncio.Event] = {}

    async def shared(key: tuple[Any, ...], read: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        arrived = everyone.setdefault(key, asyncio.Event())
        arrivals[key] += 1
        if arrivals[key] == callers:
            arrived.set()
        await arrived.wait()
        return await original(key, read, *args)

    service._shared = shared


def count_replay_reads(engine: Any) -> Callable[[], int]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if REPLAY_READ in statement:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return lambda: len(seen)


async def test_a_storm_of_resubscriptions_shares_each_batch_read(
    connect, api, live_server, make_user, admin
):
    seeded = await seed(live_server)
    since = seeded[0] - 1
    services = live_server.services
    async with asyncio.timeout(120):
        sockets = []
        for user in [admin, *[await make_user() for _ in range(CLIENTS // 15 - 1)]]:
            sockets += await asyncio.gather(*(connect(user) for _ in range(15)))
        gate_shared_reads(services.sockets, CLIENTS)
        reads = count_replay_reads(services.engine)
        acks = await asyncio.gather(
            *(
                sock.call("subscribe_event", {"event_type": ROOM, "since": since}, timeout=60)
                for sock in sockets
            )
        )
        assert [ack["ok"] for ack in acks] == [True] * CLIENTS, acks
        assert {ack["replayed"] for ack in acks} == {SEEDED}
        # Each batch was read once for all sixty sockets (one read each would be 120).
        assert reads() == BATCHES
        barrier = await live_server.run_on_server(services.emitter.emit_notification("barrier"))
        for sock in sockets:
            await sock.wait_for(
                "notification", lambda item: item.meta["event_id"] == barrier.event_id
            )
    for sock in sockets:
        ids = [item.meta["event_id"] for item in sock.events("notification")]
        assert ids == [*seeded, barrier.event_id]  # every one, once, in order
