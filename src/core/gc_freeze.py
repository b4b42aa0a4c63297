"""`StartupFreeze`: the objects alive once the app has started are moved out of the cyclic
collector's reach (`gc.freeze()`).

Why: a full (oldest-generation) collection walks every tracked object, and most of a fresh
server's are its own code and state (modules, classes, SQLAlchemy's and pydantic's compiled
schemas, the routing tables: ~160,000 objects) that live as long as the process. A connect
burst runs full passes again and again (`gc_pacing.py` says why); each walked those first,
and far more of them than of the sockets. Frozen, they are skipped: each pass costs what the
connections hold, not what the program is. Memory is unchanged: a `gc.collect()` first, so
no garbage is frozen, and a frozen object freed by its reference count is freed as before.

Process-wide, like the collector: the first app's lifespan freezes, the last one's end
unfreezes (tests start many apps in one process; what the earlier ones left is collectable
again).
"""

from __future__ import annotations

import gc
import threading


class StartupFreeze:
    """`gc.freeze()` after the first start, `gc.unfreeze()` after the last stop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0

    def start(self) -> None:
        """Freeze what is alive now (counted: each `start` needs its `stop`)."""
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            gc.collect()
            gc.freeze()

    def stop(self) -> None:
        """The last `stop` hands the frozen objects back to the collector."""
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users:
                return
            gc.unfreeze()

    @property
    def frozen(self) -> int:
        """Objects out of the collector's reach now."""
        return gc.get_freeze_count()


FREEZE = StartupFreeze()
"""The process's freeze (`SOCKET_GC_FREEZE` turns it on)."""
