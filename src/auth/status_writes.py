"""`StatusWrites`: users' statuses brought in line with their connections, many in one commit.

A user's status follows their open connections (docs/contract.md section 7): after a user's
first connection and last disconnection, `sync` stores what the count read now says (not
the transition that asked, so the last sync of a user leaves them offline exactly when no
socket is open, however their tabs' connects and disconnects interleave) and stores a
`user_status_changed` event with it. A status the user chose (`away`, `busy`) stays while
they are connected. In a reconnect storm hundreds of users come back at once: one
commit each, one relay read of the log each (the relay is only woken), and on SQLite each
commit a `synchronous=FULL` write that the other writers wait behind.

Here the syncs asked for while a group is being written form the next group, one
transaction, its events handed to the relay afterwards (`Signals.hand_off`, as a read of the
log returns them, in id order), which sends them without reading them back. Each caller
returns once its user's change is committed; when a group fails, each of its users is
written alone, so each caller gets its own outcome.

On PostgreSQL (and an in-memory SQLite database) the group goes through a session: the
users' rows are locked together (in id order, FOR NO KEY UPDATE, so two processes cannot
deadlock on them), each count is read after the lock, the changed rows are updated and
their events appended, all committed at once.

On a SQLite file (`SocketService.grouped`) the group is one trip through the group committer
(`src/auth/status_sql.py`): read, decide, update and append on the committer's thread in one
`BEGIN IMMEDIATE ... COMMIT`, holding SQLite's write turn for that trip only. The counts, which
may be Redis round trips, cannot be read in there, so they are read just before the trip,
after the previous group finished. That keeps the promise: a first connect or last
disconnect after the read queues its own sync, which lands in a later group (this group's
users left the queue before the read) and so writes after this one, with a count read after
the change. Another process (Redis counts, one SQLite file) can still write a stale
read after a newer one: so after the commit the counts are read again, and a user whose
stored status no longer agrees is queued once more. The last trip for a user is then followed
by a read that agrees with what it stored, and no change came after that read (it would have
queued a later trip): the user is offline exactly when no socket is open.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from src.auth.models import User
from src.auth.schemas import StatusPublic
from src.auth.status_sql import StatusTrip, next_status, write_statuses
from src.core.clock import as_utc, utcnow
from src.core.failures import fail_all
from src.events.emitters import EventEmitter
from src.events.grouped_writes import GroupedWrites
from src.events.log import LoggedEvent
from src.events.schemas import EventMeta, EventType
from src.events.socket_service import SocketService

MAX_GROUP = 200
"""Users written in one transaction at most."""

Connections = Callable[[int], Awaitable[int]]
"""A user's open connections (across workers with Redis)."""


class StatusWrites:
    """Group-committed status syncs of one process (`DatabaseLookups.sync_status`)."""

    def __init__(
        self, socket_service: SocketService, emitter: EventEmitter, connections: Connections
    ) -> None:
        self.socket_service = socket_service
        self.emitter = emitter
        self.connections = connections
        self.commits = 0
        """Transactions the syncs were committed in (for tests)."""
        self._pending: dict[int, list[asyncio.Future[None]]] = {}
        self._writer: asyncio.Task[None] | None = None

    async def sync(self, user_id: int) -> None:
        """Store `user_id`'s status as their connection count says, with its event when it
        changes; returns once that is committed (raises when it could not be)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(user_id, []).append(done)
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write_pending())
        await asyncio.shield(done)  # a caller that gives up leaves its write to the others

    async def _write_pending(self) -> None:
        """Group after group while syncs wait; one writer, so a user's syncs keep order."""
        group: dict[int, list[asyncio.Future[None]]] = {}
        try:
            while self._pending:
                users = list(self._pending)[:MAX_GROUP]
                group = {user_id: self._pending.pop(user_id) for user_id in users}
                if not await self._commit(group, alone=len(group) == 1):
                    for user_id, waiting in group.items():
                        await self._commit({user_id: waiting}, alone=True)
        finally:
            self._writer = None
            stopped = RuntimeError("the status writer stopped")
            for waiting in [*group.values(), *self._pending.values()]:
                for done in waiting:
                    if not done.done():
                        done.set_exception(stopped)

    async def _commit(self, group: dict[int, list[asyncio.Future[None]]], *, alone: bool) -> bool:
        """Write `group` in one transaction, hand its events over and tell its callers;
        False, telling no one, when it failed and is not `alone`."""
        service = self.socket_service
        user_ids = sorted(group)
        try:
            if service.grouped is None:
                logged, left = await self._write_session(user_ids), None
            else:
                trip = await self._write_grouped(service.grouped, user_ids)
                logged, left = trip.logged, trip.left
        except Exception as exc:
            if not alone:
                return False
            fail_all(
                (done for waiting in group.values() for done in waiting), exc, "writing statuses"
            )
            return True
        self.commits += 1
        for event in logged:  # in id order, as committed
            if service.hand_off is None:
                service.wake_relay()
            else:
                service.hand_off(event)
        for waiting in group.values():
            for done in waiting:
                if not done.done():
                    done.set_result(None)
        if left:
            await self._recheck(left)
        return True

    async def _counts(self, user_ids: list[int]) -> list[int]:
        return list(await asyncio.gather(*(self.connections(user_id) for user_id in user_ids)))

    async def _write_grouped(self, grouped: GroupedWrites, user_ids: list[int]) -> StatusTrip:
        """The group in one group-commit trip, with the counts read just before it (see the
        module); raises as SQLAlchemy would for a database error."""
        counts = dict(zip(user_ids, await self._counts(user_ids), strict=True))
        spec_for = partial(self.emitter.event_spec, EventType.USER_STATUS_CHANGED)
        try:
            return await grouped.group.run(
                partial(write_statuses, grouped=grouped, counts=counts, spec_for=spec_for)
            )
        except sqlite3.Error as exc:  # as a session raises it (callers and logs see the same)
            raise DBAPIError.instance("status writes", None, exc, sqlite3.Error) from exc

    async def _recheck(self, left: dict[int, str]) -> None:
        """Queue again each user whose count no longer agrees with the status just stored
        (another process's newer count was written first; see the module)."""
        user_ids = list(left)
        try:
            counts = await self._counts(user_ids)
        except Exception:  # not known now: written again, which reads the counts again
            stale = user_ids
        else:
            pairs = zip(user_ids, counts, strict=True)
            stale = [user_id for user_id, n in pairs if next_status(left[user_id], n) is not None]
        for user_id in stale:
            self._pending.setdefault(user_id, [])

    async def _write_session(self, user_ids: list[int]) -> list[LoggedEvent]:
        """The group through a session (PostgreSQL), committed; returns its events as a read
        of the log returns them (rooms in order, time in UTC)."""
        async with self.socket_service.sessionmaker() as session:
            logged = await self._write(session, user_ids)
            await session.commit()
        return logged

    async def _write(self, session: AsyncSession, user_ids: list[int]) -> list[LoggedEvent]:
        """The changed statuses and their events in `session`; returns the events as a read
        of the log returns them (rooms in order, time in UTC)."""
        # key_share: FOR NO KEY UPDATE, which the foreign keys of item writes do not wait for.
        query = (
            select(User)
            .where(User.id.in_(user_ids))
            .order_by(User.id)
            # Rows another process changed since this session began are read as they are now.
            .execution_options(populate_existing=True)
            .with_for_update(key_share=True)
        )
        users = list((await session.scalars(query)).all())
        counts = await self._counts([user.id for user in users])
        changes: list[StatusPublic] = []
        for user, count in zip(users, counts, strict=True):
            status = next_status(user.status, count)
            if status is None:
                continue
            user.status = status
            user.status_changed_at = utcnow()
            changes.append(
                StatusPublic(user_id=user.id, status=user.status, changed_at=user.status_changed_at)
            )
        logged: list[LoggedEvent] = []
        log = self.socket_service.event_log
        for change in changes:
            event_type, data, rooms = self.emitter.event_spec(EventType.USER_STATUS_CHANGED, change)
            stored = await log.append(session, event_type, data, list(rooms))
            meta = EventMeta(
                event_id=stored.meta.event_id,
                event_type=event_type,
                emitted_at=as_utc(stored.meta.emitted_at),
            )
            logged.append(LoggedEvent(meta=meta, data=data, rooms=tuple(sorted(rooms))))
        return logged
