"""A reconnect storm: many sockets resubscribe from the same id, at once or one after another.
They share the event-log reads (one query per room and batch while the live position stands,
not per socket), each still gets every event once and in order; and a socket that finds no
free database connection is told to retry, not closed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

CLIENTS = 60
SEEDED = 250  # two batches of REPLAY_BATCH (200)
BATCHES = 2
ROOM = "notifications"
REPLAY_READ = "event_log_rooms.room = "  # the filter of the replay's batch read only


async def seed(live_server: Any, watcher: Any) -> list[int]:
    """Old events in `ROOM`, returns their ids, once `watcher` (subscribed) received the last
    live: every earlier event went live before it (the storm's users' status events too), so
    the live position then stands still until the test emits again."""
    emitter = live_server.services.emitter
    ids = []
    for n in range(SEEDED):
        meta = await live_server.run_on_server(emitter.emit_notification(f"old {n}"))
        ids.append(meta.event_id)
    await watcher.wait_for("notification", lambda item: item.meta["event_id"] == ids[-1])
    return ids


def count_replay_reads(engine: Any) -> Callable[[], int]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if REPLAY_READ in statement:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return lambda: len(seen)


async def storm_sockets(connect: Any, make_user: Any, admin: Any) -> list[Any]:
    sockets = []
    for user in [admin, *[await make_user() for _ in range(CLIENTS // 15 - 1)]]:
        sockets += await asyncio.gather(*(connect(user) for _ in range(15)))
    return sockets


async def storm_ready(
    connect: Any, live_server: Any, make_user: Any, admin: Any
) -> tuple[list[Any], list[int], Callable[[], int]]:
    """The storm's sockets (connected first: their status events go live before the seed),
    the seeded ids, and the replay reads counted from then on."""
    sockets = await storm_sockets(connect, make_user, admin)
    watcher = await connect(admin)
    assert (await subscribe(watcher, 0))["ok"]
    seeded = await seed(live_server, watcher)
    return sockets, seeded, count_replay_reads(live_server.services.engine)


async def subscribe(sock: Any, since: int) -> dict[str, Any]:
    ack: dict[str, Any] = await sock.call(
        "subscribe_event", {"event_type": ROOM, "since": since}, timeout=60
    )
    return ack


async def check_every_event_once_in_order(
    live_server: Any, sockets: list[Any], seeded: list[int]
) -> None:
    services = live_server.services
    barrier = await live_server.run_on_server(services.emitter.emit_notification("barrier"))
    for sock in sockets:
        await sock.wait_for("notification", lambda item: item.meta["event_id"] == barrier.event_id)
    for sock in sockets:
        ids = [item.meta["event_id"] for item in sock.events("notification")]
        assert ids == [*seeded, barrier.event_id]  # every one, once, in order


async def test_a_storm_of_resubscriptions_shares_each_batch_read(
    connect, api, live_server, make_user, admin
):
    async with asyncio.timeout(120):
        sockets, seeded, reads = await storm_ready(connect, live_server, make_user, admin)
        acks = await asyncio.gather(*(subscribe(sock, seeded[0] - 1) for sock in sockets))
        assert [ack["ok"] for ack in acks] == [True] * CLIENTS, acks
        assert {ack["replayed"] for ack in acks} == {SEEDED}
        # Each batch was read at most once for all sixty sockets (one read each would be
        # 120); the first was kept from the watcher's replay, filled as the seed went live.
        assert 1 <= reads() <= BATCHES
        await check_every_event_once_in_order(live_server, sockets, seeded)


async def test_replays_one_after_another_share_the_reads_while_nothing_new_went_live(
    connect, api, live_server, make_user, admin
):
    """A replay that starts after another ended reads nothing again: the live position has
    not moved, so the batches read then hold all that a read of its own would."""
    async with asyncio.timeout(120):
        sockets, seeded, reads = await storm_ready(connect, live_server, make_user, admin)
        for sock in sockets:
            ack = await subscribe(sock, seeded[0] - 1)
            assert ack["ok"] and ack["replayed"] == SEEDED, ack
        assert 1 <= reads() <= BATCHES
        await check_every_event_once_in_order(live_server, sockets, seeded)
        # Something new went live in the room (the barrier): the relay handed it to the
        # room's last kept batch as it went out, so the next replay gets it without a read.
        late = await connect(admin)
        reads_before = reads()
        ack = await subscribe(late, seeded[0] - 1)
        assert ack["ok"] and ack["replayed"] == SEEDED + 1, ack
        assert reads() == reads_before


async def test_a_resubscription_from_what_the_socket_already_has_reads_and_sends_nothing(
    connect, api, live_server, make_user, admin
):
    """A client resubscribing from an id after which it has every event of the room (live
    here, or from a replay that ended: its recovery replay) gets no replay: nothing is read
    from the log, nothing sent twice, and the live stream goes on once, in order."""
    async with asyncio.timeout(60):
        sock = await connect(admin)
        assert (await subscribe(sock, 0))["ok"]
        emitter = live_server.services.emitter
        ids = [
            (await live_server.run_on_server(emitter.emit_notification(f"live {n}"))).event_id
            for n in range(3)
        ]
        await sock.wait_for("notification", lambda item: item.meta["event_id"] == ids[-1])
        reads = count_replay_reads(live_server.services.engine)
        ack = await subscribe(sock, ids[0] - 1)  # it had joined before ids[0] went live
        assert ack["ok"] and ack["replayed"] == 0, ack
        assert reads() == 0  # before: the room's last batch was read again (it went live)
        barrier = await live_server.run_on_server(emitter.emit_notification("barrier"))
        await sock.wait_for("notification", lambda item: item.meta["event_id"] == barrier.event_id)
        got = [item.meta["event_id"] for item in sock.events("notification")]
        assert got == [*ids, barrier.event_id]


async def test_a_resubscription_owed_nothing_holds_nothing_and_its_head_has_arrived(
    connect, api, live_server, make_user, admin
):
    """A socket already in the room since before `since` (a client resubscribing after its
    recovery replay) is answered without holding its live events or joining again, while
    events keep going live: each arrives once, in order, and every event at or below the
    ack's `head` has reached the client before the ack."""
    async with asyncio.timeout(60):
        sock = await connect(admin)
        assert (await subscribe(sock, 0))["ok"]
        emitter = live_server.services.emitter
        first = await live_server.run_on_server(emitter.emit_notification("first"))
        await sock.wait_for("notification", lambda item: item.meta["event_id"] == first.event_id)
        manager = live_server.services.sockets.sio.manager
        holds: list[str] = []
        hold = manager.hold
        manager.hold = lambda sid: (holds.append(sid), hold(sid))[1]
        written: list[int] = []

        async def writes() -> None:
            for n in range(20):
                meta = await live_server.run_on_server(emitter.emit_notification(f"n {n}"))
                written.append(meta.event_id)

        task = asyncio.ensure_future(writes())
        try:
            for _ in range(20):
                ack = await subscribe(sock, first.event_id)
                assert ack["ok"] and ack["replayed"] == 0, ack
                got = {item.meta["event_id"] for item in sock.events("notification")}
                owed = [n for n in written if n <= ack["head"] and n not in got]
                assert owed == [], (ack, written)  # nothing at or below `head` after the ack
            await task
        finally:
            manager.hold = hold
        assert holds == []  # before: each resubscription held the socket and joined again
        barrier = await live_server.run_on_server(emitter.emit_notification("barrier"))
        await sock.wait_for("notification", lambda item: item.meta["event_id"] == barrier.event_id)
        got = [item.meta["event_id"] for item in sock.events("notification")]
        assert got == [first.event_id, *written, barrier.event_id]
