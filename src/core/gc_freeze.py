"""`StartupFreeze`: the objects alive once the app has started are moved out of the cyclic
collector's reach (`gc.freeze()`).

Why: a full (oldest-generation) collection walks every tracked object, and most of a fresh
server's are its own code and state (modules, classes, SQLAlchemy's and pydantic's compiled
schemas, the routing tables: ~160,000 objects) that live as long as the process. A connect
burst runs full passes again and again (`gc_pacing.py` says why); each walked those too
(early in a burst, more of them than of the sockets). Frozen, they are skipped: each pass
costs what the connections hold, not what the program is. Alone, that did not shorten a
10,000-connect burst (the smaller oldest generation is passed a quarter sooner), hence the
threshold below. Memory is unchanged: a `gc.collect()` first, so no garbage is frozen, and a
frozen object freed by its reference count is freed as before.

And the youngest generation is collected after `YOUNG_THRESHOLD` allocations instead of
CPython's 700. A connect is a few hundred allocations that live until the database answers
(tens of milliseconds): with 700, the objects of every connect in flight survived two young
collections and were promoted into the oldest generation, and promoted objects are what
trigger the full passes (a quarter of the oldest generation's size promoted since the last
one). A 10,000-connect burst ran 24 full passes; with 10,000 most of that has died before its
first young collection, and the burst ran 5 (docs/performance.md). The cost: young
garbage cycles wait for 10,000 allocations instead of 700 (a few MiB at most).

Process-wide, like the collector: the first app's lifespan freezes, the last one's end
unfreezes and restores the threshold (tests start many apps in one process; what the earlier
ones left is collectable again).
"""

from __future__ import annotations

import gc
import threading

YOUNG_THRESHOLD = 10_000
"""Allocations (less deallocations) of tracked objects between young collections."""


class StartupFreeze:
    """`gc.freeze()` and `YOUNG_THRESHOLD` after the first start; undone after the last stop."""

    def __init__(self, young: int = YOUNG_THRESHOLD) -> None:
        self.young = young
        self._lock = threading.Lock()
        self._users = 0
        self._thresholds = gc.get_threshold()

    def start(self) -> None:
        """Freeze what is alive now (counted: each `start` needs its `stop`)."""
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            gc.collect()
            gc.freeze()
            self._thresholds = gc.get_threshold()
            gc.set_threshold(max(self.young, self._thresholds[0]), *self._thresholds[1:])

    def stop(self) -> None:
        """The last `stop` hands the frozen objects back to the collector and restores the
        young threshold (unless someone set another since)."""
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users:
                return
            gc.unfreeze()
            young, *older = gc.get_threshold()
            if young == max(self.young, self._thresholds[0]):
                gc.set_threshold(self._thresholds[0], *older)

    @property
    def frozen(self) -> int:
        """Objects out of the collector's reach now."""
        return gc.get_freeze_count()


FREEZE = StartupFreeze()
"""The process's freeze and young threshold (every app's lifespan starts and stops it)."""
