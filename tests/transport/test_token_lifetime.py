"""Access that holds over time on an open socket: token expiry and in-band refresh, sign-out,
and deleted users. A token is checked at connect, but the socket it opened lives on."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import delete

from src.auth.models import User
from src.core.security import create_access_token
from tests.support import RecordingClient, refusal_message

GRACE = 1.0
"""`TOKEN_REFRESH_GRACE_SECONDS` of these tests."""


def token_for(user, settings, ttl_seconds):
    """Another access token of `user`, signed as `POST /api/auth/token` signs one."""
    return create_access_token(user.id, secret_key=settings.secret_key, ttl_seconds=ttl_seconds)


def closing(sock: RecordingClient) -> asyncio.Event:
    """Set when the server closes `sock`."""
    closed = asyncio.Event()
    sock.sio.on("disconnect", handler=lambda *_reason: closed.set())
    return closed


async def closed_within(closed: asyncio.Event, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        await closed.wait()


def coded(code):
    return lambda item: item.data["code"] == code


async def test_an_expired_token_is_announced_then_its_socket_closed_after_the_grace(
    live_server_factory, connect, settings, alice
):
    server = live_server_factory(token_refresh_grace_seconds=GRACE)
    sock = await connect(token=token_for(alice, settings, 2), url=server.url)
    closed = closing(sock)

    [expired] = await sock.wait_for("error", coded("token_expired"), timeout=5)
    assert expired.data["details"] == {"grace_seconds": GRACE}
    assert not closed.is_set()  # told first, closed only after the grace
    await closed_within(closed, GRACE + 5)
    assert not sock.sio.connected


async def test_a_token_refreshed_in_band_keeps_the_socket_open_and_receiving(
    live_server_factory, connect, settings, alice
):
    server = live_server_factory(token_refresh_grace_seconds=GRACE)
    sock = await connect(token=token_for(alice, settings, 2), url=server.url)
    closed = closing(sock)
    assert (await sock.call("subscribe_event", {"event_type": "notifications"}))["ok"]
    await sock.wait_for("error", coded("token_expired"), timeout=5)

    ack = await sock.call("refresh_token", {"token": token_for(alice, settings, 3)})
    assert ack["ok"] is True
    assert ack["expires_at"].endswith(("Z", "+00:00"))

    # The new token's own expiry comes after the first token's grace ended: the new timer
    # replaced the old one, which would have closed the socket by now.
    await sock.wait_for("error", coded("token_expired"), count=2, timeout=6)
    assert not closed.is_set()
    await server.run_on_server(server.services.emitter.emit_notification("still here"))
    [notification] = await sock.wait_for("notification")
    assert notification.data["message"] == "still here"


async def test_a_refresh_with_another_users_or_an_invalid_token_changes_nothing(
    live_server_factory, connect, settings, alice, bob
):
    server = live_server_factory(token_refresh_grace_seconds=GRACE)
    sock = await connect(token=token_for(alice, settings, 2), url=server.url)
    closed = closing(sock)

    refused = {
        "bob's": await sock.call("refresh_token", {"token": bob.token}),
        "forged": await sock.call("refresh_token", {"token": alice.token + "x"}),
    }
    assert {name: ack["error"]["code"] for name, ack in refused.items()} == {
        "bob's": "forbidden",
        "forged": "unauthorized",
    }
    assert all(ack["ok"] is False for ack in refused.values())

    await sock.wait_for("error", coded("token_expired"), timeout=5)  # alice's first token
    await closed_within(closed, GRACE + 5)


async def test_logout_revokes_the_token_and_closes_its_sockets_only(
    live_server_factory, connect, settings, alice
):
    server = live_server_factory()
    other_token = token_for(alice, settings, 3600)
    signed_out = await connect(alice, url=server.url)
    kept = await connect(token=other_token, url=server.url)
    closed = closing(signed_out)

    async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
        response = await api.post("/api/auth/logout", headers=alice.headers)
        assert response.status_code == 204, response.text
        assert response.content == b""
        [told] = await signed_out.wait_for("error", coded("unauthorized"))
        await closed_within(closed, 5)

        assert (await api.get("/api/users/me", headers=alice.headers)).status_code == 401
        again = await api.post("/api/auth/logout", headers=alice.headers)
        assert again.status_code == 401
        other = {"Authorization": f"Bearer {other_token}"}
        assert (await api.get("/api/users/me", headers=other)).status_code == 200
    assert "revoked" in told.data["message"]
    assert await refusal_message(server.url, {"token": alice.token}) == "unauthorized"
    ack = await kept.call("ping", {"timestamp": 1})
    assert ack["timestamp"] == 1


async def test_logout_on_one_worker_closes_the_tokens_socket_on_another(
    live_server_factory, connect, alice
):
    """Workers share only the database here: the periodic recheck carries the sign-out."""
    first = live_server_factory(admin_recheck_seconds=0.2)
    second = live_server_factory(admin_recheck_seconds=0.2)
    sock = await connect(alice, url=second.url)
    closed = closing(sock)

    async with httpx.AsyncClient(base_url=first.url, timeout=10) as api:
        response = await api.post("/api/auth/logout", headers=alice.headers)
    assert response.status_code == 204

    [told] = await sock.wait_for("error", coded("unauthorized"), timeout=5)
    assert "revoked" in told.data["message"]
    await closed_within(closed, 5)


async def test_a_deleted_users_socket_is_closed_within_the_recheck_period(
    live_server_factory, connect, db_session, alice, bob
):
    server = live_server_factory(admin_recheck_seconds=0.2)
    gone = await connect(alice, url=server.url)
    stays = await connect(bob, url=server.url)
    closed = closing(gone)

    await db_session.execute(delete(User).where(User.id == alice.id))
    await db_session.commit()

    [told] = await gone.wait_for("error", coded("unauthorized"), timeout=5)
    assert "deleted" in told.data["message"]
    await closed_within(closed, 5)
    ack = await stays.call("ping", {"timestamp": 1})
    assert ack["timestamp"] == 1
    assert not stays.events("error")


async def test_each_open_socket_holds_one_expiry_timer_and_a_closed_one_none(
    live_server, connect, settings, alice
):
    gateway = live_server.services.gateway

    async def timers_armed():
        return gateway.token_timers

    async def close_and_count(sids):
        for sid in sids:  # the disconnect handler has run when `disconnect` returns
            await gateway.sockets.sio.disconnect(sid)
        return gateway.token_timers

    socks = [await connect(alice) for _ in range(3)]
    await socks[0].call("refresh_token", {"token": token_for(alice, settings, 3600)})
    assert await live_server.run_on_server(timers_armed()) == 3  # a refresh replaces its timer
    sids = [sock.sio.get_sid() for sock in socks]
    assert await live_server.run_on_server(close_and_count(sids)) == 0
