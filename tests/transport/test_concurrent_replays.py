"""Several rooms replayed at once on one socket while users write: per room, ids only go up,
and no event reaches the socket twice (the TypeScript client resubscribes every room at once
after a reconnect)."""

from __future__ import annotations

import asyncio
from collections import Counter
from itertools import pairwise

import pytest

SEEDED = 200
WRITERS = 12
WRITES_EACH = 12
SUBSCRIBE_DELAYS = (0.05, 0.4, 0.8)


def room_by_event_type(item):
    return "memory_logs" if item.event.startswith("memory_log") else "mental_notes"


def room_by_owner(item):
    return f"user_{item.data['user_id']}"


async def seed(live_server, users):
    """Old events, so that each replay takes a while."""
    emitter = live_server.services.emitter
    for n in range(SEEDED):
        owner = users[n % len(users)]
        item = {"id": n + 1, "user_id": owner.id, "created_at": "2026-11-29T00:00:00Z"}
        if n % 2:
            coroutine = emitter.emit_memory_log_created({**item, "content": f"old {n}"})
        else:
            coroutine = emitter.emit_mental_note_created({**item, "title": "t", "content": "c"})
        await live_server.run_on_server(coroutine)


async def write(api, user, count):
    for n in range(count):
        if n % 2:
            response = await api.post(
                "/api/memory-logs", json={"content": f"new {n}"}, headers=user.headers
            )
        else:
            body = {"title": f"new {n}", "content": "c"}
            response = await api.post("/api/mental-notes", json=body, headers=user.headers)
        assert response.status_code == 201


async def resubscribe_at(connect, admin, rooms, delay):
    """A socket that resubscribes every room at once, `delay` seconds into the writes."""
    await asyncio.sleep(delay)
    sock = await connect(admin)
    acks = await asyncio.gather(
        *(sock.call("subscribe_event", {"event_type": room, "since": 0}) for room in rooms)
    )
    assert all(ack["ok"] for ack in acks), acks
    return sock


def figures(sock, room_of):
    """How many item events arrived, which ids twice, and per room how many went back."""
    carried = [item for item in sock.received if item.event.startswith(("memory_", "mental_"))]
    ids = [item.meta["event_id"] for item in carried]
    repeated = sorted(event_id for event_id, times in Counter(ids).items() if times > 1)
    per_room: dict[str, list[int]] = {}
    for item in carried:
        per_room.setdefault(room_of(item), []).append(item.meta["event_id"])
    overtaken = {
        room: sum(1 for earlier, later in pairwise(room_ids) if later <= earlier)
        for room, room_ids in per_room.items()
    }
    return len(ids), repeated, overtaken


@pytest.mark.parametrize("rooms_of", ["by_type", "by_owner"])
async def test_rooms_resubscribed_at_once_during_writes_keep_order_and_never_repeat(
    connect, api, live_server, make_user, admin, rooms_of
):
    users = [await make_user() for _ in range(WRITERS)]
    if rooms_of == "by_type":
        rooms, room_of = ["memory_logs", "mental_notes"], room_by_event_type
    else:
        rooms, room_of = [f"user_{user.id}" for user in users], room_by_owner
    await seed(live_server, users)
    async with asyncio.timeout(120):
        writers = [asyncio.create_task(write(api, user, WRITES_EACH)) for user in users]
        sockets = await asyncio.gather(
            *(resubscribe_at(connect, admin, rooms, delay) for delay in SUBSCRIBE_DELAYS)
        )
        await asyncio.gather(*writers)
        # Barrier: events reach a socket in id order, so once this one is in, every earlier
        # event (and any repeat of one) has arrived too.
        barrier = await api.post(
            "/api/memory-logs", json={"content": "barrier"}, headers=users[0].headers
        )
        for sock in sockets:
            await sock.wait_for("memory_log_created", lambda item: item.data == barrier.json())

    expected = SEEDED + WRITERS * WRITES_EACH + 1
    # One assertion per socket, so that a failure reports every figure at once.
    for sock in sockets:
        assert figures(sock, room_of) == (expected, [], dict.fromkeys(rooms, 0))


async def test_a_resubscription_sends_only_what_the_socket_has_not_received(
    connect, api, live_server, make_user, admin
):
    """Replayed, then received live, then asked for again (the same room, and a room that
    shares its events): the socket already has every one, so none is sent again."""
    writer = await make_user()
    await seed(live_server, [writer])
    sock = await connect(admin)
    first = await sock.call("subscribe_event", {"event_type": "memory_logs", "since": 0})
    assert first["replayed"] == SEEDED // 2
    await write(api, writer, 4)  # two of them are memory logs, sent live
    await sock.wait_for("memory_log_created", count=SEEDED // 2 + 2)
    again = await sock.call("subscribe_event", {"event_type": "memory_logs", "since": 0})
    shared = await sock.call("subscribe_event", {"event_type": f"user_{writer.id}", "since": 0})
    assert (again["replayed"], shared["replayed"]) == (0, SEEDED // 2 + 2)  # the notes only
    barrier = await api.post(
        "/api/memory-logs", json={"content": "barrier"}, headers=writer.headers
    )
    await sock.wait_for("memory_log_created", lambda item: item.data == barrier.json())
    ids = [
        item.meta["event_id"]
        for item in sock.received
        if item.event.startswith(("memory_", "mental_"))
    ]
    assert len(ids) == len(set(ids)) == SEEDED + 4 + 1
