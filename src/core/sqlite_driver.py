"""aiosqlite with fewer trips to its thread: what `sqlite+aiosqlite` engines connect with.

aiosqlite runs every call on a thread of its own; each call is a hand-off there and back
(about 25 µs of CPU). Through SQLAlchemy a statement made four of them (create the cursor,
execute, fetch the rows, close the cursor), and every rollback one more, even when nothing
was open. Here a statement is one call (the rows are fetched and the cursor closed there),
and a rollback outside a transaction, a no-op in `sqlite3`, is not sent at all. Same
connection, same thread, same order of statements: only the hand-offs are fewer.

**Writers take turns in the event loop.** SQLite has one writer at a time. A second writer
used to get `SQLITE_BUSY` and wait in SQLite's busy handler, which sleeps 1, 2, 5, 10, ... up
to 100 ms between tries: under concurrent writes the process sat idle while the lock was long
free. Here a connection about to open a write transaction first takes the database's
`asyncio.Lock` (one per database file and event loop) and gives it back at commit, rollback
or close, so the next writer starts the moment the last one ends. Waiting is bounded like the
busy handler (`WRITE_WAIT_SECONDS`, then "database is locked"); other processes, and other
event loops of this one, still meet SQLite's own locking.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import weakref
from collections.abc import Iterable, Sequence
from functools import partial
from threading import Thread
from typing import Any

import aiosqlite

_Result = tuple[Any, int, int | None, list[Any]]

WRITE_WAIT_SECONDS = 5.0
"""How long a writer waits for its turn, as `PRAGMA busy_timeout=5000` (src/core/db.py)."""

_OPENS_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
"""Statements before which `sqlite3` opens a transaction (and SQLite takes its write lock)."""

_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def write_turn(location: str, loop: asyncio.AbstractEventLoop) -> asyncio.Lock | None:
    """The lock writers to `location` take turns with in `loop` (None: in memory)."""
    if location in ("", ":memory:") or location.startswith("file:"):
        return None
    return _turns.setdefault(loop, {}).setdefault(location, asyncio.Lock())


def take_turn_if_free(turn: asyncio.Lock) -> bool:
    """Take `turn` now, without a loop pass, when it is free and nobody waits for it (a free
    `asyncio.Lock`'s `acquire` returns without suspending); False, leaving it, otherwise."""
    if turn.locked() or turn._waiters:
        return False
    acquiring = turn.acquire()
    try:
        acquiring.send(None)
    except StopIteration:
        return True
    acquiring.close()  # it suspended after all: give the wait up
    return False


def _run(db: sqlite3.Connection, sql: str, parameters: Any, *, many: bool = False) -> _Result:
    """On aiosqlite's thread: one statement, start to finish."""
    cursor = db.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneCallCursor:
    """The part of `aiosqlite.Cursor` SQLAlchemy uses; each execute is one call.

    The rows come back with the statement and are handed out from memory.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> OneCallCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _call(self, sql: str, parameters: Any, *, many: bool) -> OneCallCursor:
        connection = self._connection
        if _OPENS_WRITE.match(sql) and not connection.in_transaction:
            await connection.take_write_turn()
        call = partial(_run, connection._conn, sql, parameters, many=many)
        result: _Result = await connection._execute(call)  # type: ignore[no-untyped-call]
        self.description, self.rowcount, self.lastrowid, self._rows = result
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> OneCallCursor:
        return await self._call(sql, [] if parameters is None else parameters, many=False)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> OneCallCursor:
        return await self._call(sql, parameters, many=True)

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> Sequence[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


class Connection(aiosqlite.Connection):
    """`aiosqlite.Connection` whose cursors are `OneCallCursor`s, and whose writers take turns."""

    location = ""
    _turn: asyncio.Lock | None = None
    """The database's write lock while this connection holds it."""
    _turn_of: tuple[asyncio.AbstractEventLoop, asyncio.Lock | None] | None = None
    """The event loop this connection last took a turn in, and that loop's lock (looked up
    once, not in a weak dictionary at every write transaction)."""

    def cursor(self) -> OneCallCursor:  # type: ignore[override]
        return OneCallCursor(self)

    async def take_write_turn(self) -> None:
        if self._turn is not None:
            return
        loop = asyncio.get_running_loop()
        known = self._turn_of
        if known is None or known[0] is not loop:
            known = self._turn_of = (loop, write_turn(self.location, loop))
        turn = known[1]
        if turn is None:
            return
        if not turn.locked() and not turn._waiters:  # free: taken at once, with no task
            await turn.acquire()  # (`wait_for` wraps the acquire in one) and no timer
            self._turn = turn
            return
        try:
            await asyncio.wait_for(turn.acquire(), WRITE_WAIT_SECONDS)
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        self._turn = turn

    def _end_write_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.release()

    async def commit(self) -> None:
        try:
            await super().commit()
        finally:
            if not self.in_transaction:
                self._end_write_turn()

    async def rollback(self) -> None:
        try:
            if self.in_transaction:  # otherwise sqlite3's rollback does nothing
                await super().rollback()
        finally:
            self._end_write_turn()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._end_write_turn()


def connect(database: str | bytes, *, iter_chunk_size: int = 64, **kwargs: Any) -> Connection:
    """`aiosqlite.connect`, returning a `Connection` of this module."""
    location = database.decode() if isinstance(database, bytes) else str(database)
    connection = Connection(partial(sqlite3.connect, location, **kwargs), iter_chunk_size)
    connection.location = location
    # As SQLAlchemy does for aiosqlite's own: a daemon thread (before aiosqlite 0.22 the
    # connection was the thread itself).
    thread = connection if isinstance(connection, Thread) else connection._thread
    thread.daemon = True
    return connection
