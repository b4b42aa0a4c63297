"""`SessionStore`: the `socket_sessions` rows of Connection State Recovery (`recovery.py`).

A row per socket that gets offsets: its `pid`, its user and its rooms. It lives in the
database so that any worker, and a restarted one, can resume it; it goes on a voluntary
disconnect or `EVENT_RETENTION_SECONDS` after the socket was last seen.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src.events.log import EventLog
from src.events.models import SocketSession


def new_pid() -> str:
    """A private session id: 128 random bits, URL-safe (a client only echoes it back)."""
    return secrets.token_urlsafe(16)


class SessionStore:
    """The `socket_sessions` rows; a session per call, none held."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], event_log: EventLog):
        self.sessionmaker = sessionmaker
        self.event_log = event_log

    async def open(self, user_id: int) -> str:
        pid = new_pid()
        async with self.sessionmaker() as session:
            session.add(
                SocketSession(pid=pid, user_id=user_id, rooms=[], seen_at=self.event_log.clock())
            )
            await session.commit()
        return pid

    async def take_over(self, pid: str, user_id: int, offset: int) -> list[str] | None:
        """The rooms of `user_id`'s session `pid`, if it can resume after `offset`: the
        session is within retention and the event log still holds every event after it."""
        async with self.sessionmaker() as session:
            record = await session.get(SocketSession, pid)
            if record is None or record.user_id != user_id:
                return None
            if record.seen_at < self.event_log.cutoff():
                return None
            if not await self.event_log.is_complete_after(session, offset):
                return None
            record.seen_at = self.event_log.clock()
            rooms = list(record.rooms)
            await session.commit()
        return rooms

    async def save_rooms(self, pid: str, rooms: list[str]) -> None:
        await self._update([pid], rooms=rooms)

    async def seen(self, *pids: str) -> None:
        if pids:
            await self._update(list(pids))

    async def forget(self, pid: str) -> None:
        async with self.sessionmaker() as session:
            await session.execute(delete(SocketSession).where(SocketSession.pid == pid))
            await session.commit()

    async def prune(self) -> int:
        """Delete the sessions last seen before the retention window; returns how many."""
        async with self.sessionmaker() as session:
            result = await session.execute(
                delete(SocketSession).where(SocketSession.seen_at < self.event_log.cutoff())
            )
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    async def _update(self, pids: list[str], **values: Any) -> None:
        async with self.sessionmaker() as session:
            await session.execute(
                update(SocketSession)
                .where(SocketSession.pid.in_(pids))
                .values(seen_at=self.event_log.clock(), **values)
            )
            await session.commit()
