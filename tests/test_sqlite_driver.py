"""`src/core/sqlite_driver.py`: the aiosqlite connection SQLite engines use (one trip to its
thread per statement) behaves as aiosqlite's own through SQLAlchemy."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from src.core import sqlite_driver
from src.core.db import create_engine


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
