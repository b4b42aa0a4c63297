"""A storm of Connection State Recovery: sockets of several users recover at once. Each
replay covers the user's own room and the restored ones; the reads are per room and shared,
so the log is read once per room and batch (the users' rooms once each, the shared room once
per batch), not once per user, and every socket still gets every missed event once, in order.
"""

from __future__ import annotations

import asyncio

from tests.transport.test_recovery import PidClient, Recorder, drop, open_socket
from tests.transport.test_resubscribe_storm import count_replay_reads

USERS = 4
SOCKETS_PER_USER = 5
MISSED = 250  # two batches of REPLAY_BATCH (200)
BATCHES = 2
ROOM = "notifications"
EVENT = "notification"


async def open_subscribed(url: str, token: str) -> tuple[PidClient, Recorder]:
    client, recorder = await open_socket(url, {"token": token, "recover": True})
    assert (await client.call("subscribe_event", {"event_type": ROOM}, timeout=10))["ok"]
    return client, recorder


async def test_recovering_sockets_of_several_users_read_each_room_batch_once(
    live_server, make_user, admin
):
    services = live_server.services
    emitter = services.emitter
    url = live_server.url
    users = [admin, *[await make_user() for _ in range(USERS - 1)]]
    async with asyncio.timeout(120):
        watcher, seen_by_watcher = await open_subscribed(url, admin.token)
        sockets = [
            (user, *await open_subscribed(url, user.token))
            for user in users
            for _ in range(SOCKETS_PER_USER)
        ]
        first = await live_server.run_on_server(emitter.emit_notification("seen"))
        offsets = {}
        for _user, client, recorder in sockets:
            [(_data, meta, offset)] = await recorder.wait(EVENT, 1)
            assert meta["event_id"] == first.event_id
            offsets[client] = (client.pid, offset)
            await drop(client)
        missed = [
            (await live_server.run_on_server(emitter.emit_notification(f"missed {n}"))).event_id
            for n in range(MISSED)
        ]
        await seen_by_watcher.wait(EVENT, MISSED + 1)  # live: the position stands from here

        reads = count_replay_reads(services.engine)
        back = await asyncio.gather(
            *(
                open_socket(
                    url,
                    {
                        "token": user.token,
                        "recover": True,
                        "pid": offsets[client][0],
                        "offset": offsets[client][1],
                    },
                )  # fmt: skip
                for user, client, _recorder in sockets
            )
        )
        for (_user, client, _recorder), (again, _replay) in zip(sockets, back, strict=True):
            assert again.pid == offsets[client][0]  # recovered
        for _again, replay in back:
            await replay.wait(EVENT, MISSED)
        # The notifications room twice (two batches), each user's room once, or twice when
        # the user's own status event (offline at the drop, online on the way back) went live
        # in it meanwhile: not per socket (that would be 2 x 20 + 20).
        assert BATCHES + USERS <= reads() <= BATCHES + 2 * USERS
        barrier = await live_server.run_on_server(emitter.emit_notification("barrier"))
        for _again, replay in back:
            events = await replay.wait(EVENT, MISSED + 1)
            ids = [meta["event_id"] for _data, meta, _offset in events]
            assert ids == [*missed, barrier.event_id]  # every one, once, in order
        for again, _replay in back:
            await again.disconnect()
    await watcher.disconnect()
