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


async def test_a_caller_asking_during_a_read_gets_a_read_that_starts_after_it_asked():
    """A read is shared only with callers that asked before it started: one asking while it
    runs (e.g. a connect checking a token just signed out) waits for the next read, which
    every such caller shares."""
    shared = SharedReads()
    releases = [asyncio.Event(), asyncio.Event()]
    started: list[int] = []
    first_started = asyncio.Event()

    async def read() -> int:
        started.append(len(started) + 1)
        first_started.set()
        await releases[len(started) - 1].wait()
        return len(started)

    first = asyncio.ensure_future(shared.run("k", read))
    await first_started.wait()  # the first read is under way
    late = [asyncio.ensure_future(shared.run("k", read)) for _ in range(CALLERS)]
    await asyncio.sleep(0)  # every late caller has asked
    assert started == [1]  # none of them started a read beside the running one
    releases[0].set()
    assert await first == 1
    releases[1].set()
    assert await asyncio.gather(*late) == [2] * CALLERS  # one fresh read, shared
    assert shared.queries == 2


async def test_with_join_running_a_caller_also_joins_a_read_under_way():
    """For keys that fix what the read must see (a replay's live position), a late caller
    takes the running read rather than a second one."""
    shared = SharedReads(join_running=True)
    release = asyncio.Event()
    started = asyncio.Event()
    reads = 0

    async def read() -> int:
        nonlocal reads
        reads += 1
        started.set()
        await release.wait()
        return reads

    first = asyncio.ensure_future(shared.run("k", read))
    await started.wait()
    late = [asyncio.ensure_future(shared.run("k", read)) for _ in range(CALLERS)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(first, *late) == [1] * (CALLERS + 1)
    assert shared.queries == 1
