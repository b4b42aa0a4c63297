"""`SharedReads`: one read for the callers that overlap, none kept after it, and a failure
that reaches each caller as its own exception (with a traceback of its own length)."""

from __future__ import annotations

import asyncio
import traceback

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from src.core.shared_reads import SharedReads

CALLERS = 200


async def test_overlapping_callers_share_one_read_and_later_ones_read_again():
    shared = SharedReads()
    release = asyncio.Event()
    reads = 0

    async def read() -> int:
        nonlocal reads
        reads += 1
        await release.wait()
        return reads

    callers = [asyncio.ensure_future(shared.run("k", read)) for _ in range(CALLERS)]
    await asyncio.sleep(0)  # every caller has asked
    release.set()
    assert await asyncio.gather(*callers) == [1] * CALLERS
    assert await shared.run("k", read) == 2  # nothing kept: a new read
    assert shared.queries == 2


async def test_a_failure_reaches_each_caller_as_its_own_exception():
    shared = SharedReads()
    release = asyncio.Event()

    async def read() -> int:
        await release.wait()
        raise PoolTimeout("QueuePool limit reached")

    callers = [asyncio.ensure_future(shared.run("k", read)) for _ in range(CALLERS)]
    await asyncio.sleep(0)
    release.set()
    failures = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(failure, PoolTimeout) for failure in failures)
    assert len({id(failure) for failure in failures}) == CALLERS
    longest = max(len(traceback.format_exception(failure)) for failure in failures)
    assert longest < 40  # not growing with the number of callers


async def test_a_cancelled_caller_does_not_cancel_the_read_for_the_others():
    shared = SharedReads()
    release = asyncio.Event()

    async def read() -> str:
        await release.wait()
        return "rows"

    first = asyncio.ensure_future(shared.run("k", read))
    second = asyncio.ensure_future(shared.run("k", read))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == "rows"
    with pytest.raises(asyncio.CancelledError):
        await first
