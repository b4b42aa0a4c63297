"""Live events: payload and meta, exactly once, after commit; replay with `since`."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.barrier import settle
from tests.support import Clock, use_clock


def assert_meta(item, event_type):
    assert set(item.meta) == {"event_id", "event_type", "emitted_at"}
    assert item.meta["event_type"] == event_type
    assert isinstance(item.meta["event_id"], int)
    assert item.meta["emitted_at"].endswith(("Z", "+00:00"))


async def subscribed(connect, user, *rooms):
    sock = await connect(user)
    for room in rooms:
        assert (await sock.call("subscribe_event", {"event_type": room}))["ok"] is True
    return sock


async def test_memory_log_events_carry_the_log_and_meta(connect, api, alice):
    sock = await subscribed(connect, alice, "memory_logs")
    created = (
        await api.post("/api/memory-logs", json={"content": "a"}, headers=alice.headers)
    ).json()
    [event] = await sock.wait_for("memory_log_created")
    assert event.data == created
    assert_meta(event, "memory_log_created")

    patched = await api.patch(
        f"/api/memory-logs/{created['id']}", json={"content": "b"}, headers=alice.headers
    )
    [event] = await sock.wait_for("memory_log_updated")
    assert event.data == patched.json()
    assert_meta(event, "memory_log_updated")

    await api.delete(f"/api/memory-logs/{created['id']}", headers=alice.headers)
    [event] = await sock.wait_for("memory_log_deleted")
    assert set(event.data) == {"id", "user_id", "deleted_at"}
    assert (event.data["id"], event.data["user_id"]) == (created["id"], alice.id)
    assert_meta(event, "memory_log_deleted")


async def test_mental_note_events_carry_the_note_and_meta(connect, api, alice):
    sock = await subscribed(connect, alice, "mental_notes")
    body = {"title": "t", "content": "c"}
    created = (await api.post("/api/mental-notes", json=body, headers=alice.headers)).json()
    [event] = await sock.wait_for("mental_note_created")
    assert event.data == created
    assert_meta(event, "mental_note_created")

    patched = await api.patch(
        f"/api/mental-notes/{created['id']}", json={"title": "u"}, headers=alice.headers
    )
    [event] = await sock.wait_for("mental_note_updated")
    assert event.data == patched.json()

    await api.delete(f"/api/mental-notes/{created['id']}", headers=alice.headers)
    [event] = await sock.wait_for("mental_note_deleted")
    assert (event.data["id"], event.data["user_id"]) == (created["id"], alice.id)
    assert_meta(event, "mental_note_deleted")


async def test_notification_event_payload(connect, api, alice, admin):
    sock = await subscribed(connect, alice, "notifications")
    body = {"message": "maintenance at noon", "level": "warning", "audience": "everyone"}
    response = await api.post("/api/notifications", json=body, headers=admin.headers)
    assert response.status_code == 202
    [event] = await sock.wait_for("notification")
    assert {k: event.data[k] for k in ("message", "level", "audience")} == body
    assert event.data["created_at"].endswith(("Z", "+00:00"))
    assert event.meta["event_id"] == response.json()["event_id"]


async def test_socket_in_several_rooms_receives_each_event_once(connect, api, alice, admin):
    # alice is in user_{alice} automatically, plus memory_logs; the admin in four rooms.
    mine = await subscribed(connect, alice, "memory_logs", f"user_{alice.id}")
    boss = await subscribed(
        connect, admin, "memory_logs", f"user_{alice.id}", "admin", "notifications"
    )
    for n in range(3):
        await api.post("/api/memory-logs", json={"content": f"{n}"}, headers=alice.headers)
    await mine.wait_for("memory_log_created", count=3)
    await boss.wait_for("memory_log_created", count=3)
    await settle(connect, api, admin, mine, boss)
    for sock in (mine, boss):
        ids = [e.meta["event_id"] for e in sock.events("memory_log_created")]
        assert len(ids) == 3 == len(set(ids))


async def test_event_arrives_after_its_write_is_committed(connect, api, alice):
    """When the event arrives, the change is already visible over REST."""
    sock = await subscribed(connect, alice, "memory_logs")
    seen_over_rest = []

    @sock.sio.on("memory_log_created")
    async def check(data, meta):
        response = await api.get(f"/api/memory-logs/{data['id']}", headers=alice.headers)
        seen_over_rest.append(response.status_code)

    for n in range(5):
        await api.post("/api/memory-logs", json={"content": f"{n}"}, headers=alice.headers)
    for _ in range(50):
        if len(seen_over_rest) == 5:
            break
        await asyncio.sleep(0.1)
    assert seen_over_rest == [200] * 5


async def test_replay_after_disconnect_delivers_missed_events_in_order(connect, api, alice):
    first = await subscribed(connect, alice, "memory_logs")
    await api.post("/api/memory-logs", json={"content": "seen"}, headers=alice.headers)
    [seen] = await first.wait_for("memory_log_created")
    last_id = seen.meta["event_id"]
    await first.close()

    missed = []
    for n in range(4):
        response = await api.post(
            "/api/memory-logs", json={"content": f"missed {n}"}, headers=alice.headers
        )
        missed.append(response.json())

    again = await connect(alice)
    ack = await again.call("subscribe_event", {"event_type": "memory_logs", "since": last_id})
    head = ack["head"]
    assert ack == {
        "ok": True,
        "event_type": "memory_logs",
        "replayed": 4,
        "complete": True,
        "head": head,
    }
    replayed = again.events("memory_log_created")
    assert [e.data for e in replayed] == missed
    ids = [e.meta["event_id"] for e in replayed]
    assert ids == sorted(ids) and ids[0] > last_id
    # Replayed events arrive before the `subscribed` reply.
    names = [e.event for e in again.received]
    assert names.index("subscribed") > max(
        i for i, n in enumerate(names) if n == "memory_log_created"
    )


async def test_replay_shows_only_what_the_user_may_see(connect, api, alice, bob, admin):
    await api.post("/api/memory-logs", json={"content": "bob's"}, headers=bob.headers)
    await api.post("/api/memory-logs", json={"content": "alice's"}, headers=alice.headers)
    # Both have gone out live before alice connects, so only the replay can bring hers.
    await settle(connect, api, admin)
    sock = await connect(alice)
    ack = await sock.call("subscribe_event", {"event_type": "memory_logs", "since": 0})
    assert ack["replayed"] == 1
    assert [e.data["content"] for e in sock.events("memory_log_created")] == ["alice's"]


async def test_replay_after_retention_says_incomplete(live_server_factory, connect, alice):
    short = live_server_factory(event_retention_seconds=60)
    clock = Clock()
    await use_clock(short, clock)
    sock = await connect(alice, url=short.url)
    await sock.call("subscribe_event", {"event_type": "memory_logs"})
    async with httpx.AsyncClient(base_url=short.url) as http:
        await http.post("/api/memory-logs", json={"content": "old"}, headers=alice.headers)
    [old] = await sock.wait_for("memory_log_created")
    clock.advance(61)  # "old" leaves the retention window
    again = await connect(alice, url=short.url)
    ack = await again.call(
        "subscribe_event", {"event_type": "memory_logs", "since": old.meta["event_id"] - 1}
    )
    assert ack["complete"] is False
    assert ack["replayed"] == 0
    [reply] = await again.wait_for("subscribed")
    assert reply.data["complete"] is False


@pytest.mark.parametrize("since", [-1, "5", 1.5, True])
async def test_invalid_since_is_a_validation_error(connect, alice, since):
    sock = await connect(alice)
    ack = await sock.call("subscribe_event", {"event_type": "memory_logs", "since": since})
    assert ack["error"]["code"] == "validation_error"
    [error] = await sock.wait_for("error")
    assert error.data["details"][0]["loc"] == ["since"]


async def test_events_written_during_a_replay_arrive_after_it_in_id_order(
    connect, api, live_server, alice, admin
):
    """A resuming client sees ids in order even while writes race its replay, so a drop at
    any moment leaves it with a `since` that skips nothing."""
    for n in range(200):
        await live_server.run_on_server(
            live_server.services.emitter.emit_memory_log_created(
                {
                    "id": n + 1,
                    "user_id": alice.id,
                    "content": f"old {n}",
                    "created_at": "2026-11-29T00:00:00Z",
                }
            )
        )
    sock = await connect(admin)

    async def write_during_replay():
        for n in range(20):
            response = await api.post(
                "/api/memory-logs", json={"content": f"new {n}"}, headers=alice.headers
            )
            assert response.status_code == 201
            await asyncio.sleep(0)

    writer = asyncio.create_task(write_during_replay())
    ack = await sock.call("subscribe_event", {"event_type": "memory_logs", "since": 0})
    await writer
    assert ack["ok"] is True
    await sock.wait_for("memory_log_created", count=220)
    # Barrier: live events arrive in id order, so a repeat would be in before this one.
    barrier = await api.post("/api/memory-logs", json={"content": "end"}, headers=alice.headers)
    await sock.wait_for("memory_log_created", lambda item: item.data == barrier.json())
    ids = [item.meta["event_id"] for item in sock.events("memory_log_created")][:-1]
    assert len(ids) == len(set(ids)) == 220  # each once: none written twice during the replay
    assert ids == sorted(ids)
