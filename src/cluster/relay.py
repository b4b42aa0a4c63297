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
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

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
            except Exception as exc:
                logger.warning("relaying events failed: %s; retrying", exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            await self.cluster.wait_for_wake(POLL_SECONDS)

    async def relay_once(self) -> int:
        """Send the events committed after the cursor (one batch); returns how many."""
        async with self.sessionmaker() as session:
            if self.cursor is None:
                await self.event_log.ensure_relay_cursor(session)
                self.cursor = await self.event_log.relay_cursor(session)
                logger.info("relaying events after id %d", self.cursor)
            batch = await self.event_log.read_all(session, after=self.cursor, limit=RELAY_BATCH)
            for logged in batch:
                await self.deliver(logged)
                self.cursor = logged.meta.event_id
                # A delivery whose sockets all take the fast path never suspends: without
                # this, a batch's fan-outs would hold the loop, and the requests, in one go.
                await asyncio.sleep(0)
            if batch and time.monotonic() - self._saved_at >= SAVE_EVERY_SECONDS:
                await self.event_log.save_relay_cursor(session, self.cursor)
                self._saved_at = time.monotonic()
        return len(batch)
