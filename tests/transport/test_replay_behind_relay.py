"""Subscriptions while the live stream is behind their `since` (a restarted process whose
relay is catching up, or a list's position past what the relay has sent): what was committed
after `since` reaches the socket once, by the replay or live above the ack's `head`, and
what the client has (at or below `since`) never comes (`HoldingManager.has_after`)."""

from __future__ import annotations

import httpx

from tests.barrier import settle
from tests.events.test_subscribe_head import (
    Connect,
    _pause,
    _resume,
    listed_position,
    log_ids,
    subscribe,
    write_log,
)
from tests.support import LiveServer


async def test_a_resubscription_ahead_of_the_relay_gets_what_followed_once_and_nothing_it_has(
    live_server: LiveServer, connect: Connect, api: httpx.AsyncClient, alice, admin
):
    """The client's `since` is a list's position, past what the (paused) relay has sent; a
    second subscription from there after another write is not taken for one that has it all:
    that write is replayed, or above the ack's `head`; once the relay catches up it has come
    once, and the listed one not at all."""
    relay = live_server.services.relay
    gate, deliver = await live_server.run_on_server(_pause(relay))
    try:
        listed = await write_log(api, alice, "committed, listed, not yet sent")
        position, _page = await listed_position(api, admin, alice)
        sock = await connect(admin)
        first = await subscribe(sock, since=position)
        assert first["replayed"] == 0

        later = await write_log(api, alice, "committed after, not yet sent")
        again = await sock.call("subscribe_event", {"event_type": "memory_logs", "since": position})
        assert again["ok"] is True, again
        assert log_ids(sock) == ([later["id"]] if again["replayed"] else [])
    finally:
        await live_server.run_on_server(_resume(relay, gate, deliver))
    await settle(connect, api, admin, sock)
    assert log_ids(sock) == [later["id"]]  # once, and the listed one never
    [event] = sock.events("memory_log_created")
    assert again["replayed"] == 1 or again["head"] < event.meta["event_id"]
    assert listed["id"] != later["id"]
