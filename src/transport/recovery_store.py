"""`SessionStore`: the `socket_sessions` rows of Connection State Recovery (`recovery.py`).

A row per socket that gets offsets: its `pid`, its user and its rooms. It lives in the
database so that any worker, and a restarted one, can resume it; it goes on a voluntary
disconnect or `EVENT_RETENTION_SECONDS` after the socket was last seen.

**Group commit.** Each connect, resume, room change and disconnect of such a socket writes
its row, and on SQLite each commit is a `synchronous=FULL` write to disk (~20 ms on the
bench machine) that writers take in turn: a connect storm spent its time waiting for them.
Here the writes that arrive while one commit is under way wait for it and then commit
together, in one transaction of at most four statements (`_apply`); each caller still
returns only once its own write is committed (a `pid` sent to a client is stored, as
before). When a group fails, each of its writes is committed alone, so each caller gets its
own outcome. Likewise the resumes' reads of their rows: those asked for while one read
runs are read together by the next (`record`).

On a SQLite file (`SocketService.grouped`) a group is one trip through the group committer
(`src/core/sqlite_group.py`, `session_sql.py`): plain `sqlite3` statements on its thread in
one `BEGIN IMMEDIATE ... COMMIT`, shared with the hot and status writes of that moment,
instead of a session whose every statement and COMMIT is a trip to aiosqlite's thread and a
wait for the busy event loop while it holds SQLite's write turn. Same rows, same outcomes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src.core.failures import fail_all
from src.events.completeness import Completeness
from src.events.grouped_writes import GroupedWrites
from src.events.log import EventLog
from src.events.models import SocketSession
from src.transport.session_sql import SessionWrites, Write, plan

logger = logging.getLogger("mindwire.events")

READ_BATCH = 500
"""Sessions read per SELECT by a resume storm's grouped reads."""


def new_pid() -> str:
    """A private session id: 128 random bits, URL-safe (a client only echoes it back)."""
    return secrets.token_urlsafe(16)


_Pending = tuple[Write, "asyncio.Future[None]"]


async def _apply(session: AsyncSession, writes: list[Write], now: datetime) -> None:
    """The writes in one transaction through a session (PostgreSQL, an in-memory SQLite),
    as `plan` says: at most one statement per kind, in a session's order."""
    group = plan(writes)
    opened = [{"pid": p, "user_id": u, "rooms": [], "seen_at": now} for p, u in group.opened]
    rooms, seen, forgotten = group.rooms, group.seen, group.forgotten
    # Core, not the ORM: the ORM's bulk INSERT builds its statement row by row (a connect
    # storm's largest share of this), and its UPDATE runs once per parameter set anyway.
    table = cast(Table, SocketSession.__table__)
    if opened:
        connection = await session.connection()
        await connection.execute(insert(table), opened)
    if rooms:
        change = (
            update(table)
            .where(table.c.pid == bindparam("p"))
            .values(rooms=bindparam("r"), seen_at=now)
        )
        connection = await session.connection()
        await connection.execute(change, [{"p": pid, "r": value} for pid, value in rooms.items()])
    if seen:
        await session.execute(
            update(SocketSession).where(SocketSession.pid.in_(seen)).values(seen_at=now)
        )
    if forgotten:
        await session.execute(delete(SocketSession).where(SocketSession.pid.in_(forgotten)))


def _log_failure(done: asyncio.Future[None]) -> None:
    """A write nobody waits for: its failure is logged (the session stays as it was)."""
    if not done.cancelled() and done.exception() is not None:
        logger.warning("recovery: could not mark a session seen: %s", done.exception())


class SessionStore:
    """The `socket_sessions` rows; a session per call (or per group commit), none held."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        event_log: EventLog,
        grouped: GroupedWrites | None = None,
    ):
        self.sessionmaker = sessionmaker
        self.event_log = event_log
        self._grouped = None if grouped is None else SessionWrites(grouped)
        self.commits = 0
        """Transactions the writes were committed in (fewer than the writes under load)."""
        self._pending: list[tuple[Write, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._complete = Completeness(sessionmaker, event_log)
        self._wanted: dict[str, list[asyncio.Future[Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def open(self, user_id: int) -> str:
        pid = new_pid()
        await self._write(Write("open", pid, user_id))
        return pid

    async def take_over(
        self, found: Row[Any] | None, user_id: int, offset: int
    ) -> list[str] | None:
        """The rooms of `user_id`'s session, `found` as read (`record`), if it can resume after
        `offset`: the session is within retention and the event log still holds every event
        after it.

        The session is marked seen in the next group commit, but the CONNECT does not wait
        for it: the row was found within retention, and a write that failed or was lost in a
        crash leaves it as resumable as it was."""
        if found is None or found.user_id != user_id:
            return None
        if found.seen_at < self.event_log.cutoff():
            return None
        rooms = list(found.rooms)
        if not await self._complete.after(offset):
            return None
        self._queue(Write("seen", found.pid)).add_done_callback(_log_failure)
        return rooms

    async def save_rooms(self, pid: str, rooms: list[str]) -> None:
        await self._write(Write("rooms", pid, rooms))

    async def seen(self, *pids: str) -> None:
        await asyncio.gather(*(self._write(Write("seen", pid)) for pid in pids))

    async def forget(self, pid: str) -> None:
        await self._write(Write("forget", pid))

    async def prune(self) -> int:
        """Delete the sessions last seen before the retention window; returns how many."""
        async with self.sessionmaker() as session:
            result = await session.execute(
                delete(SocketSession).where(SocketSession.seen_at < self.event_log.cutoff())
            )
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    async def record(self, pid: str) -> Row[Any] | None:
        """Session `pid`'s row, read with those asked for while the last read ran (one
        SELECT for a storm's resumes, not one each; each read begins after its callers ask)."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._wanted.setdefault(pid, []).append(done)
        if self._reader is None:
            self._reader = asyncio.ensure_future(self._read_wanted())
        return cast("Row[Any] | None", await asyncio.shield(done))

    async def _read_wanted(self) -> None:
        try:
            while self._wanted:
                wanted, self._wanted = self._wanted, {}
                try:
                    found = await self._read_rows(list(wanted))
                except Exception as exc:
                    every = (done for waiting in wanted.values() for done in waiting)
                    fail_all(every, exc, "reading recovery sessions")
                    continue
                for pid, waiting in wanted.items():
                    for done in waiting:
                        if not done.done():
                            done.set_result(found.get(pid))
        finally:
            self._reader = None
            for waiting in self._wanted.values():
                for done in waiting:
                    if not done.done():
                        done.set_exception(RuntimeError("the session reader stopped"))

    async def _read_rows(self, pids: list[str]) -> dict[str, Row[Any]]:
        columns = (SocketSession.pid, SocketSession.user_id, SocketSession.rooms)
        query = select(*columns, SocketSession.seen_at)
        found: dict[str, Any] = {}
        async with self.sessionmaker() as session:
            for start in range(0, len(pids), READ_BATCH):
                chunk = pids[start : start + READ_BATCH]
                rows = await session.execute(query.where(SocketSession.pid.in_(chunk)))
                found.update((row.pid, row) for row in rows)
        return found

    async def _write(self, write: Write) -> None:
        """Add `write` to the next group commit and wait until it is committed. No `shield`
        (an outer future and two callbacks per write): a caller that gives up cancels only its
        own future, which the writer then leaves alone; its write stays in the group."""
        await self._queue(write)

    def _queue(self, write: Write) -> asyncio.Future[None]:
        """Add `write` to the next group commit; the future is set once it is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((write, done))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._commit_pending())
        return done

    async def _commit_pending(self) -> None:
        """Commit group after group while writes wait; one writer, so groups keep order."""
        group: list[_Pending] = []
        try:
            while self._pending:
                group, self._pending = self._pending, []
                if not await self._commit(group, alone=len(group) == 1):
                    for each in group:  # alone, so each caller gets its own outcome
                        await self._commit([each], alone=True)
        finally:
            self._writer = None
            stopped = RuntimeError("the session writer stopped")
            for _write, done in [*group, *self._pending]:
                if not done.done():
                    done.set_exception(stopped)

    async def _commit(self, group: list[_Pending], *, alone: bool) -> bool:
        """Commit `group` in one transaction and tell its callers; False, telling no one,
        when it failed and is not `alone` (its writes are then tried one by one)."""
        writes = [write for write, _done in group]
        try:
            if self._grouped is not None:
                await self._grouped.apply(writes, self.event_log.clock())
            else:
                async with self.sessionmaker() as session:
                    await _apply(session, writes, self.event_log.clock())
                    await session.commit()
        except Exception as exc:
            if not alone:
                return False
            for _write, done in group:
                if not done.done():
                    done.set_exception(exc)
            return True
        self.commits += 1
        for _write, done in group:
            if not done.done():
                done.set_result(None)
        return True
