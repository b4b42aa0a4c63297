"""Presence under churn: a user whose sockets all closed is offline, however the connects and
disconnects of their tabs interleave."""

from __future__ import annotations

import asyncio

import httpx

from tests.barrier import disconnects_done
from tests.support import RecordingClient

ROUNDS = 30
TABS = 3
REPEATS = 3


async def open_and_close(url, user):
    """One tab: connect, and close at once (before the server's follow-up work is done)."""
    client = RecordingClient.create()
    await client.connect(url, user.token)
    await client.close()


async def test_a_user_with_no_open_socket_is_offline_after_churn(
    connect, live_server, live_url, alice, admin
):
    watcher = await connect(admin)
    assert (await watcher.call("subscribe_event", {"event_type": "admin"}))["ok"]

    async with httpx.AsyncClient(base_url=live_url, timeout=10) as http:
        for repeat in range(REPEATS):
            async with asyncio.timeout(60):
                for _ in range(ROUNDS):
                    await asyncio.gather(*(open_and_close(live_url, alice) for _ in range(TABS)))
                await disconnects_done(live_server, alice.id, 0)
                # Barrier: status events reach the watcher in id order, so once the admin's
                # own change is in, every status change of alice before it is in too.
                mark = "busy" if repeat % 2 else "away"
                response = await http.put(
                    "/api/users/me/status", json={"status": mark}, headers=admin.headers
                )
                assert response.status_code == 200
                changed = response.json()
                await watcher.wait_for(
                    "user_status_changed", lambda item, changed=changed: item.data == changed
                )
            alice_statuses = [
                item.data["status"]
                for item in watcher.events("user_status_changed")
                if item.data["user_id"] == alice.id
            ]
            assert alice_statuses[-1:] == ["offline"], alice_statuses[-6:]
            online = (await http.get("/api/users/online", headers=admin.headers)).json()
            assert alice.id not in [user["id"] for user in online], online
