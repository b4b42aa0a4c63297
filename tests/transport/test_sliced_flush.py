"""`Hub` flushes a large fan-out a slice of links per event-loop pass.

- each link's frames still go out in order, once, however writes and slices interleave;
- an HTTP request to the app is answered while such a flush is in progress;
- a reader past the limit is still cut off in a sliced flush, and the others are not.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from src.testing.users import TestUser
from src.transport.hub import Hub
from src.transport.links import Link
from tests.transport.test_links import FakeProtocol, FakeSocket


def make_links(hub: Hub, count: int) -> list[tuple[Link, FakeProtocol]]:
    """Links past their first write (the OPEN, written at once, not through the hub)."""
    made = []
    for _ in range(count):
        protocol = FakeProtocol()
        link = Link(hub, protocol, FakeSocket())
        link.write(b"open")
        protocol.transport.writes.clear()
        made.append((link, protocol))
    return made


async def until_flushed(hub: Hub) -> None:
    """Passes until the hub has nothing marked nor in progress (a barrier, not a delay)."""
    for _ in range(10_000):
        if not hub._scheduled:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the hub never finished flushing")


async def test_a_large_flush_goes_out_a_slice_per_pass_and_each_link_keeps_its_order() -> None:
    hub = Hub(1 << 20, slice_size=2, whole=0)
    links = make_links(hub, 5)
    for link, _ in links:
        link.write(b"a")
    await asyncio.sleep(0)  # one pass: the first slice only
    assert [len(protocol.transport.writes) for _, protocol in links] == [1, 1, 0, 0, 0]
    for link, _ in links:  # the flushed links are marked again; the others gather "ab"
        link.write(b"b")
    await until_flushed(hub)
    writes = [protocol.transport.writes for _, protocol in links]
    assert writes == [[b"a", b"b"], [b"a", b"b"], [b"ab"], [b"ab"], [b"ab"]]


async def test_many_events_to_many_links_arrive_once_in_order_while_writes_go_on() -> None:
    hub = Hub(1 << 20, slice_size=3, whole=0)
    links = make_links(hub, 40)
    for event in range(60):
        for link, _ in links:
            link.write(b"%d," % event)
        for _ in range(event % 4):  # writes land before, during and between flushes
            await asyncio.sleep(0)
    await until_flushed(hub)
    expected = b"".join(b"%d," % event for event in range(60))
    for _, protocol in links:
        assert b"".join(protocol.transport.writes) == expected
        assert len(protocol.transport.writes) < 60  # coalesced: several events per write


async def test_a_request_is_answered_while_a_large_flush_is_in_progress(
    client: httpx.AsyncClient, alice: TestUser
) -> None:
    hub = Hub(1 << 20, slice_size=1, whole=0)  # one link per pass: the flush takes 20,000 passes
    links = make_links(hub, 20_000)
    for link, _ in links:
        link.write(b"event")
    await asyncio.sleep(0)  # the flush has begun
    response = await client.get("/api/users/me", headers=alice.headers)  # reads the database
    assert response.status_code == 200 and response.json()["id"] == alice.id
    written = sum(bool(protocol.transport.writes) for _, protocol in links)
    assert 0 < written < len(links)  # answered between two slices, before the flush ended
    await until_flushed(hub)
    assert all(protocol.transport.writes == [b"event"] for _, protocol in links)


async def test_a_reader_past_the_limit_is_cut_off_in_a_sliced_flush(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = Hub(100, slice_size=1, whole=0)
    links = make_links(hub, 4)
    slow_link, slow = links[2]
    slow.writable.clear()  # the peer reads slowly: uvicorn's pause_writing
    with caplog.at_level(logging.WARNING, logger="mindwire.events"):
        for _ in range(5):
            for link, _ in links:
                link.write(b"x" * 30)
            await asyncio.sleep(0)
        await until_flushed(hub)
    assert slow.transport.aborted and slow_link.closed and slow.transport.writes == []
    assert "bytes behind" in caplog.text
    for link, protocol in links:
        if link is not slow_link:
            assert b"".join(protocol.transport.writes) == b"x" * 150


async def next_slice(links: list[tuple[Link, FakeProtocol]], before: int) -> int:
    """Links written once the next slice has run (it steps aside while this test is ready)."""
    for _ in range(50):
        await asyncio.sleep(0)
        written = sum(bool(protocol.transport.writes) for _, protocol in links)
        if written != before:
            return written
    raise AssertionError("no slice ran")


async def test_a_flush_that_has_run_a_while_takes_larger_slices() -> None:
    """Under a connect burst every pass is long and a slice steps aside in most of them: a
    flush of fixed slices fell seconds behind the acks it carried (`FLUSH_STRETCH`)."""
    hub = Hub(1 << 20, slice_size=1, whole=0, stretch=60.0)
    links = make_links(hub, 100)
    for link, _ in links:
        link.write(b"ack")
    await asyncio.sleep(0)  # the flush's first slice, at its start: one link
    assert sum(bool(protocol.transport.writes) for _, protocol in links) == 1
    hub._began -= 10 * hub.stretch  # as if its passes had taken ten minutes
    assert await next_slice(links, 1) == 12  # 11 slices' worth
    hub._began -= 100 * hub.stretch
    assert await next_slice(links, 12) == 12 + 32  # at most FLUSH_STRETCH_MAX slices' worth
    await until_flushed(hub)
    assert all(protocol.transport.writes == [b"ack"] for _, protocol in links)


async def test_a_short_flush_keeps_its_slices() -> None:
    hub = Hub(1 << 20, slice_size=1, whole=0, stretch=3600.0)
    links = make_links(hub, 10)
    for link, _ in links:
        link.write(b"ack")
    await asyncio.sleep(0)
    assert await next_slice(links, 1) == 2
    await until_flushed(hub)
