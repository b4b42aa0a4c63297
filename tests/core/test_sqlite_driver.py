"""`src/core/sqlite_driver.py`: the aiosqlite connection SQLite engines use (one trip to its
thread per statement) behaves as aiosqlite's own through SQLAlchemy, and writers take turns."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from src.core import sqlite_driver
from src.core.db import create_engine
from tests.support import wait_until


async def test_sqlite_engines_connect_through_the_driver_and_it_behaves(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, sqlite_driver.Connection)

        async with engine.begin() as connection:
            await connection.execute(
                text("CREATE TABLE item (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)")
            )
            inserted = await connection.execute(
                text("INSERT INTO item (name) VALUES (:name)"), {"name": "first"}
            )
            assert inserted.lastrowid == 1
            many = await connection.execute(
                text("INSERT INTO item (name) VALUES (:name)"),
                [{"name": f"n{i}"} for i in range(250)],
            )
            assert many.rowcount == 250

        async with engine.begin() as connection:  # rolled back: nothing of it stays
            await connection.execute(text("DELETE FROM item"))
            await connection.rollback()

        async with engine.connect() as connection:
            result = await connection.stream(text("SELECT id, name FROM item ORDER BY id"))
            pages = [list(page) async for page in result.partitions(100)]
            assert [len(page) for page in pages] == [100, 100, 51]
            assert pages[0][0] == (1, "first") and pages[-1][-1] == (251, "n249")
            assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar() == 251
            empty = await connection.execute(text("SELECT name FROM item WHERE id < 0"))
            assert empty.first() is None
    finally:
        await engine.dispose()


async def _engine_with_table(path: Path) -> AsyncEngine:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)"))
    return engine


async def test_a_second_writer_waits_its_turn_and_then_writes(tmp_path: Path) -> None:
    engine = await _engine_with_table(tmp_path / "turns.db")
    try:
        first = await engine.connect()
        await first.execute(text("INSERT INTO item (name) VALUES ('first')"))  # holds the turn
        asked = False

        def ask(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            nonlocal asked  # the second INSERT is issued: it waits for the turn the first holds
            asked = asked or "'second'" in statement

        event.listen(engine.sync_engine, "before_cursor_execute", ask)

        async def second_writer() -> list[str]:
            async with engine.begin() as second:
                await second.execute(text("INSERT INTO item (name) VALUES ('second')"))
                rows = await second.execute(text("SELECT name FROM item ORDER BY id"))
                return [row.name for row in rows]

        waiting = asyncio.ensure_future(second_writer())
        await wait_until("the second writer to ask for its turn", lambda: asked)
        assert not waiting.done()  # its turn comes when the first commits
        await first.commit()
        assert await asyncio.wait_for(waiting, 5) == ["first", "second"]
        await first.close()
    finally:
        await engine.dispose()


async def test_a_writer_that_waits_too_long_gets_database_is_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver, "WRITE_WAIT_SECONDS", 0.2)
    engine = await _engine_with_table(tmp_path / "locked.db")
    try:
        first = await engine.connect()
        await first.execute(text("INSERT INTO item (name) VALUES ('first')"))
        with pytest.raises(OperationalError, match="database is locked"):
            async with engine.begin() as second:
                await second.execute(text("INSERT INTO item (name) VALUES ('second')"))
        await first.rollback()  # the turn passes on at rollback too
        async with engine.begin() as third:
            await third.execute(text("INSERT INTO item (name) VALUES ('third')"))
        await first.close()
    finally:
        await engine.dispose()


async def test_a_free_write_turn_is_taken_without_yielding(tmp_path: Path) -> None:
    """A turn nobody holds is taken in the same step (no `wait_for` task, no timer, no trip
    through the event loop); a held one is still waited for, and passes on at release."""
    connection = sqlite_driver.connect(str(tmp_path / "turn.db"))
    await connection
    other = sqlite_driver.connect(str(tmp_path / "turn.db"))
    await other
    try:
        taking = connection.take_write_turn()
        with pytest.raises(StopIteration):  # finished at its first step: it never suspended
            taking.send(None)
        assert connection._turn is not None
        waiting = asyncio.ensure_future(other.take_write_turn())  # held: waits (bounded)
        connection._end_write_turn()
        await asyncio.wait_for(waiting, 5)
        assert other._turn is not None
    finally:
        other._end_write_turn()
        await connection.close()
        await other.close()
