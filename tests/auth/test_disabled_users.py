"""An admin disables, re-enables and demotes users (`PATCH /api/users/{user_id}`): the change
holds at once, for REST, sign-in and the user's open sockets.

`ADMIN_RECHECK_SECONDS` is an hour here: only the notice of the change (`src/auth/notices.py`)
can close or demote the sockets within these tests' bounds, never the periodic recheck.
"""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest
import redis.asyncio as aioredis

from src.testing.stacks import TEST_SECRET
from tests.support import refusal_message, run_mindwire
from tests.transport.test_token_lifetime import closed_within, closing, coded

NEVER = 3600.0
"""`ADMIN_RECHECK_SECONDS` of these tests: the periodic recheck does not run during them."""


async def change(api: httpx.AsyncClient, by, user_id: int, **fields) -> httpx.Response:
    return await api.patch(f"/api/users/{user_id}", json=fields, headers=by.headers)


async def sign_in(api: httpx.AsyncClient, user) -> httpx.Response:
    return await api.post(
        "/api/auth/token", data={"username": user.email, "password": user.password}
    )


async def test_a_disabled_user_is_closed_refused_and_can_come_back_when_re_enabled(
    live_server_factory, connect, admin, alice, bob
):
    server = live_server_factory(admin_recheck_seconds=NEVER)
    disabled = await connect(alice, url=server.url)
    stays = await connect(bob, url=server.url)
    closed = closing(disabled)

    async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
        response = await change(api, admin, alice.id, is_active=False)
        assert response.status_code == 200, response.text
        assert response.json()["is_active"] is False
        [told] = await disabled.wait_for("error", coded("unauthorized"))
        await closed_within(closed, 5)

        assert (await api.get("/api/users/me", headers=alice.headers)).status_code == 401
        refused = await sign_in(api, alice)
        assert (refused.status_code, refused.json()) == (
            403,
            {"detail": "this account is disabled"},
        )
        assert await refusal_message(server.url, {"token": alice.token}) == "unauthorized"

        enabled = await change(api, admin, alice.id, is_active=True)
        assert enabled.json()["is_active"] is True
        assert (await sign_in(api, alice)).status_code == 200
        assert (await api.get("/api/users/me", headers=alice.headers)).status_code == 200
    assert "disabled" in told.data["message"]
    back = await connect(alice, url=server.url)
    assert (await back.call("ping", {"timestamp": 1}))["timestamp"] == 1
    # bob's socket answers behind anything sent to it: it was never told or closed.
    assert (await stays.call("ping", {"timestamp": 2}))["timestamp"] == 2
    assert stays.events("error") == []


async def test_a_demoted_admins_socket_leaves_the_admin_rooms_at_once(
    live_server_factory, connect, make_user, admin
):
    server = live_server_factory(admin_recheck_seconds=NEVER)
    other_admin = await make_user(admin=True)
    sock = await connect(other_admin, url=server.url)
    assert (await sock.call("subscribe_event", {"event_type": "admin"}))["ok"]

    async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
        response = await change(api, admin, other_admin.id, is_admin=False)
        assert response.status_code == 200, response.text
        assert response.json()["is_admin"] is False
        [told] = await sock.wait_for("error", coded("forbidden"))
        # Still signed in, as the user they now are.
        me = await api.get("/api/users/me", headers=other_admin.headers)
        assert me.json()["is_admin"] is False
    assert told.data["details"] == {"rooms": ["admin"]}
    assert (await sock.call("ping", {"timestamp": 1}))["timestamp"] == 1


async def test_an_admin_cannot_disable_or_demote_themselves(live_server, admin):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as api:
        answers = [
            await change(api, admin, admin.id, is_active=False),
            await change(api, admin, admin.id, is_admin=False),
        ]
        me = (await api.get("/api/users/me", headers=admin.headers)).json()
    assert [r.status_code for r in answers] == [409, 409]
    assert answers[0].json() == {"detail": "admins cannot disable or demote their own account"}
    assert (me["is_admin"], me["is_active"]) == (True, True)


async def test_only_admins_change_access_and_bad_changes_are_4xx(live_server, admin, alice, bob):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as api:
        answers = {
            "not an admin": await change(api, alice, bob.id, is_active=False),
            "no token": await api.patch(f"/api/users/{bob.id}", json={"is_active": False}),
            "no such user": await change(api, admin, 2**31 - 1, is_active=False),
            "id out of range": await change(api, admin, 2**31, is_active=False),
            "unknown field": await change(api, admin, bob.id, is_activ=False),
            "not a boolean": await change(api, admin, bob.id, is_active="maybe"),
            "a number for a boolean": await change(api, admin, bob.id, is_active=0),
            "a word for a boolean": await change(api, admin, bob.id, is_active="false"),
        }
        bob_now = await api.get("/api/users/me", headers=bob.headers)
    assert {name: r.status_code for name, r in answers.items()} == {
        "not an admin": 403,
        "no token": 401,
        "no such user": 404,
        "id out of range": 422,
        "unknown field": 422,
        "not a boolean": 422,
        "a number for a boolean": 422,
        "a word for a boolean": 422,
    }
    assert bob_now.json()["is_active"] is True


async def test_mindwire_disable_user_closes_sockets_and_enable_user_lets_them_back(
    live_server_factory, connect, settings, alice
):
    """With Redis, the command tells the running workers at once; without it, the periodic
    recheck (short here) closes the socket."""
    server = live_server_factory(admin_recheck_seconds=NEVER if settings.redis_url else 0.2)
    sock = await connect(alice, url=server.url)
    closed = closing(sock)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATA_DIR")}
    env |= {"DATABASE_URL": settings.database_url, "SECRET_KEY": TEST_SECRET}
    env |= (
        {"REDIS_URL": settings.redis_url, "REDIS_CHANNEL": settings.redis_channel}
        if (settings.redis_url)
        else {}
    )

    async def mindwire(*args: str):
        return await asyncio.to_thread(run_mindwire, *args, env=env)

    disabled = await mindwire("disable-user", alice.email.upper())
    assert (disabled.returncode, disabled.stdout.strip()) == (0, str(alice.id)), disabled.stderr
    [told] = await sock.wait_for("error", coded("unauthorized"), timeout=10)
    await closed_within(closed, 10)
    assert "disabled" in told.data["message"]
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
        assert (await sign_in(api, alice)).status_code == 403
        enabled = await mindwire("enable-user", alice.email)
        assert enabled.returncode == 0, enabled.stderr
        assert (await sign_in(api, alice)).status_code == 200
    unknown = await mindwire("disable-user", "nobody@example.com")
    assert unknown.returncode == 1
    assert "no user with email nobody@example.com" in unknown.stderr


async def test_garbage_on_the_notice_channel_is_ignored_and_notices_still_work(
    live_server_factory, connect, settings, alice
):
    """Two workers in this process, one Redis: a sign-out on one closes the socket on the
    other through the notice alone, after malformed messages on the same channel."""
    if settings.redis_url is None:
        pytest.skip("notices between workers travel through Redis")
    first = live_server_factory(admin_recheck_seconds=NEVER)
    second = live_server_factory(admin_recheck_seconds=NEVER)
    sock = await connect(alice, url=second.url)
    closed = closing(sock)
    redis = aioredis.from_url(settings.redis_url)
    try:
        channel = f"{settings.redis_channel}:cluster:notices"
        for garbage in (
            "not json",
            "[]",
            '{"from": "x", "kind": "user", "key": "abc"}',
            '{"from": "x", "kind": "nuke", "key": "1"}',
            "\xff",
        ):
            await redis.publish(channel, garbage)
    finally:
        await redis.aclose()
    async with httpx.AsyncClient(base_url=first.url, timeout=10) as api:
        assert (await api.post("/api/auth/logout", headers=alice.headers)).status_code == 204
    [told] = await sock.wait_for("error", coded("unauthorized"), timeout=10)
    await closed_within(closed, 10)
    assert "revoked" in told.data["message"]
