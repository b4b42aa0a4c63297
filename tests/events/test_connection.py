"""Connecting: the token decides, `connection_established` greets, presence follows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import socketio
from sqlalchemy import delete

from src.auth.models import User
from tests.conftest import TEST_SECRET


async def refusal_message(url: str, auth: dict | None) -> str:
    """Connect with `auth` and return the `connect_error` message the server sent."""
    client = socketio.AsyncClient(reconnection=False)
    refused: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @client.event
    async def connect_error(data):
        if not refused.done():
            refused.set_result(data.get("message") if isinstance(data, dict) else str(data))

    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(url, auth=auth, transports=["websocket"], wait_timeout=5)
    message = await asyncio.wait_for(refused, 5)
    await client.disconnect()
    return message


def forged_token(user_id: int, **changes) -> str:
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=5)}
    claims.update(changes.pop("claims", {}))
    key = changes.pop("key", TEST_SECRET)
    algorithm = changes.pop("algorithm", "HS256")
    return jwt.encode(claims, key, algorithm=algorithm)


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


async def test_connect_with_wrongly_signed_token_is_unauthorized(live_url, alice):
    token = forged_token(alice.id, key="another-key-entirely-another-key-entirely")
    assert await refusal_message(live_url, {"token": token}) == "unauthorized"


async def test_connect_with_expired_token_is_unauthorized(live_url, alice):
    past = datetime.now(UTC) - timedelta(hours=2)
    token = forged_token(alice.id, claims={"iat": past, "exp": past + timedelta(hours=1)})
    assert await refusal_message(live_url, {"token": token}) == "unauthorized"


async def test_connect_with_alg_none_token_is_unauthorized(live_url, alice):
    token = forged_token(alice.id, key=None, algorithm="none")
    assert await refusal_message(live_url, {"token": token}) == "unauthorized"


async def test_connect_as_deleted_user_is_unauthorized(live_url, alice, db_session):
    await db_session.execute(delete(User).where(User.id == alice.id))
    await db_session.commit()
    assert await refusal_message(live_url, {"token": alice.token}) == "unauthorized"


async def test_refused_connection_does_not_disturb_others(connect, live_url, alice):
    sock = await connect(alice)
    await refusal_message(live_url, {"token": "bad"})
    ack = await sock.call("ping", {"timestamp": 1})
    assert ack["timestamp"] == 1


async def test_first_connection_sets_online_and_last_sets_offline(connect, alice, admin):
    watcher = await connect(admin)
    await watcher.call("subscribe_event", {"event_type": "admin"})

    def alice_status(status):
        return lambda item: item.data["user_id"] == alice.id and item.data["status"] == status

    first = await connect(alice)
    second = await connect(alice)
    await watcher.wait_for("user_status_changed", alice_status("online"))
    await first.close()
    await asyncio.sleep(0.3)
    assert not [e for e in watcher.events("user_status_changed") if alice_status("offline")(e)]
    await second.close()
    [offline] = await watcher.wait_for("user_status_changed", alice_status("offline"))
    assert offline.meta["event_type"] == "user_status_changed"
    assert len([e for e in watcher.events("user_status_changed") if alice_status("online")(e)]) == 1
