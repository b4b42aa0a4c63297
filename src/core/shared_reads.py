"""Single-flight reads: concurrent identical queries share one trip to the database.

In a reconnect storm thousands of sockets resubscribe at once, most from the same last event
id, and each would read the same batches of the event log. Here the first caller of a key
runs the query and every caller that asks for the same key while it is in flight awaits that
same result. Nothing is kept once it completes: a later caller runs a new query, so no read
is ever older than the moment its caller asked (each sharer could have got exactly that
result by itself).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class SharedReads:
    """Runs `read()` once per key among the callers that overlap in time.

    Example::

        shared = SharedReads()
        batch = await shared.run(("read", rooms, after, limit), lambda: read_batch(...))

    A failure reaches every caller that shared the read, each as its own copy. A caller that
    is cancelled does not cancel the read for the others (it runs in its own task).
    """

    def __init__(self) -> None:
        self._in_flight: dict[Hashable, asyncio.Future[Any]] = {}
        self.queries = 0
        """How many reads actually ran (the rest were shared): for tests and metrics."""

    async def run(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        pending = self._in_flight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._lead(key, read))
            pending.add_done_callback(_retrieve)  # every sharer may have been cancelled
            self._in_flight[key] = pending
        await asyncio.wait([pending])  # a cancelled caller leaves the read running
        failure = pending.exception()
        if failure is not None:
            raise _own_copy(failure) from failure
        result: T = pending.result()
        return result

    async def _lead(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        self.queries += 1
        try:
            return await read()
        finally:
            del self._in_flight[key]  # ends sharing: the next caller reads anew


def _own_copy(failure: BaseException) -> BaseException:
    """The failure, once per caller: raising one exception object in a thousand tasks would
    grow its traceback by each of them (and logging each would cost all of it)."""
    try:
        return copy.copy(failure).with_traceback(None)
    except Exception:  # an exception that cannot be rebuilt from its arguments
        return RuntimeError(f"a shared read failed: {failure!r}")


def _retrieve(done: asyncio.Future[Any]) -> None:
    if not done.cancelled():
        done.exception()
