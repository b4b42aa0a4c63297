"""What a resuming CONNECT waits for (`Recovery.read_ahead`, `SessionStore.take_over`).

The claimed session is read while the token is checked, and the session is marked seen in
the next group commit without the CONNECT waiting for that durable write; a refused token
gets nothing from the session read ahead.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import socketio
from sqlalchemy import select, update

from src.events.models import SocketSession
from src.transport.recovery import Recovery, Resumption
from tests.transport.test_recovery import dropped_after, open_socket, resumes_with


async def test_a_take_over_marks_the_session_seen_in_the_next_group_commit(
    services, alice, db_session
):
    """`take_over` answers before its `seen` write is stored; a write asked for after it is
    committed in the same group or a later one, so once that one returns the session is seen."""
    store = services.gateway.recovery.store
    pid, other = await store.open(alice.id), await store.open(alice.id)
    long_ago = store.event_log.clock() - timedelta(seconds=5)
    await db_session.execute(
        update(SocketSession).where(SocketSession.pid == pid).values(seen_at=long_ago)
    )
    await db_session.commit()

    assert await store.take_over(await store.record(pid), alice.id, 0) == []
    await store.save_rooms(other, ["notifications"])  # the barrier: queued after `seen`
    await db_session.rollback()  # a fresh snapshot
    seen_at = await db_session.scalar(select(SocketSession.seen_at).where(SocketSession.pid == pid))
    assert seen_at is not None and seen_at.replace(tzinfo=None) > long_ago.replace(tzinfo=None)


async def test_a_refused_token_claiming_a_session_takes_nothing_from_it(live_url, api, alice):
    """The session read ahead of the token check is dropped when the token is refused: the
    session is still its owner's to resume, with every event it missed."""
    pid, offset, missed = await dropped_after(live_url, api, alice, missed=2)

    claim = {"recover": True, "pid": pid, "offset": offset}
    with pytest.raises(socketio.exceptions.ConnectionError):  # "unauthorized"
        await open_socket(live_url, {"token": "not-a-token", **claim})

    await resumes_with(live_url, {"token": alice.token, **claim}, missed)


async def test_a_restored_socket_writes_its_rooms_only_when_they_differ_from_the_stored(
    services, alice, db_session
):
    """Restoring a session's rooms as stored writes nothing (the CONNECT marked it seen); a
    room re-authorisation took away is written, as any later change."""
    recovery: Recovery = services.gateway.recovery
    pid = await recovery.store.open(alice.id)
    stored = ["memory_logs", "notifications"]
    await recovery.store.save_rooms(pid, stored)
    restored = Resumption(pid, True, 0, ("notifications", "memory_logs"), stored=tuple(stored))
    recovery.track("sid-r", restored, restored=True)

    commits = recovery.store.commits
    await recovery.rooms_changed("sid-r", ["notifications", "memory_logs"])
    assert recovery.store.commits == commits

    await recovery.rooms_changed("sid-r", ["notifications"])
    await db_session.rollback()  # a fresh snapshot
    rooms = await db_session.scalar(select(SocketSession.rooms).where(SocketSession.pid == pid))
    assert list(rooms) == ["notifications"]
    await recovery.closed("sid-r", voluntary=True)
