"""`Recovery.rooms_changed` without a lock per socket: room changes asked for at once end with
the latest rooms stored, an unchanged set writes nothing, and a failed write is not taken
for stored (the next change writes the whole set)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from src.events.models import SocketSession
from src.transport.recovery import Recovery, Resumption


async def stored_rooms(db_session, pid: str) -> list[str]:
    await db_session.rollback()  # a fresh snapshot
    rooms = await db_session.scalar(select(SocketSession.rooms).where(SocketSession.pid == pid))
    return list(rooms)


async def test_changes_asked_for_at_once_store_the_latest_rooms(services, alice, db_session):
    recovery: Recovery = services.gateway.recovery
    pid = await recovery.store.open(alice.id)
    recovery.track("sid-1", Resumption(pid, offsets=True))
    before = recovery.store.commits
    await asyncio.gather(
        recovery.rooms_changed("sid-1", ["notifications"]),
        recovery.rooms_changed("sid-1", ["notifications", "memory_logs"]),
        recovery.rooms_changed("sid-1", ["memory_logs"]),
    )
    assert await stored_rooms(db_session, pid) == ["memory_logs"]
    assert recovery.store.commits <= before + 2  # grouped, not one commit each

    commits = recovery.store.commits
    await recovery.rooms_changed("sid-1", ["memory_logs"])  # unchanged: nothing written
    assert recovery.store.commits == commits
    await recovery.closed("sid-1", voluntary=True)
    assert len(recovery) == 0


async def test_a_failed_write_is_written_again_by_the_next_change(
    services, alice, db_session, monkeypatch
):
    recovery: Recovery = services.gateway.recovery
    pid = await recovery.store.open(alice.id)
    recovery.track("sid-2", Resumption(pid, offsets=True))
    save_rooms = recovery.store.save_rooms
    failing = True

    async def flaky(pid: str, rooms: list[str]) -> None:
        if failing:
            raise ConnectionError("database down")
        await save_rooms(pid, rooms)

    monkeypatch.setattr(recovery.store, "save_rooms", flaky)
    await recovery.rooms_changed("sid-2", ["notifications"])  # logged, not raised
    assert await stored_rooms(db_session, pid) == []
    failing = False
    await recovery.rooms_changed("sid-2", ["notifications"])  # the same set: written now
    assert await stored_rooms(db_session, pid) == ["notifications"]
    await recovery.closed("sid-2", voluntary=False)
