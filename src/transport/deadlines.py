"""`Deadlines`: many per-connection deadlines on one event-loop timer.

An event-loop timer costs ~0.5-0.8 KiB (uvloop's handle and its libuv timer, the copied
context); a task sleeping until a deadline ~1.5 KiB more. Every idle connection used to keep
several (its Engine.IO ping, its token expiry). Here a deadline is one heap entry and one dict
entry, and the loop holds a single timer: for the earliest deadline.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
EARLY = 0.001


class Deadlines(Generic[K]):
    """Calls `fire(keys)` with the keys whose deadline has come, each once, earliest first.

    `set` (re)arms a key's deadline, `cancel` forgets it. Cancelled and replaced entries stay
    in the heap until their time comes or they outnumber the live ones (then it is rebuilt).
    """

    __slots__ = ("_fire", "_heap", "_live", "_order", "_timer", "_timer_at")

    def __init__(self, fire: Callable[[list[K]], None]) -> None:
        self._fire = fire
        self._heap: list[tuple[float, int, K]] = []
        self._live: dict[K, int] = {}
        """Each armed key -> the order number of its heap entry (the others are stale)."""
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, key: object) -> bool:
        return key in self._live

    def set(self, key: K, when: float) -> None:
        """Arm `key` for loop time `when`, replacing its earlier deadline if any."""
        order = next(self._order)
        self._live[key] = order
        heapq.heappush(self._heap, (when, order, key))
        if len(self._heap) > 2 * len(self._live) + 64:
            self._compact()
        if when < self._timer_at:
            self._arm(when)

    def cancel(self, key: K) -> None:
        self._live.pop(key, None)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = asyncio.get_running_loop().call_at(when, self._run)

    def _run(self) -> None:
        self._timer, self._timer_at = None, float("inf")
        heap, live = self._heap, self._live
        # A timer may run a little before its time by the loop's clock (uvloop counts whole
        # milliseconds): what is due within EARLY counts as due, rather than arming again.
        limit = asyncio.get_running_loop().time() + EARLY
        due: list[K] = []
        while heap and heap[0][0] <= limit:
            _, order, key = heapq.heappop(heap)
            if live.get(key) == order:
                del live[key]
                due.append(key)
        while heap and live.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)  # stale: no timer for it
        if heap:
            self._arm(heap[0][0])
        if due:
            self._fire(due)

    def _compact(self) -> None:
        live = self._live
        self._heap = [entry for entry in self._heap if live.get(entry[2]) == entry[1]]
        heapq.heapify(self._heap)
