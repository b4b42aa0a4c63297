"""Every row of the contract's room table, for an owner, another user and an admin."""

from __future__ import annotations

import pytest

from src.events.rooms import RoomPolicy, Viewer
from tests.barrier import settle

ROOMS_ANYONE_MAY_JOIN = ["memory_logs", "mental_notes", "notifications"]


@pytest.mark.parametrize("room", ROOMS_ANYONE_MAY_JOIN)
async def test_any_user_may_subscribe_to_open_rooms(connect, alice, room):
    sock = await connect(alice)
    ack = await sock.call("subscribe_event", {"event_type": room})
    head = ack["head"]
    assert ack == {"ok": True, "event_type": room, "replayed": 0, "complete": True, "head": head}
    [reply] = await sock.wait_for("subscribed")
    assert reply.data == {"event_type": room, "replayed": 0, "complete": True, "head": head}


async def test_user_may_subscribe_to_own_user_room(connect, alice):
    sock = await connect(alice)
    ack = await sock.call("subscribe_event", {"event_type": f"user_{alice.id}"})
    assert ack["ok"] is True


async def test_user_may_not_subscribe_to_another_users_room(connect, alice, bob):
    sock = await connect(alice)
    ack = await sock.call("subscribe_event", {"event_type": f"user_{bob.id}"})
    assert ack == {"ok": False, "error": {"code": "forbidden", "message": ack["error"]["message"]}}
    [error] = await sock.wait_for("error")
    assert error.data["code"] == "forbidden"
    assert error.data["event"] == "subscribe_event"


async def test_admin_may_subscribe_to_any_user_room_and_admin_room(connect, admin, bob):
    sock = await connect(admin)
    assert (await sock.call("subscribe_event", {"event_type": f"user_{bob.id}"}))["ok"] is True
    assert (await sock.call("subscribe_event", {"event_type": "admin"}))["ok"] is True


async def test_non_admin_may_not_subscribe_to_admin_room(connect, alice):
    sock = await connect(alice)
    ack = await sock.call("subscribe_event", {"event_type": "admin"})
    assert ack["error"]["code"] == "forbidden"


@pytest.mark.parametrize("room", ["nope", "user_", "user_abc", "memory_logs/user_1", "MEMORY_LOGS"])
async def test_unknown_room_is_refused(connect, alice, room):
    sock = await connect(alice)
    ack = await sock.call("subscribe_event", {"event_type": room})
    assert ack["error"]["code"] == "unknown_room"
    [error] = await sock.wait_for("error")
    assert error.data["code"] == "unknown_room"


async def test_unsubscribe_stops_delivery(connect, api, alice, admin):
    sock = await connect(alice)
    await sock.call("subscribe_event", {"event_type": "memory_logs"})
    await sock.call("unsubscribe_event", {"event_type": f"user_{alice.id}"})
    ack = await sock.call("unsubscribe_event", {"event_type": "memory_logs"})
    assert ack == {"ok": True, "event_type": "memory_logs"}
    [reply] = await sock.wait_for("unsubscribed", lambda e: e.data["event_type"] == "memory_logs")
    assert reply.data == {"event_type": "memory_logs"}
    response = await api.post("/api/memory-logs", json={"content": "x"}, headers=alice.headers)
    assert response.status_code == 201
    await settle(connect, api, admin, sock)
    assert sock.events("memory_log_created") == []


async def _receivers(connect, api, writer, subscriptions, make_event, admin):
    """Subscribe each (user, room), cause one event, and return who received it."""
    socks = {}
    for label, (user, room) in subscriptions.items():
        sock = await connect(user)
        # Leave the automatic user room so only the room under test delivers.
        await sock.call("unsubscribe_event", {"event_type": f"user_{user.id}"})
        ack = await sock.call("subscribe_event", {"event_type": room})
        assert ack["ok"] is True, (label, ack)
        socks[label] = sock
    event_name = await make_event(api, writer)
    await settle(connect, api, admin, *socks.values())
    return {label for label, sock in socks.items() if sock.events(event_name)}


async def _create_log(api, writer):
    response = await api.post("/api/memory-logs", json={"content": "c"}, headers=writer.headers)
    assert response.status_code == 201
    return "memory_log_created"


async def _create_note(api, writer):
    response = await api.post("/api/mental-notes", json={"title": "t"}, headers=writer.headers)
    assert response.status_code == 201
    return "mental_note_created"


@pytest.mark.parametrize(
    ("room", "make_event"),
    [("memory_logs", _create_log), ("mental_notes", _create_note)],
)
async def test_item_rooms_deliver_to_owner_and_admin_only(
    connect, api, alice, bob, admin, room, make_event
):
    received = await _receivers(
        connect,
        api,
        alice,
        {"owner": (alice, room), "other": (bob, room), "admin": (admin, room)},
        make_event,
        admin,
    )
    assert received == {"owner", "admin"}


@pytest.mark.parametrize("make_event", [_create_log, _create_note])
async def test_user_room_carries_item_events_to_owner_and_admin(
    connect, api, alice, admin, make_event
):
    received = await _receivers(
        connect,
        api,
        alice,
        {"owner": (alice, f"user_{alice.id}"), "admin": (admin, f"user_{alice.id}")},
        make_event,
        admin,
    )
    assert received == {"owner", "admin"}


async def _notify(audience, user_id=None):
    async def make_event(api, writer):
        body = {"message": "hello", "level": "info", "audience": audience, "user_id": user_id}
        response = await api.post("/api/notifications", json=body, headers=writer.headers)
        assert response.status_code == 202, response.text
        return "notification"

    return make_event


async def test_notification_to_everyone_reaches_notifications_room(connect, api, alice, bob, admin):
    received = await _receivers(
        connect,
        api,
        admin,
        {
            "alice": (alice, "notifications"),
            "bob": (bob, "notifications"),
            "admin-room": (admin, "admin"),
        },
        await _notify("everyone"),
        admin,
    )
    assert received == {"alice", "bob"}


async def test_notification_to_admins_reaches_admin_room_only(connect, api, alice, admin):
    received = await _receivers(
        connect,
        api,
        admin,
        {"alice": (alice, "notifications"), "admin-room": (admin, "admin")},
        await _notify("admins"),
        admin,
    )
    assert received == {"admin-room"}


async def test_notification_to_a_user_reaches_their_room_only(connect, api, alice, bob, admin):
    received = await _receivers(
        connect,
        api,
        admin,
        {
            "alice": (alice, f"user_{alice.id}"),
            "bob": (bob, f"user_{bob.id}"),
            "alice-open": (alice, "notifications"),
        },
        await _notify("user", alice.id),
        admin,
    )
    assert received == {"alice"}


async def test_status_change_reaches_own_room_and_admin_room(connect, api, alice, bob, admin):
    socks = {
        "alice": await connect(alice),
        "bob": await connect(bob),
        "admin": await connect(admin),
    }
    await socks["admin"].call("subscribe_event", {"event_type": "admin"})
    response = await api.put("/api/users/me/status", json={"status": "busy"}, headers=alice.headers)
    assert response.status_code == 200
    await settle(connect, api, admin, *socks.values())

    def saw_alice_busy(sock):
        return any(
            e.data == {**response.json(), "status": "busy"}
            for e in sock.events("user_status_changed")
        )

    assert {label for label, sock in socks.items() if saw_alice_busy(sock)} == {"alice", "admin"}


@pytest.mark.parametrize(
    ("room", "after_demotion"),
    [
        ("admin", None),
        ("user_7", None),  # someone else's room
        ("user_3", "user_3"),  # their own
        ("memory_logs", "memory_logs/user_3"),  # everyone's logs -> their own
        ("mental_notes", "mental_notes/user_3"),
        ("notifications", "notifications"),
        ("tasks", "tasks"),  # a room of custom server code: not these rules' to judge
    ],
)
def test_a_demoted_admin_keeps_only_what_a_user_may_hold(room, after_demotion):
    assert RoomPolicy().reassess(room, Viewer(3, is_admin=False)) == after_demotion
