"""End to end, as clients/typescript/test/e2e.test.ts: `MindwireClient` against a real
`mindwire serve` process (the test's SQLite file, or PostgreSQL and Redis). Events are written
through REST live, around a network drop and around a crash and restart; every one must reach
its room's handler exactly once, in event id order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from src.client import MindwireClient
from src.core.config import Settings
from src.testing.stacks import TEST_SECRET
from tests.client.support import Gate, Tally, Writer, drop_network
from tests.cluster.workers import Worker
from tests.support import throttles_env, wait_until

ROOMS = ("memory_logs", "mental_notes")


@pytest.fixture
def serve(settings: Settings, tmp_path: Path) -> Iterator[Worker]:
    """`mindwire serve` in its own process, on this test's database (and Redis channel)."""
    env = {
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": TEST_SECRET,
        "LOG_LEVEL": "WARNING",
        "EVENT_RETENTION_SECONDS": "3600",
        **throttles_env(settings),
    }
    if settings.redis_url is not None:
        env |= {"REDIS_URL": settings.redis_url, "REDIS_CHANNEL": settings.redis_channel}
    worker = Worker(env=env, log_path=tmp_path / "serve.log")
    yield worker.start()
    worker.stop()


async def live(writer: Writer) -> None:
    log_id = await writer.create("memory-logs", "live")
    note_id = await writer.create("mental-notes", "live")
    await writer.both("live", times=5)
    response = await writer.http.patch(f"/api/memory-logs/{log_id}", json={"content": "edited"})
    assert response.status_code == 200, response.text
    writer.expect("memory_log_updated", log_id, "live")
    # Not the newest note: SQLite may hand the newest row's id out again once it is deleted.
    response = await writer.http.delete(f"/api/mental-notes/{note_id}")
    assert response.status_code == 204, response.text
    writer.expect("mental_note_deleted", note_id, "live")
    await wait_until("the live events", writer.tally.all_received)


async def network_drop(writer: Writer, gate: Gate) -> int:
    """Close the transport under the client and write while it is away; returns the replayed."""
    client = writer.client
    replayed, connects = client.stats.replayed, client.stats.connects
    gate.open.clear()
    await drop_network(client)
    await wait_until("the drop", lambda: not client.connected)
    await writer.both("network drop", times=3)
    gate.open.set()
    await wait_until("the reconnect after the drop", lambda: client.stats.connects > connects)
    await wait_until("the events written while away", writer.tally.all_received)
    await writer.create("memory-logs", "after the drop")
    await wait_until("the events after the drop", writer.tally.all_received)
    return client.stats.replayed - replayed


async def restart(writer: Writer, server: Worker, gate: Gate) -> int:
    """Kill the server mid-stream (SIGKILL), start it again, write in the reconnect window."""
    client = writer.client
    replayed, connects = client.stats.replayed, client.stats.connects
    await asyncio.gather(*(writer.create(c, "crash") for c in ("memory-logs", "mental-notes")))
    gate.open.clear()
    await asyncio.to_thread(server.kill)
    await wait_until("the client to notice", lambda: not client.connected)
    await asyncio.to_thread(server.start)
    await writer.both("restart window", times=3)  # the server is back, the client not yet
    gate.open.set()
    await wait_until("the reconnect after the restart", lambda: client.stats.connects > connects)
    await wait_until("the events around the restart", writer.tally.all_received)
    await writer.both("after the restart")
    await wait_until("the events after the restart", writer.tally.all_received)
    return client.stats.replayed - replayed


async def test_no_event_is_missed_or_repeated_across_a_network_drop_and_a_restart(
    serve: Worker, alice, stack: str
) -> None:
    tally, incomplete, gate = Tally(), [], Gate(alice.token)
    client = MindwireClient(
        serve.url,
        token=gate,
        on_incomplete=lambda room, _ack: incomplete.append(room),
        reconnection_delay=0.5,
        reconnection_delay_max=1.0,
    )
    http = httpx.AsyncClient(base_url=serve.url, headers=alice.headers, timeout=30)
    async with client, http:
        for room in ROOMS:
            await client.subscribe(room, tally.handler(room))
        writer = Writer(http, client, tally)
        await live(writer)
        replayed_drop = await network_drop(writer, gate)
        replayed_restart = await restart(writer, serve, gate)
        # A barrier: a log written last, received last; any late repeat would be before it.
        await writer.create("memory-logs", "barrier")
        await wait_until("the barrier", tally.all_received)
        stats = client.stats

    figures = (
        f"[{stack}] events sent {len(tally.sent)}, received {len(tally.received)}, "
        f"missed {len(tally.missed())}, repeated {len(tally.repeated())}, "
        f"unexpected {len(tally.unexpected())}, out of order {tally.out_of_order()}; "
        f"sent while disconnected {tally.sent_while_away}; replayed after the drop "
        f"{replayed_drop}, after the restart {replayed_restart}; repeats dropped by the "
        f"client {stats.duplicates}; resubscriptions {stats.resubscriptions}"
    )
    print(f"\npython client e2e: {figures}")  # noqa: T201  (shown with `pytest -s`)
    assert (tally.missed(), tally.repeated(), tally.unexpected()) == ([], [], []), figures
    assert tally.out_of_order() == dict.fromkeys(ROOMS, 0), figures
    assert incomplete == [], figures
    assert replayed_drop == 6, figures  # the events written while away came by replay
    assert replayed_restart >= 6, figures  # and those of the restart window (and the crash's)
    assert tally.sent_while_away >= 12, figures
    assert stats.resubscriptions >= 4, figures  # both rooms, after each of the two reconnects
