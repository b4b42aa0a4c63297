"""Light stand-ins for `asyncio.Queue` and `asyncio.Event`, for the state every connection keeps.

Each socket's Engine.IO queue is a `LightQueue` (`outbox.py` bounds it in bytes), and a link
swaps uvicorn's receive queue and `writable` event for these once the connection is accepted
(`hub.py`): an idle connection then holds no deque, future or event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any


class LightQueue:
    """What Engine.IO needs of its per-socket `asyncio.Queue`, in a fraction of the memory.

    An idle `asyncio.Queue` holds three deques and an `Event`, ~3.3 KiB per connection; this
    one holds nothing until something is queued, then one list. Same semantics for Engine.IO's
    use: FIFO, unbounded, `get` cancellable (`wait_for`), `task_done`/`join`.
    """

    __slots__ = ("_getters", "_head", "_items", "_joiners", "_unfinished", "in_hand", "on_put")

    def __init__(self) -> None:
        self.in_hand = False
        """A waiting `get` has taken a packet that its consumer has not written yet."""
        self.on_put: Callable[[], None] | None = None
        """Called after each `put`: a consumer that takes what arrives at once, without a
        task waiting in `get` (the fast path's WebSocket writer)."""
        self._items: list[Any] | None = None
        self._head = 0
        self._getters: asyncio.Future[None] | list[asyncio.Future[None]] | None = None
        """The waiting getters: one future alone (an idle connection's reader: no list kept),
        or a list of them in order."""
        self._joiners: list[asyncio.Future[None]] | None = None
        self._unfinished = 0

    def qsize(self) -> int:
        return len(self._items) - self._head if self._items is not None else 0

    def empty(self) -> bool:
        return self._items is None

    def full(self) -> bool:
        return False

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        self._unfinished += 1
        self._wake_getter()
        if self.on_put is not None:
            self.on_put()

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        items = self._items
        if items is None:
            raise asyncio.QueueEmpty
        item = items[self._head]
        self._head += 1
        if self._head == len(items):
            self._items, self._head = None, 0
        else:
            items[self._head - 1] = None
        return item

    async def get(self) -> Any:
        while self._items is None:
            getter = asyncio.get_running_loop().create_future()
            self._add_getter(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                self._remove_getter(getter)
                if self._items is not None and not getter.cancelled():
                    self._wake_getter()  # we were woken but will not take it: pass it on
                raise
        self.in_hand = True
        return self.get_nowait()

    def put_waiter(self) -> asyncio.Future[None]:
        """A future done once something is queued: `get`'s wait for a single consumer that
        awaits it directly (no coroutine frame kept while it waits), then takes the item with
        `get_nowait`. Cancelled with its task, it is skipped by the next `put`."""
        getter = asyncio.get_running_loop().create_future()
        self._add_getter(getter)
        return getter

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._joiners:
            joiners, self._joiners = self._joiners, None
            for joiner in joiners:
                if not joiner.done():
                    joiner.set_result(None)

    async def join(self) -> None:
        if self._unfinished:
            joiner = asyncio.get_running_loop().create_future()
            if self._joiners is None:
                self._joiners = []
            self._joiners.append(joiner)
            await joiner

    def _add_getter(self, getter: asyncio.Future[None]) -> None:
        getters = self._getters
        if getters is None:
            self._getters = getter
        elif isinstance(getters, list):
            getters.append(getter)
        else:
            self._getters = [getters, getter]

    def _remove_getter(self, getter: asyncio.Future[None]) -> None:
        getters = self._getters
        if getters is getter:
            self._getters = None
        elif isinstance(getters, list):
            with contextlib.suppress(ValueError):
                getters.remove(getter)

    def _wake_getter(self) -> None:
        getters = self._getters
        if getters is None:
            return
        if not isinstance(getters, list):
            self._getters = None
            if not getters.done():
                getters.set_result(None)
            return
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                break
        if not getters:
            self._getters = None


class LightEvent:
    """`asyncio.Event` for uvicorn's `writable` flag: no deque until someone waits.

    An `asyncio.Event` allocates its waiters' deque (~0.6 KiB) up front; this one a list when
    the first `wait` has to wait. Same semantics: `set` wakes every waiter, `clear`, `is_set`.
    """

    __slots__ = ("_value", "_waiters")

    def __init__(self, value: bool = False) -> None:
        self._value = value
        self._waiters: list[asyncio.Future[bool]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if self._value:
            return
        self._value = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
            return True
        finally:
            if self._waiters is not None:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
