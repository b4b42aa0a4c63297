"""`EventRelay`: sends committed events live, in id order, from one process of the cluster.

Writers only commit (the write and its event row in one transaction) and wake the relay
(`Signals.wake`).
The relay reads the event log after its cursor and emits each event in id order, then moves
the cursor. Event ids commit in order (the advisory lock in `log.py`), so reading "after the
cursor" never skips an event; one relay at a time (the cluster's lease) means every socket,
on every worker, receives live events in id order. A client that keeps the last id it saw
and resubscribes with `since` therefore never misses one. The cursor is stored in the
database (every half second at most, not per event), so a new leader (after a crash or
`kill -9`) resumes at most that far behind where the old one stopped: events are re-sent at
worst (clients drop repeats), never skipped.

The grouped hot writes of this process hand their committed events over (`Signals.hand_off`),
and the relay sends those without reading them back (storing its cursor less often then:
`SAVE_HANDED_EVERY_SECONDS`), but only where that is provably what a
read would return: the next id after the cursor is handed over (ids are unique, so the log's
event of that id is that one, committed), and nothing else is known to be unread (no other
wake-up, no poll timeout, no full batch, since the last read that reached the log's end).
Anything else (an id it was not handed, a route's or another process's write) is read from
the log as before, which stays the source of truth.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src.cluster.cluster import Cluster
from src.events.log import EventLog, LoggedEvent

logger = logging.getLogger("mindwire.relay")

Deliver = Callable[[LoggedEvent], Awaitable[None]]

RELAY_BATCH = 500
POLL_SECONDS = 1.0
"""Even without a wake-up, the leader looks for new events this often."""
RETRY_SECONDS = 0.5
SAVE_EVERY_SECONDS = 0.5
"""The stored cursor lags at most this much: a new leader re-sends those events (repeats)."""
SAVE_HANDED_EVERY_SECONDS = 5.0
"""The same while the events come handed over (this process's hot writes). Each save is a
commit, and its fsync, on the database's write turn: a hot write that comes meanwhile waits
for it (4-11 ms on the write-latency bench, one write every half second). Repeats after a
crash stay what they were (clients drop them); there are more of them."""


class EventRelay:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        event_log: EventLog,
        cluster: Cluster,
        deliver: Deliver,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.event_log = event_log
        self.cluster = cluster
        self.deliver = deliver
        self.cursor: int | None = None
        self.leading = False
        self._stopping = False
        self._saved_at = 0.0
        self._handed: dict[int, LoggedEvent] = {}
        """Handed-over events after the cursor, by id."""
        self._behind = True
        """The log may hold events after the cursor that were not handed over."""

    async def prepare(self) -> None:
        """Store a starting cursor before the first write can happen (called at start-up)."""
        try:
            async with self.sessionmaker() as session:
                await self.event_log.ensure_relay_cursor(session)
        except Exception as exc:  # the database is down: the relay retries when it is back
            logger.warning("could not store the relay's starting cursor: %s", exc)

    def stop(self) -> None:
        """Finish the current batch and return (never cancelled mid-Redis-call)."""
        self._stopping = True
        self.cluster.wake_here()

    async def run_forever(self) -> None:
        while not self._stopping:
            try:
                self.leading = await self.cluster.is_leader()
                if self.leading:
                    if await self.relay_once() == RELAY_BATCH:
                        continue  # more are waiting
                else:
                    self.cursor = None  # reload the stored cursor if we lead again
                    self._take_handed()  # the leader reads them from the log
                    self._handed.clear()
            except Exception as exc:
                logger.warning("relaying events failed: %s; retrying", exc)
                self._behind = True  # what was handed over and not sent is read again
                await asyncio.sleep(RETRY_SECONDS)
                continue
            await self.cluster.wait_for_wake(POLL_SECONDS)

    async def relay_once(self) -> int:
        """Send the events committed after the cursor (one batch); returns how many were
        read from the log, or sent from the hand-over when nothing was read."""
        self._take_handed()
        sent = await self._send_handed()
        if self.cursor is not None and not self._behind and not self._handed:
            # Nothing unread: every event after the cursor was handed over and is sent.
            if sent and self._save_due(SAVE_HANDED_EVERY_SECONDS):  # a session only to store
                async with self.sessionmaker() as session:
                    await self._save_cursor(session)
            return sent
        async with self.sessionmaker() as session:
            if self.cursor is None:
                await self.event_log.ensure_relay_cursor(session)
                self.cursor = await self.event_log.relay_cursor(session)
                logger.info("relaying events after id %d", self.cursor)
            batch = await self.event_log.read_all(session, after=self.cursor, limit=RELAY_BATCH)
            await self._send(batch)
            # Read to the log's end: only what is handed over from now on can be unread.
            self._behind = len(batch) == RELAY_BATCH
            self._forget_handed()
            if batch or sent:
                await self._save_cursor(session)
        return len(batch)

    def _take_handed(self) -> None:
        handed, unread = self.cluster.signals.take_handed()
        self._behind = self._behind or unread
        self._keep(handed)

    def _keep(self, handed: Iterable[LoggedEvent]) -> None:
        for logged in handed:
            if self.cursor is None or logged.meta.event_id > self.cursor:
                self._handed[logged.meta.event_id] = logged

    def _forget_handed(self) -> None:
        """Drop what the cursor has passed (sent, read from the log)."""
        cursor = self.cursor
        if cursor is not None:
            self._handed = {i: e for i, e in self._handed.items() if i > cursor}

    async def _send_handed(self) -> int:
        """Send the handed-over events that follow the cursor without a gap (none when the
        log may hold something before them); returns how many."""
        if self.cursor is None or self._behind:
            return 0
        run: list[LoggedEvent] = []
        while (logged := self._handed.pop(self.cursor + len(run) + 1, None)) is not None:
            run.append(logged)
        await self._send(run)
        return len(run)

    async def _send(self, batch: list[LoggedEvent]) -> None:
        for logged in batch:
            await self.deliver(logged)
            self.cursor = logged.meta.event_id
            # A delivery whose sockets all take the fast path never suspends: without
            # this, a batch's fan-outs would hold the loop, and the requests, in one go.
            await asyncio.sleep(0)

    async def _save_cursor(self, session: AsyncSession) -> None:
        """Store the cursor, at most every `SAVE_EVERY_SECONDS`."""
        if self.cursor is None or not self._save_due():
            return
        await self.event_log.save_relay_cursor(session, self.cursor)
        self._saved_at = time.monotonic()

    def _save_due(self, every: float = SAVE_EVERY_SECONDS) -> bool:
        return time.monotonic() - self._saved_at >= every
