"""Single-flight reads: concurrent identical queries share one trip to the database.

In a reconnect storm thousands of sockets resubscribe at once, most from the same last event
id, and each would read the same batches of the event log. Here callers of one key share a
read, on one condition: the read starts after they asked. A caller may join a read that is
waiting to start; one that asks while a read of its key is already running waits for it to
end and joins the next read, which every caller arriving meanwhile shares. So no sharer gets
data older than the moment it asked (a sign-out committed before a connect asked is seen by
that connect's read), and a storm costs about one read per key per read's duration, not one
per caller. Nothing is kept once a read completes. Where the key itself fixes what a read must
see (`join_running`: a replay's key holds its room's last live event id), a caller also joins
a read already under way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from src.core.failures import own_copy

T = TypeVar("T")


class SharedReads:
    """Runs `read()` once per key among the callers that ask before it starts (with
    `join_running`, also those that ask while it runs).

    Example::

        shared = SharedReads()
        batch = await shared.run(("read", rooms, after, limit), lambda: read_batch(...))

    A failure reaches every caller that shared the read, each as its own copy. A caller that
    is cancelled does not cancel the read for the others (it runs in its own task).
    """

    def __init__(self, *, join_running: bool = False) -> None:
        self.join_running = join_running
        """Whether a caller may also join a read already under way: only where the key
        itself says what the read must see (a replay's key holds its room's last live event
        id: every event of the room up to the live position was committed before any read
        with that key began; `ReplayReads.read`)."""
        self._joinable: dict[Hashable, asyncio.Future[Any]] = {}
        """Per key, the read that has not started yet: a caller joins it."""
        self._running: dict[Hashable, asyncio.Future[Any]] = {}
        """Per key, the read under way: too old for a caller asking now."""
        self.queries = 0
        """How many reads actually ran (the rest were shared): for tests and metrics."""

    async def run(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        pending = self._joinable.get(key)
        if pending is None and self.join_running:
            pending = self._running.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._lead(key, read, self._running.get(key)))
            pending.add_done_callback(_retrieve)  # every sharer may have been cancelled
            self._joinable[key] = pending
        await asyncio.wait([pending])  # a cancelled caller leaves the read running
        failure = pending.exception()
        if failure is not None:
            raise own_copy(failure, "a shared read") from failure
        result: T = pending.result()
        return result

    async def _lead(
        self,
        key: Hashable,
        read: Callable[[], Awaitable[T]],
        running: asyncio.Future[Any] | None,
    ) -> T:
        if running is not None:  # the callers so far asked after it started: read anew
            await asyncio.wait([running])
        this = self._joinable.pop(key)  # from now on a caller's read must start after it
        self._running[key] = this
        self.queries += 1
        try:
            return await read()
        finally:
            if self._running.get(key) is this:
                del self._running[key]


def _retrieve(done: asyncio.Future[Any]) -> None:
    if not done.cancelled():
        done.exception()
