"""`GroupCommit` on a real SQLite file: concurrent writes share one transaction, each in its
own savepoint, so one that fails loses only itself."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from src.core.sqlite_group import GroupCommit


class Refused(Exception):
    """What the failing write raises after writing its row."""


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = tmp_path / "group.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)")
    return str(path)


def rows(location: str) -> list[tuple[int, str]]:
    with sqlite3.connect(location) as db:
        return db.execute("SELECT id, name FROM items ORDER BY id").fetchall()


def insert(name: str, *, fail: bool = False):  # type: ignore[no-untyped-def]
    def work(db: sqlite3.Connection) -> int:
        row_id = db.execute("INSERT INTO items (name) VALUES (?) RETURNING id", (name,))
        new_id = int(row_id.fetchall()[0][0])
        if fail:
            raise Refused(name)
        return new_id

    return work


async def test_concurrent_writes_commit_together_in_call_order(database: str) -> None:
    group = GroupCommit(database)
    try:
        ids = await asyncio.gather(*(group.run(insert(f"w{i}")) for i in range(10)))
    finally:
        await group.close()
    # The first went to the thread at once; the nine that came meanwhile share the next group.
    assert group.commits == 2
    assert rows(database) == [(row_id, f"w{i}") for i, row_id in enumerate(ids)]
    assert ids == sorted(ids)


async def test_a_failing_write_loses_only_itself(database: str) -> None:
    group = GroupCommit(database)
    works = [insert("a"), insert("b", fail=True), insert("c")]
    try:
        outcomes = await asyncio.gather(*(group.run(w) for w in works), return_exceptions=True)
    finally:
        await group.close()
    assert group.commits == 2  # "a" alone (the committer was idle), then "b" and "c" together
    assert isinstance(outcomes[1], Refused)
    assert [name for _, name in rows(database)] == ["a", "c"]
    assert [row_id for row_id, _ in rows(database)] == [outcomes[0], outcomes[2]]


async def test_writes_arriving_during_a_commit_form_the_next_group(database: str) -> None:
    group = GroupCommit(database)
    try:
        first = asyncio.ensure_future(group.run(insert("first")))
        await asyncio.sleep(0)  # the first group has started: it holds only "first"
        later = await asyncio.gather(*(group.run(insert(f"later{i}")) for i in range(5)))
        await first
    finally:
        await group.close()
    assert group.commits == 2
    assert len(rows(database)) == 1 + len(later)


async def test_an_answered_write_is_visible_to_another_connection(database: str) -> None:
    group = GroupCommit(database)
    try:
        row_id = await group.run(insert("durable"))
        assert rows(database) == [(row_id, "durable")]  # committed before the call returned
    finally:
        await group.close()


async def test_a_write_alone_in_its_group_opens_no_savepoint_and_fails_alone(
    database: str,
) -> None:
    """A group of one is its own transaction: no SAVEPOINT, RELEASE (two statements fewer),
    and a write that fails after its row keeps nothing, as inside a savepoint."""
    group = GroupCommit(database)
    sent: list[str] = []
    try:
        first = await group.run(insert("first"))
        assert group.db is not None
        group.db.set_trace_callback(sent.append)
        with pytest.raises(Refused):
            await group.run(insert("refused", fail=True))
        second = await group.run(insert("second"))
    finally:
        await group.close()
    assert not [statement for statement in sent if "SAVEPOINT" in statement.upper()]
    assert [s for s in sent if not s.startswith("INSERT")] == [
        "BEGIN IMMEDIATE",
        "ROLLBACK",
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    assert rows(database) == [(first, "first"), (second, "second")]


async def test_a_write_finding_the_committer_idle_reaches_the_thread_in_its_own_pass(
    database: str,
) -> None:
    """No committer task to start first: on a busy loop each pass is a slice of other work,
    so the write is on the thread before the loop runs anything else."""
    group = GroupCommit(database)
    started = threading.Event()

    def work(db: sqlite3.Connection) -> int:
        started.set()
        return insert("eager")(db)  # type: ignore[no-any-return]

    try:
        await group.run(insert("opens the connection"))
        writing = asyncio.ensure_future(group.run(work))
        await asyncio.sleep(0)  # one pass: the write's own
        assert started.wait(5)  # blocking: the loop runs no further pass meanwhile
        await writing
    finally:
        await group.close()
    assert [name for _, name in rows(database)] == ["opens the connection", "eager"]
