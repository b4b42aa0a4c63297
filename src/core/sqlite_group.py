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
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from src.core import sqlite_driver

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]
_Outcome = tuple[bool, Any]


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


def _open(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA journal_mode=WAL")


class GroupCommit:
    """The group committer of one SQLite file (one per app; opened on first use)."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.commits = 0
        """Groups committed (a test and the bench look at it)."""
        self._connection: sqlite_driver.Connection | None = None
        self._waiting: list[tuple[Work, asyncio.Future[Any]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in the next group; its result once the group is committed. An exception
        it raises comes back here, with nothing it wrote kept."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.append((work, future))
        if self._committer is None:
            self._committer = loop.create_task(self._commit_waiting())
        return await future

    async def _commit_waiting(self) -> None:
        """Commit groups until nobody waits: those who came during a commit go in the next."""
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                group = [(work, future) for work, future in group if not future.cancelled()]
                if group:
                    await self._commit(group)
        finally:
            self._committer = None
            for _, future in self._waiting:  # only when cancelled itself (shutdown)
                if not future.done():
                    future.set_exception(sqlite3.OperationalError("group commit stopped"))
            self._waiting = []

    async def _commit(self, group: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        try:
            connection = self._connection or await self._open()
            await connection.take_write_turn()
            try:
                call = partial(_commit_group, connection._conn, [work for work, _ in group])
                outcomes: list[_Outcome] = await connection._execute(call)  # type: ignore[no-untyped-call]
            finally:
                connection._end_write_turn()
        except BaseException as exc:  # the group's transaction failed: nobody's write is kept
            stopped = not isinstance(exc, Exception)  # cancelled (shutdown): its callers hear
            failure = sqlite3.OperationalError("group commit stopped") if stopped else exc
            for _, future in group:
                if not future.done():
                    future.set_exception(failure)
            if stopped:
                raise
            return
        self.commits += 1
        for (_, future), (ok, value) in zip(group, outcomes, strict=True):
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    async def _open(self) -> sqlite_driver.Connection:
        if self._connection is None:
            connection = sqlite_driver.connect(
                self.location, isolation_level=None, check_same_thread=False
            )
            await connection
            await connection._execute(partial(_open, connection._conn))  # type: ignore[no-untyped-call]
            self._connection = connection
        return self._connection

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
