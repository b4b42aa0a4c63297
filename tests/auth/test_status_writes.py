"""`StatusWrites`: the statuses of users coming back at once are written in one transaction,
each as the user's connection count says, and their events are handed to the relay exactly
as a read of the log returns them (so the relay sends them without reading them back)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from src.app.services import AppServices
from src.auth.models import User
from src.auth.status_writes import StatusWrites
from src.events.log import LoggedEvent, log_position
from src.events.socket_service import SocketService


class Counted:
    """The app's socket service with its relay signals recorded instead of raised."""

    def __init__(
        self, services: AppServices, counts: dict[int, int], *, grouped: bool = True
    ) -> None:
        self.services = services
        self.counts = counts
        self.handed: list[LoggedEvent] = []
        self.wakes = 0
        own = services.socket_service
        service = SocketService(
            own.sockets,
            sessionmaker=own.sessionmaker,
            event_log=own.event_log,
            wake_relay=self._wake,
            hand_off=self.handed.append,
        )
        # The app's choice: one group-commit trip on a SQLite file, a session on PostgreSQL.
        service.grouped = own.grouped if grouped else None
        self.writes = StatusWrites(service, services.emitter, self._connections)

    def _wake(self) -> None:
        self.wakes += 1

    async def _connections(self, user_id: int) -> int:
        return self.counts.get(user_id, 0)

    async def statuses(self, user_ids: list[int]) -> dict[int, str]:
        async with self.services.sessionmaker() as session:
            rows = await session.execute(select(User.id, User.status).where(User.id.in_(user_ids)))
            return {int(row[0]): str(row[1]) for row in rows}

    async def stored_after(self, after: int) -> list[LoggedEvent]:
        async with self.services.sessionmaker() as session:
            return await self.services.event_log.read_all(session, after=after, limit=1000)


async def test_users_coming_back_together_are_written_in_one_commit_and_handed_over(
    services: AppServices, make_user
) -> None:
    async with asyncio.timeout(30):
        users = [(await make_user()).id for _ in range(12)]
        counted = Counted(services, dict.fromkeys(users, 1))
        async with services.sessionmaker() as session:
            start = await log_position(session)
        missing = max(users) + 1000  # deleted meanwhile: nothing to write, the others go on
        await asyncio.gather(*(counted.writes.sync(user_id) for user_id in [*users, missing]))
        assert counted.writes.commits == 1
        assert await counted.statuses(users) == dict.fromkeys(users, "online")
        stored = await counted.stored_after(start)
        assert [event.data["user_id"] for event in stored] == sorted(users)
        assert counted.handed == stored  # as a read returns them, in id order
        assert counted.wakes == 0  # handed over: no relay read needed


async def test_each_status_follows_the_count_read_in_the_write(
    services: AppServices, make_user
) -> None:
    """Offline when no socket is open, online when one is, unchanged (no event) when it
    already agrees; a status the user chose stays while they are connected."""
    async with asyncio.timeout(30):
        gone, staying, away = [(await make_user()).id for _ in range(3)]
        counted = Counted(services, {gone: 1, staying: 1, away: 1})
        await asyncio.gather(*(counted.writes.sync(u) for u in (gone, staying, away)))
        async with services.sessionmaker() as session:
            user = await session.get(User, away)
            assert user is not None
            user.status = "away"
            await session.commit()
            start = await log_position(session)
        counted.handed.clear()
        counted.counts[gone] = 0
        await asyncio.gather(*(counted.writes.sync(u) for u in (gone, staying, away)))
        statuses = await counted.statuses([gone, staying, away])
        assert statuses == {gone: "offline", staying: "online", away: "away"}
        stored = await counted.stored_after(start)
        assert [(e.data["user_id"], e.data["status"]) for e in stored] == [(gone, "offline")]
        assert counted.handed == stored
