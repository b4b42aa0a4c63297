"""Under uvloop (what `mindwire serve` runs) a request waits for few socket writes per pass.

uvloop's ready queue cannot be read, so there a flush slice never steps aside (`turns.py`):
each loop pass of a request also runs one slice of a flush in progress. A REST write is about
ten passes; with 5000 subscribers, a slice of 64 links (64 `send()`s, ~1 ms) made it wait
~10-18 ms inside the server (`bench/servers/mindwire_timed.py`). Counted here in writes, not
time: a probe of ten passes started as a 1000-link flush begins sees at most eleven slices.
"""

from __future__ import annotations

import asyncio

import uvloop

from src.transport.hub import FLUSH_SLICE, FLUSH_WHOLE, Hub
from tests.transport.test_sliced_flush import make_links, until_flushed

REQUEST_PASSES = 10


def test_a_ten_pass_request_waits_for_at_most_eleven_small_slices_under_uvloop() -> None:
    async def scenario() -> tuple[int, int]:
        hub = Hub(1 << 20)  # the default slice
        links = make_links(hub, 1000)
        for link, _ in links:
            link.write(b"event")
        for _ in range(REQUEST_PASSES):  # the request's passes, each after one slice at most
            await asyncio.sleep(0)
        during = sum(len(protocol.transport.writes) for _, protocol in links)
        await until_flushed(hub)  # the rest of the flush (a barrier: the hub is done)
        total = sum(len(protocol.transport.writes) for _, protocol in links)
        return during, total

    during, total = uvloop.run(scenario())
    assert total == 1000  # every link written once, whatever the slice
    assert during <= (REQUEST_PASSES + 1) * FLUSH_SLICE
    # ~100 writes of ~15 µs on a real socket: under 3 ms of the request's time, not ~10.
    assert during <= 200


def test_a_small_flush_goes_out_in_one_pass() -> None:
    """100 subscribers (`rest-100/s-100`): slicing their flush would only add passes."""

    async def scenario() -> list[int]:
        hub = Hub(1 << 20)
        links = make_links(hub, 100)
        for link, _ in links:
            link.write(b"event")
        await asyncio.sleep(0)  # one pass
        return [len(protocol.transport.writes) for _, protocol in links]

    assert 100 <= FLUSH_WHOLE
    assert uvloop.run(scenario()) == [1] * 100
