"""`Completeness`: whether the event log still holds every event after an id, kept while
that cannot have changed.

Every replay answers whether the log was complete after its `since` (`is_complete_after`: no
event after it was pruned, or is past retention and about to be). A reconnect storm asks it
thousands of times for the same few ids, each a read. The answer changes only as time
passes: once false it stays false (the prune watermark only grows, an expired event stays
expired until pruned), and a true answer stays true until the oldest event after `since`
leaves the retention window. Events committed after the read are stamped later than the
read began, give or take a transaction's length (`MARGIN`). So a true answer is kept until
`min(oldest, read began) - MARGIN + retention`, a false one for good, at most `MAX_KEPT` ids.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src.core.clock import as_utc
from src.core.shared_reads import SharedReads
from src.events.log import EventLog

MARGIN = timedelta(seconds=60)
"""How much earlier than a read an event it did not see may have been stamped."""
MAX_KEPT = 4096


class Completeness:
    """`is_complete_after`, read once per id while its answer cannot have changed."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], event_log: EventLog):
        self.sessionmaker = sessionmaker
        self.event_log = event_log
        self.reads = 0
        self._shared = SharedReads()
        self._until: dict[int, datetime | None] = {}
        """Per id: complete until then, or None: incomplete for good."""

    async def after(self, since: int) -> bool:
        """True when the log holds every retained event after `since` now."""
        if since in self._until:
            until = self._until[since]
            if until is None:
                return False
            if as_utc(self.event_log.clock()) < until:
                return True
        # A fresh single flight: a read that began before this call is not shared.
        return await self._shared.run(since, lambda: self._read(since))

    async def _read(self, since: int) -> bool:
        began = as_utc(self.event_log.clock())
        async with self.sessionmaker() as session:
            complete, oldest = await self.event_log.completeness_after(session, since)
        self.reads += 1
        if len(self._until) >= MAX_KEPT:
            self._until.clear()
        if not complete:
            self._until[since] = None
        else:
            start = began if oldest is None else min(oldest, began)
            self._until[since] = start - MARGIN + self.event_log.retention
        return complete
