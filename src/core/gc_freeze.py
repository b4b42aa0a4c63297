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

And the middle generation is collected after `MIDDLE_THRESHOLD` young collections instead of
CPython's 10. What survives a young collection in a burst is mostly the connects still in
flight (the WebSocket handshakes queued behind the loop, the connects waiting for the
database): with 10, much of it was still alive at the middle pass, was walked there and
promoted to the oldest generation, counting towards a full pass. With 50 more of it has died
first: a 10,000-connect burst spent ~1.0 s in middle passes instead of ~1.5 s and ran no full
pass instead of one (~0.7 s), of ~10 s of server CPU. The cost: garbage cycles that survive a
young collection wait up to 500,000 allocations for the middle pass instead of 100,000.

Process-wide, like the collector: the first app's lifespan freezes, the last one's end
unfreezes and restores the thresholds (tests start many apps in one process; what the earlier
ones left is collectable again).
"""

from __future__ import annotations

import gc
import threading

YOUNG_THRESHOLD = 10_000
"""Allocations (less deallocations) of tracked objects between young collections."""
MIDDLE_THRESHOLD = 50
"""Young collections between two collections of the middle generation."""


class StartupFreeze:
    """`gc.freeze()`, `YOUNG_THRESHOLD` and `MIDDLE_THRESHOLD` after the first start; undone
    after the last stop."""

    def __init__(self, young: int = YOUNG_THRESHOLD, middle: int = MIDDLE_THRESHOLD) -> None:
        self.young = young
        self.middle = middle
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
            gc.set_threshold(*self._raised())

    def stop(self) -> None:
        """The last `stop` hands the frozen objects back to the collector and restores the
        young and middle thresholds (each unless someone set another since)."""
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users:
                return
            gc.unfreeze()
            young, middle, oldest = gc.get_threshold()
            raised_young, raised_middle, _ = self._raised()
            gc.set_threshold(
                self._thresholds[0] if young == raised_young else young,
                self._thresholds[1] if middle == raised_middle else middle,
                oldest,
            )

    def _raised(self) -> tuple[int, int, int]:
        """The thresholds while started: the young and middle ones raised, never lowered."""
        young, middle, oldest = self._thresholds
        return max(self.young, young), max(self.middle, middle), oldest

    @property
    def frozen(self) -> int:
        """Objects out of the collector's reach now."""
        return gc.get_freeze_count()


FREEZE = StartupFreeze()
"""The process's freeze and young threshold (every app's lifespan starts and stops it)."""
