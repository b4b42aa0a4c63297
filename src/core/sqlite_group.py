"""Group commit for SQLite: concurrent writes share one transaction and one fsync.

Each hot write (a row and its event) is a function of a `sqlite3.Connection`, run on one
dedicated connection's thread. Writes that arrive while a group is being committed wait
and form the next group: `BEGIN IMMEDIATE`, then each write inside a `SAVEPOINT` of its own,
then one `COMMIT`. A write that raises is rolled back to its savepoint and its caller gets
the exception; the others still commit. Every caller returns only once its group's COMMIT
has returned, so an answered write is durable, and a write and its event commit together or
neither does (the outbox rule). The whole group is one trip to the connection's thread.

The group takes the database's write turn (`sqlite_driver`) like every other writer of this
event loop, so event ids still commit in id order for the relay.

**No loop pass is spent that a write does not need.** A hot write's answer waits for its
commit, and on a busy loop (a fan-out to thousands of sockets) every pass is a slice of that
fan-out, about a millisecond each. So a write that finds no group in flight and the write
turn free is sent to the thread in its own pass (no committer task to start first), and the
thread's end is one callback that hands each caller its outcome and sends the next group
(no task to wake in between): the caller resumes in the pass after the commit returned.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from src.core import sqlite_driver

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]
_Outcome = tuple[bool, Any]
_Waiting = list[tuple[Work, "asyncio.Future[Any]"]]

logger = logging.getLogger("mindwire.db")


def _commit_group(db: sqlite3.Connection, works: list[Work]) -> list[_Outcome]:
    """On the connection's thread: every write in its savepoint, then one COMMIT. A write
    alone in its group needs no savepoint: if it raises, the whole transaction is its own."""
    if len(works) == 1:
        return [_commit_alone(db, works[0])]
    outcomes: list[_Outcome] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        for work in works:
            db.execute("SAVEPOINT hot_write")
            try:
                outcomes.append((True, work(db)))
            except Exception as exc:  # this write only: undo it, keep the others
                db.execute("ROLLBACK TO hot_write")
                outcomes.append((False, exc))
            db.execute("RELEASE hot_write")
        db.execute("COMMIT")
    except BaseException:
        _roll_back(db)
        raise
    return outcomes


def _commit_alone(db: sqlite3.Connection, work: Work) -> _Outcome:
    """One write in its own transaction: committed, or rolled back with what it raised."""
    db.execute("BEGIN IMMEDIATE")
    try:
        value = work(db)
    except Exception as exc:  # this write only: nothing of it is kept
        _roll_back(db)
        return False, exc
    except BaseException:
        _roll_back(db)
        raise
    try:
        db.execute("COMMIT")
    except BaseException:
        _roll_back(db)
        raise
    return True, value


def _roll_back(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")


def _open(location: str) -> sqlite3.Connection:
    db = sqlite3.connect(location, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA journal_mode=WAL")
    return db


class GroupCommit:
    """The group committer of one SQLite file (one per app; its connection opened on first use,
    on the one thread that ever uses it)."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.commits = 0
        """Groups committed (a test and the bench look at it)."""
        self.db: sqlite3.Connection | None = None
        """The committer's connection (only ever used on its thread)."""
        self._thread: ThreadPoolExecutor | None = None
        self._waiting: _Waiting = []
        self._in_flight: asyncio.Future[None] | None = None
        """Set while a group waits for the write turn or is on the thread; done after."""
        self._turn: tuple[asyncio.AbstractEventLoop, asyncio.Lock | None] | None = None
        self._turn_wait: asyncio.Task[None] | None = None
        """The task waiting for the write turn for a group, if one must (kept referenced)."""

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in the next group; its result once the group is committed. An exception
        it raises comes back here, with nothing it wrote kept."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.append((work, future))
        if self._in_flight is None:
            self._in_flight = loop.create_future()
            self._send_waiting(loop)
        return await future

    def _send_waiting(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send the waiting writes as one group: now if the write turn is free, else once a
        task has waited for it (bounded as every writer's wait is)."""
        group = [(work, future) for work, future in self._waiting if not future.cancelled()]
        self._waiting = []
        if not group:
            self._idle()
            return
        turn = self._write_turn(loop)
        if turn is None or sqlite_driver.take_turn_if_free(turn):
            self._send(loop, group, turn)
        else:
            self._turn_wait = loop.create_task(self._send_after_turn(loop, group, turn))

    def _write_turn(self, loop: asyncio.AbstractEventLoop) -> asyncio.Lock | None:
        known = self._turn
        if known is None or known[0] is not loop:
            known = self._turn = (loop, sqlite_driver.write_turn(self.location, loop))
        return known[1]

    async def _send_after_turn(
        self, loop: asyncio.AbstractEventLoop, group: _Waiting, turn: asyncio.Lock
    ) -> None:
        try:
            await asyncio.wait_for(turn.acquire(), sqlite_driver.WRITE_WAIT_SECONDS)
        except BaseException as exc:  # timed out, or cancelled (shutdown): the group hears
            failure: BaseException = exc
            if isinstance(exc, TimeoutError):
                failure = sqlite3.OperationalError("database is locked")
            elif not isinstance(exc, Exception):
                failure = sqlite3.OperationalError("group commit stopped")
            self._done(loop, group, None, failure)
            if not isinstance(exc, Exception):
                raise
            return
        self._send(loop, group, turn)

    def _send(
        self, loop: asyncio.AbstractEventLoop, group: _Waiting, turn: asyncio.Lock | None
    ) -> None:
        """On the thread: the group's transaction; back on the loop: `_done`, in one callback."""
        works = [work for work, _ in group]
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-group")
        sent = self._thread.submit(self._commit_on_thread, works)

        def back(result: Future[list[_Outcome]]) -> None:  # on the thread
            failure = result.exception()
            outcomes = None if failure is not None else result.result()
            try:
                loop.call_soon_threadsafe(self._done, loop, group, turn, failure, outcomes)
            except RuntimeError:  # the loop is closed: nobody waits any more
                logger.warning("group commit ended after its event loop closed")

        sent.add_done_callback(back)

    def _commit_on_thread(self, works: list[Work]) -> list[_Outcome]:
        if self.db is None:
            self.db = _open(self.location)
        return _commit_group(self.db, works)

    def _done(
        self,
        loop: asyncio.AbstractEventLoop,
        group: _Waiting,
        turn: asyncio.Lock | None,
        failure: BaseException | None,
        outcomes: list[_Outcome] | None = None,
    ) -> None:
        """Give the turn back, hand each caller its outcome, send whoever came meanwhile."""
        if turn is not None:
            turn.release()
        if failure is None and outcomes is not None:
            self.commits += 1
            for (_, future), (ok, value) in zip(group, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        else:  # the group's transaction failed: nobody's write is kept
            for _, future in group:
                if not future.done():
                    future.set_exception(failure or sqlite3.OperationalError("group commit failed"))
        if self._waiting:
            self._send_waiting(loop)
        else:
            self._idle()

    def _idle(self) -> None:
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None and not in_flight.done():
            in_flight.set_result(None)

    async def close(self) -> None:
        """Once the group in flight (if any) is done: close the connection, end the thread."""
        if self._in_flight is not None:
            await asyncio.shield(self._in_flight)
        db, self.db = self.db, None
        thread, self._thread = self._thread, None
        if thread is not None:
            if db is not None:
                await asyncio.wrap_future(thread.submit(db.close))
            thread.shutdown(wait=False)
