"""Readers that never read, on long-polling: what waits for one socket is bounded whatever its
transport, and a replay goes at the pace its reader drains it.

A long-polling client takes its packets only when it sends a GET. One that subscribes with
`since: 0` to a large room and never GETs again used to make the server queue the whole replay
and every live event after it (+1.3 GB in 40 s for a room of 3,000 events). The server runs in
a process of its own, so its memory is measured apart from the test's clients.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import socketio

from tests.hostile import ServerProcess, report
from tests.support import RecordingClient, TestUser

LIMIT = 256 * 1024
ROOM_EVENTS = 2000
LIVE_EVENTS = 400
SUBSCRIBES = 10
EVENT_BYTES = 1000
SUBSCRIBE = "memory_logs"


async def post_logs(url: str, user: TestUser, count: int, *, at_once: int = 16) -> None:
    """`count` memory logs of `user` (EVENT_BYTES each), `at_once` requests in flight."""
    content = "m" * EVENT_BYTES
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:

        async def post(_: int) -> None:
            response = await http.post(
                "/api/memory-logs", json={"content": content}, headers=user.headers
            )
            assert response.status_code == 201, response.text

        for start in range(0, count, at_once):
            await asyncio.gather(*map(post, range(start, min(count, start + at_once))))


class PollingReader:
    """A raw Engine.IO long-polling client: handshake, Socket.IO connect, one GET, then it
    POSTs what it is told and never GETs again (unless a test looks whether it still lives)."""

    def __init__(self, url: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=10)
        self.sid = ""

    def path(self) -> str:
        return f"/socket.io/?EIO=4&transport=polling&sid={self.sid}"

    async def open(self, token: str) -> PollingReader:
        answer = await self.http.get("/socket.io/?EIO=4&transport=polling")
        assert answer.status_code == 200 and answer.text.startswith("0"), answer.text
        self.sid = json.loads(answer.text[1:])["sid"]
        await self.post("40" + json.dumps({"token": token}))
        answer = await self.http.get(self.path())  # the connect reply (and what came with it)
        assert answer.status_code == 200, answer.text
        assert any(part.startswith("40") for part in answer.text.split("\x1e")), answer.text
        return self

    async def post(self, body: str) -> None:
        answer = await self.http.post(self.path(), content=body)
        assert answer.status_code == 200, answer.text

    async def subscribe(self, since: int | None, times: int = 1) -> None:
        """`times` subscribe messages in one POST (each with `since` asks for a replay)."""
        data: dict[str, Any] = {"event_type": SUBSCRIBE}
        if since is not None:
            data["since"] = since
        await self.post("\x1e".join(["42" + json.dumps(["subscribe_event", data])] * times))

    async def status(self) -> int | None:
        """GET until the session is gone: 400 then. A GET that comes while the server is still
        closing it is answered at once with no packets (what waited was dropped), and the next
        one is tried; a GET that brings packets (the reader read) or waits 3 s for one (the
        session lives) ends the look: 200, or None."""
        for _ in range(50):
            try:
                answer = await self.http.get(self.path(), timeout=3)
            except httpx.ReadTimeout:
                return None
            if answer.status_code != 200 or answer.content:
                return answer.status_code
            await asyncio.sleep(0.05)
        return 200

    async def close(self) -> None:
        await self.http.aclose()


async def wait_closed(server: ServerProcess, reader: PollingReader, seconds: float) -> float:
    """Seconds until the server logs that it closed `reader`'s session (at most `seconds`),
    watched without a GET: a GET would read what waits for the reader."""
    started = time.monotonic()
    while f"closing socket {reader.sid}:" not in server.log():
        if time.monotonic() - started > seconds:
            break
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def innocent_delay(server: ServerProcess, user: TestUser) -> float:
    """Seconds between `user` posting a memory log and their own WebSocket client receiving it."""
    client = RecordingClient.create()
    await client.connect(server.url, user.token)
    try:
        ack = await client.call("subscribe_event", {"event_type": SUBSCRIBE})
        assert ack["ok"] is True, ack
        started = time.perf_counter()
        await post_logs(server.url, user, 1)
        await client.wait_for("memory_log_created", timeout=10)
        return time.perf_counter() - started
    finally:
        await client.close()


@pytest.mark.parametrize("fanout", ["direct", "tasks"])
async def test_polling_readers_that_never_read_are_closed_and_memory_stays_bounded(
    server_process, alice, bob, stack, fanout
):
    """Two never-reading polling clients: one asks SUBSCRIBES times for a replay of a room of
    ROOM_EVENTS events, then its held live events pass the limit; the other's live events pass
    it in its queue."""
    server = server_process(SOCKET_WRITE_BUFFER_LIMIT=str(LIMIT), SOCKET_FANOUT=fanout)
    await post_logs(server.url, alice, ROOM_EVENTS)
    replaying = await PollingReader(server.url).open(alice.token)
    plain = await PollingReader(server.url).open(alice.token)
    await asyncio.sleep(0.5)
    before = server.rss_mib()

    await replaying.subscribe(since=0, times=SUBSCRIBES)
    await plain.subscribe(since=None)
    await asyncio.sleep(1.0)  # the replay fills the reader's queue to half the limit, and waits
    during_replay = server.rss_mib()
    await post_logs(server.url, alice, LIVE_EVENTS)  # held for one, queued for the other
    replaying_after = await wait_closed(server, replaying, 10)
    plain_after = await wait_closed(server, plain, 10)
    await asyncio.sleep(0.5)
    after = server.rss_mib()  # before any GET: what waits for the readers is still there
    replaying_status, plain_status = await replaying.status(), await plain.status()
    delay = await innocent_delay(server, bob)
    await replaying.close()
    await plain.close()

    room_mib = ROOM_EVENTS * EVENT_BYTES / 2**20
    report(
        f"polling readers that never read ({stack}, {fanout} fan-out): {SUBSCRIBES} replays "
        f"of {ROOM_EVENTS} events ({room_mib:.1f} MiB) and {LIVE_EVENTS} live events of "
        f"{EVENT_BYTES} bytes, SOCKET_WRITE_BUFFER_LIMIT={LIMIT // 1024} KiB: server RSS "
        f"{before:.1f} MiB before, {during_replay:.1f} MiB during the replay, "
        f"{after:.1f} MiB after (+{after - before:.1f} MiB); a later GET of each answers "
        f"{replaying_status}, {plain_status}; another user's live event took "
        f"{delay * 1000:.0f} ms"
    )
    assert (replaying_status, plain_status) == (400, 400), (replaying_after, plain_after)
    log = server.log()
    assert "its held live events are over the limit" in log, log
    assert "its queue is over the limit" in log, log
    assert f"SOCKET_WRITE_BUFFER_LIMIT={LIMIT}" in log, log
    for reader in (replaying, plain):  # one warning line per closed socket
        assert log.count(f"closing socket {reader.sid}:") == 1, log
    assert during_replay - before < 30, (before, during_replay, after)
    assert after - before < 30, (before, during_replay, after)
    assert delay < 2.0
    assert "Traceback" not in log, log


async def test_a_replay_to_a_reader_that_never_reads_stops_after_the_drain_timeout(
    server_process, alice, stack
):
    server = server_process(SOCKET_WRITE_BUFFER_LIMIT=str(LIMIT), SOCKET_DRAIN_TIMEOUT_SECONDS="2")
    await post_logs(server.url, alice, 400)  # ~400 KB: more than half the limit
    reader = await PollingReader(server.url).open(alice.token)
    await reader.subscribe(since=0)
    took = await wait_closed(server, reader, 10)
    status = await reader.status()
    await reader.close()

    report(
        f"replay to a polling reader that never reads ({stack}): closed {took:.1f}s after "
        "it subscribed (SOCKET_DRAIN_TIMEOUT_SECONDS=2)"
    )
    assert status == 400
    log = server.log()
    assert "its reader read nothing for 2s" in log, log
    assert "Traceback" not in log, log


async def post_logs_and_wait_for_their_fan_out(url: str, user: TestUser, count: int) -> None:
    """`post_logs`, watched by a socket of `user`: a write answers before its event goes out,
    and a reader connecting while the last ones are still being sent would get them live
    through `user_{id}` instead of from its replay. Once the watcher has every one, none is."""
    watcher = socketio.AsyncClient(reconnection=False)
    seen = 0
    all_sent = asyncio.Event()

    @watcher.on("memory_log_created")
    async def on_log(_data: Any, _meta: dict[str, Any]) -> None:
        nonlocal seen
        seen += 1
        if seen >= count:
            all_sent.set()

    await watcher.connect(url, auth={"token": user.token}, transports=["websocket"])
    try:
        await post_logs(url, user, count)
        await asyncio.wait_for(all_sent.wait(), 60)
    finally:
        await watcher.disconnect()


async def replay_to(url: str, user: TestUser, transport: str, count: int) -> list[int]:
    """Subscribe with `since: 0` over `transport` and return the replayed event ids, in the
    order they came."""
    client = socketio.AsyncClient(reconnection=False)
    ids: list[int] = []
    done = asyncio.Event()

    @client.on("memory_log_created")
    async def on_log(_data: Any, meta: dict[str, Any]) -> None:
        ids.append(meta["event_id"])
        if len(ids) >= count:
            done.set()

    await client.connect(url, auth={"token": user.token}, transports=[transport])
    try:
        ack = await client.call(
            "subscribe_event", {"event_type": SUBSCRIBE, "since": 0}, timeout=60
        )
        assert ack["ok"] is True and ack["replayed"] == count, ack
        await asyncio.wait_for(done.wait(), 60)
    finally:
        await client.disconnect()
    return ids


async def test_a_paced_replay_delivers_every_event_in_order(server_process, alice, stack):
    """A limit far below the room's size: the replay waits for the reader many times, and
    still sends every event once, in id order, over either transport."""
    small = 32 * 1024
    server = server_process(SOCKET_WRITE_BUFFER_LIMIT=str(small))
    count = 1500
    await post_logs_and_wait_for_their_fan_out(server.url, alice, count)
    figures = []
    for transport in ("websocket", "polling"):
        started = time.perf_counter()
        ids = await replay_to(server.url, alice, transport, count)
        figures.append(f"{transport} {time.perf_counter() - started:.1f}s")
        assert len(ids) == count
        assert ids == sorted(ids) and len(set(ids)) == count
    report(
        f"paced replay ({stack}): {count} events of {EVENT_BYTES} bytes with "
        f"SOCKET_WRITE_BUFFER_LIMIT={small // 1024} KiB, all in order: {', '.join(figures)}"
    )
    assert "SOCKET_WRITE_BUFFER_LIMIT" not in server.log(), server.log()
