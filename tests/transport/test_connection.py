"""Connecting: the token decides, `connection_established` greets, presence follows."""

from __future__ import annotations

import httpx
import pytest
import socketio

from src.auth.models import User
from tests.barrier import disconnects_done, settle
from tests.support import refusal_message


async def test_connect_with_token_receives_connection_established(connect, alice):
    sock = await connect(alice)
    [greeting] = sock.events("connection_established")
    assert greeting.data["user_id"] == alice.id
    assert greeting.data["sid"] == sock.sio.get_sid()
    assert greeting.data["server_time"].endswith(("Z", "+00:00"))


@pytest.mark.parametrize(
    "auth",
    [None, {}, {"token": ""}, {"token": "not-a-jwt"}, {"token": 12345}],
    ids=["no-auth", "empty-auth", "empty-token", "malformed", "not-a-string"],
)
async def test_connect_without_a_valid_token_is_unauthorized(live_url, auth):
    assert await refusal_message(live_url, auth) == "unauthorized"


# Forged, stale and deleted users\' tokens: tests/auth/test_credentials.py (REST and
# socket, from one table).


async def test_refused_connection_does_not_disturb_others(connect, live_url, alice):
    sock = await connect(alice)
    await refusal_message(live_url, {"token": "bad"})
    ack = await sock.call("ping", {"timestamp": 1})
    assert ack["timestamp"] == 1


async def test_first_connection_sets_online_and_last_sets_offline(
    connect, api, live_server, alice, admin
):
    watcher = await connect(admin)
    await watcher.call("subscribe_event", {"event_type": "admin"})

    def alice_status(status):
        return lambda item: item.data["user_id"] == alice.id and item.data["status"] == status

    first = await connect(alice)
    second = await connect(alice)
    await watcher.wait_for("user_status_changed", alice_status("online"))
    await first.close()
    await disconnects_done(live_server, alice.id, 1)
    await settle(connect, api, admin, watcher)  # a wrong "offline" would be in by now
    assert not [e for e in watcher.events("user_status_changed") if alice_status("offline")(e)]
    await second.close()
    [offline] = await watcher.wait_for("user_status_changed", alice_status("offline"))
    assert offline.meta["event_type"] == "user_status_changed"
    assert len([e for e in watcher.events("user_status_changed") if alice_status("online")(e)]) == 1


async def test_a_websocket_only_server_refuses_long_polling(live_server_factory, alice):
    """The transport policy for several workers (docs/production.md)."""
    server = live_server_factory(socket_transports="websocket")
    polling = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await polling.connect(
            server.url, auth={"token": alice.token}, transports=["polling"], wait_timeout=5
        )
    websocket = socketio.AsyncClient(reconnection=False)
    await websocket.connect(
        server.url, auth={"token": alice.token}, transports=["websocket"], wait_timeout=5
    )
    assert websocket.connected
    await websocket.disconnect()


async def test_a_lone_process_starts_with_nobody_online(
    live_server_factory, stack, alice, admin, db_session
):
    """A crash leaves statuses "online" in the database; the next start clears them."""
    if stack != "embedded":
        pytest.skip("with Redis, presence is shared: dead workers are reaped instead")
    user = await db_session.get(User, alice.id)
    user.status = "online"
    await db_session.commit()
    server = live_server_factory()
    async with httpx.AsyncClient(base_url=server.url) as http:
        online = await http.get("/api/users/online", headers=admin.headers)
    assert online.status_code == 200
    assert alice.id not in [entry["id"] for entry in online.json()]
