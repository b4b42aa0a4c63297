"""A room name is the whole string: `user_1\n` is not `user_1`, at either door (REST and
socket). Before, `$` matched before a trailing newline and the room was accepted."""

from __future__ import annotations

import pytest

CONTROL = ["\n", "\r", "\x00", "\t", "\x1b", "\x7f", "\u2028"]


@pytest.mark.parametrize("suffix", CONTROL, ids=repr)
async def test_rest_refuses_a_user_room_with_a_control_character(api, alice, suffix):
    for room in (f"user_{alice.id}{suffix}", f"{suffix}user_{alice.id}", f"memory_logs{suffix}"):
        response = await api.get("/api/events", params={"room": room}, headers=alice.headers)
        assert response.status_code == 404, (room, response.text)
    own = await api.get("/api/events", params={"room": f"user_{alice.id}"}, headers=alice.headers)
    assert own.status_code == 200


@pytest.mark.parametrize("suffix", CONTROL, ids=repr)
async def test_the_socket_refuses_a_user_room_with_a_control_character(connect, alice, suffix):
    sock = await connect(alice)
    for room in (f"user_{alice.id}{suffix}", f"notifications{suffix}"):
        ack = await sock.call("subscribe_event", {"event_type": room})
        assert ack["error"]["code"] == "unknown_room", (room, ack)
    assert (await sock.call("subscribe_event", {"event_type": f"user_{alice.id}"}))["ok"] is True
