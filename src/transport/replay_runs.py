"""A replay list's WebSocket frames joined into one write, once for all its sockets (`Runs`).

In a reconnect storm each user's sockets are replayed the same lists (the user's room and the
shared ones, from the same offset): the frames of a list are joined once per form (with the
offsets or without) and written whole to each socket whose replay owes it every event of the
list (`HoldingManager.claim_run`), instead of a claim, a look-up and a join per event and
socket. Any other list goes through `SocketServer._send_batch`'s event-by-event path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from src.events.log import LoggedEvent

MAX_RUN_BYTES = 16 * 1024 * 1024
"""Joined frames kept at most: past it they all go."""
KEEP_RUNS_SECONDS = 30.0
"""They all go this long after the first was kept (a storm's replays are over by then)."""

event_id_of: Callable[[LoggedEvent], int] = attrgetter("meta.event_id")
"""An event's id: a C-level key for sorts and bisects, called per event of a storm's lists
(here and in `replay_reads.py`)."""

Encoded = Callable[[LoggedEvent, bool], Any]
"""An event's (packets, frame) in a form (with its offset or not); frame None: binary parts."""


@dataclass(frozen=True, slots=True)
class Run:
    """A replay list's ids and its frames joined."""

    ids: tuple[int, ...]
    frames: bytes


class Runs:
    """Joined frames of replay lists, by the list's ids and form."""

    def __init__(self) -> None:
        self._runs: dict[tuple[tuple[int, ...], bool], Run | None] = {}
        self._bytes = 0
        self._since = 0.0

    def joined(
        self, batch: list[LoggedEvent], marked: bool, encoded: Encoded, budget: int
    ) -> Run | None:
        """`batch`'s frames in form `marked`, joined once; None when an event has binary parts
        or the frames pass `budget` bytes (the slice a replay writes at once). The key holds
        the budget's outcome: one server has one budget."""
        ids = tuple(map(event_id_of, batch))
        key = (ids, marked)
        runs = self._runs
        if key in runs:
            return runs[key]
        frames: list[bytes] = []
        size = 0
        for logged in batch:
            frame = encoded(logged, marked)[1]
            if frame is None or size + len(frame) > budget:
                break
            frames.append(frame)
            size += len(frame)
        found = Run(ids, b"".join(frames)) if len(frames) == len(batch) else None
        now = time.monotonic()
        if self._bytes + size > MAX_RUN_BYTES or now - self._since > KEEP_RUNS_SECONDS:
            runs.clear()
            self._bytes = 0
            self._since = now
        runs[key] = found
        self._bytes += size if found is not None else 0
        return found

    def send(
        self,
        manager: Any,
        link: Any,
        sid: str,
        batch: list[LoggedEvent],
        form: tuple[bool, Encoded, int],
    ) -> bool:
        """Write all of `batch` to `sid`'s `link` in one write and flush it, when the link
        takes direct writes and `sid` is owed every event of it (`claim_run` claims them):
        True then; False writes and claims nothing. `form`: (with offsets, the encoding, the
        budget of one write)."""
        if not link.direct():
            return False
        run = self.joined(batch, *form)
        if run is None or not manager.claim_run(sid, run.ids):
            return False
        link.write(run.frames)
        link.flush()  # out now, not at the hub's next flush (`_send_batch`)
        return True
