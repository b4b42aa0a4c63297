"""`GcPacing`: the cyclic collector's full passes at most once per interval.

Why: CPython runs a full (oldest-generation) collection whenever the objects promoted into
the oldest generation since the last one pass a quarter of it. A server that opens thousands
of connections at once promotes that much again and again, and each full pass walks every
tracked object: with 10,000 sockets open, about a second each. A 10,000-client connect burst
ran two dozen of them, most of the server's CPU (`bench/run.py --scenarios connect-10000`).

With pacing, after a full collection the next one waits at least `interval` seconds, and
longer when the pass was long: full passes take at most `SHARE` of the time (a 1.5 s pass
holds the next back for 30 s). Then Python's own rule applies again (an idle server still
runs none). The young generations are collected as usual, so only cyclic garbage that
reached the oldest generation waits longer, that long. Process-wide, like the collector: the
first app's lifespan starts it, the last one's end stops it.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

HELD = 1 << 30
"""The oldest generation's threshold while a full pass is held back: never reached."""
SHARE = 0.05
"""The most of the time full passes may take: the hold is at least 1/SHARE times the pass."""


class GcPacing:
    """Holds the collector's full passes back for `interval` seconds after each one."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.full_passes = 0
        """Full collections seen since `start` (the collector's and explicit ones)."""
        self.last_hold = 0.0
        """How long the last full pass held the next one back (seconds)."""
        self._began = 0.0
        self._thresholds = gc.get_threshold()
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._users = 0

    def start(self) -> None:
        """Pace from now on (counted: each `start` needs its `stop`)."""
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            self._thresholds = gc.get_threshold()
            gc.callbacks.append(self._collected)

    def stop(self) -> None:
        """The last `stop` restores the collector's thresholds and its own pacing."""
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users:
                return
            if self._collected in gc.callbacks:
                gc.callbacks.remove(self._collected)
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            gc.set_threshold(*self._thresholds)

    @property
    def holding(self) -> bool:
        """Whether full passes are held back now."""
        return gc.get_threshold()[2] == HELD

    def _collected(self, phase: str, info: dict[str, Any]) -> None:
        """The collector's callback: after a full pass, hold the next one back. It may run on
        any thread (whichever allocated), hence a timer thread, not the event loop."""
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
            return
        self.full_passes += 1
        if self._timer is not None or self.interval <= 0:
            return
        young, middle, _oldest = self._thresholds
        gc.set_threshold(young, middle, HELD)
        self.last_hold = max(self.interval, (time.perf_counter() - self._began) / SHARE)
        timer = threading.Timer(self.last_hold, self._release)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _release(self) -> None:
        """The hold is over: the collector's thresholds again, and the full pass it held back
        now, if it wanted one (so a burst's garbage cycles wait no longer than the hold)."""
        with self._lock:
            self._timer = None
            if not self._users:
                return
            gc.set_threshold(*self._thresholds)
            deferred = gc.get_count()[2] > self._thresholds[2]
        if deferred:
            gc.collect()


PACING = GcPacing(10.0)
"""The process's pacing (`SOCKET_GC_FULL_INTERVAL_SECONDS` sets its interval)."""
