"""aiosqlite with fewer trips to its thread: what `sqlite+aiosqlite` engines connect with.

aiosqlite runs every call on a thread of its own; each call is a hand-off there and back
(about 25 µs of CPU). Through SQLAlchemy a statement made four of them (create the cursor,
execute, fetch the rows, close the cursor), and every rollback one more, even when nothing
was open. Here a statement is one call (the rows are fetched and the cursor closed there),
and a rollback outside a transaction, a no-op in `sqlite3`, is not sent at all. Same
connection, same thread, same order of statements: only the hand-offs are fewer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from functools import partial
from threading import Thread
from typing import Any

import aiosqlite

_Result = tuple[Any, int, int | None, list[Any]]


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
    """`aiosqlite.Connection` whose cursors are `OneCallCursor`s."""

    def cursor(self) -> OneCallCursor:  # type: ignore[override]
        return OneCallCursor(self)

    async def rollback(self) -> None:
        if self.in_transaction:  # otherwise sqlite3's rollback does nothing
            await super().rollback()


def connect(database: str | bytes, *, iter_chunk_size: int = 64, **kwargs: Any) -> Connection:
    """`aiosqlite.connect`, returning a `Connection` of this module."""
    location = database.decode() if isinstance(database, bytes) else str(database)
    connection = Connection(partial(sqlite3.connect, location, **kwargs), iter_chunk_size)
    # As SQLAlchemy does for aiosqlite's own: a daemon thread (before aiosqlite 0.22 the
    # connection was the thread itself).
    thread = connection if isinstance(connection, Thread) else connection._thread
    thread.daemon = True
    return connection
