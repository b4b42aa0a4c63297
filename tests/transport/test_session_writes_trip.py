"""The recovery sessions' writes on a SQLite file: one group-commit trip per group
(`src/transport/session_sql.py`), rows as the session path stores them."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import text

from src.transport.recovery_store import SessionStore

pytestmark = pytest.mark.parametrize("stack", ["embedded"], ids=["sqlite-file"])


async def test_a_group_of_session_writes_is_one_trip_of_the_group_committer(
    services, alice, db_session
):
    """Sessions opened at once are one commit of the app's group committer (shared with its
    hot and status writes), each caller returning once its row is stored."""
    store: SessionStore = services.gateway.recovery.store
    grouped = services.socket_service.grouped
    assert grouped is not None
    before, store_before = grouped.group.commits, store.commits
    pids = await asyncio.gather(*(store.open(alice.id) for _ in range(20)))
    assert (grouped.group.commits, store.commits) == (before + 1, store_before + 1)

    await asyncio.gather(store.save_rooms(pids[0], ["notifications"]), store.forget(pids[2]))
    assert (grouped.group.commits, store.commits) == (before + 2, store_before + 2)
    rows = await db_session.execute(
        text("SELECT pid, rooms FROM socket_sessions WHERE user_id = :u"), {"u": alice.id}
    )
    stored = dict(rows.all())
    assert set(stored) == set(pids) - {pids[2]}
    assert stored[pids[0]] == '["notifications"]' and stored[pids[1]] == "[]"


async def test_the_trip_stores_the_rows_the_session_path_stores(services, alice, db_session):
    """The same rooms JSON and the same time text as a session through SQLAlchemy, so either
    path's rows read back alike (a resume after a restart reads them through the ORM)."""
    grouped_store: SessionStore = services.gateway.recovery.store
    socket_service = services.socket_service
    session_store = SessionStore(socket_service.sessionmaker, socket_service.event_log)
    pids = {}
    for name, store in (("trip", grouped_store), ("session", session_store)):
        pids[name] = await store.open(alice.id)
        await store.save_rooms(pids[name], ["memory_logs", "notifications", "é\u2028"])
    rows = await db_session.execute(
        text("SELECT pid, rooms, seen_at FROM socket_sessions WHERE pid IN (:a, :b)"),
        {"a": pids["trip"], "b": pids["session"]},
    )
    stored = {pid: (rooms, seen_at) for pid, rooms, seen_at in rows}
    trip, session = stored[pids["trip"]], stored[pids["session"]]
    assert trip[0] == session[0]
    shape = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
    assert shape.fullmatch(trip[1]) and shape.fullmatch(session[1])

    found = await grouped_store.record(pids["trip"])
    assert found is not None and list(found.rooms) == ["memory_logs", "notifications", "é\u2028"]
    assert await grouped_store.take_over(found, alice.id, 0) == list(found.rooms)


async def test_a_caller_that_gives_up_leaves_its_write_to_the_group(services, alice, db_session):
    """A connect that is cancelled while its session write waits (its client left) cancels
    only its own wait: the write is still committed with its group, the others' callers told."""
    store: SessionStore = services.gateway.recovery.store
    pid = await store.open(alice.id)
    given_up = asyncio.ensure_future(store.save_rooms(pid, ["notifications"]))
    await asyncio.sleep(0)  # queued
    given_up.cancel()
    other = await store.open(alice.id)  # the barrier: queued after the given-up write
    assert given_up.cancelled()
    rows = await db_session.execute(
        text("SELECT pid, rooms FROM socket_sessions WHERE pid IN (:a, :b)"), {"a": pid, "b": other}
    )
    assert dict(rows.all()) == {pid: '["notifications"]', other: "[]"}
