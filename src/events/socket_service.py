"""`SocketService`: the only wrapper around `socketio.AsyncServer` that other code calls.

It stores room events in the event log before sending them (with `meta`), sends one-socket
events, moves sockets between rooms and replays the log to a socket that resubscribes.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src.core.metrics import Metrics
from src.events.log import EventLog, LoggedEvent
from src.events.rooms import RoomPolicy
from src.events.schemas import EventMeta, SocketEvent

logger = logging.getLogger("mindwire.events")

REPLAY_BATCH = 500


class SocketService:
    """Sends events through a `socketio.AsyncServer`.

    Example::

        meta = await socket_service.publish(
            EventType.NOTIFICATION, NotificationEvent(...), rooms=["notifications"]
        )
        await socket_service.emit_event(SocketEvent(event_type="pong", data={...}, sid=sid))
    """

    def __init__(
        self,
        sio: socketio.AsyncServer,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        event_log: EventLog,
        rooms: RoomPolicy,
        metrics: Metrics,
    ) -> None:
        self.sio = sio
        self.sessionmaker = sessionmaker
        self.event_log = event_log
        self.rooms = rooms
        self.metrics = metrics

    async def send_to_sid(
        self, sid: str, event_type: str, payload: BaseModel | dict[str, Any]
    ) -> None:
        """Send an event to one socket; not stored in the event log, no `meta`."""
        await self.sio.emit(str(event_type), _json_safe(payload), to=sid)
        self.metrics.events_emitted.labels(str(event_type)).inc()

    async def publish(
        self,
        event_type: str,
        payload: BaseModel | dict[str, Any],
        rooms: list[str],
        *,
        session: AsyncSession | None = None,
    ) -> EventMeta:
        """Store an event for `rooms`, commit, then send it to the rooms with its `meta`.

        With `session`, the event row joins that session's transaction and this call commits
        it: the caller's write and its event become visible together, and the event is sent
        only after the commit (the outbox rule of SPEC §2).
        """
        data = _json_safe(payload)
        if session is None:
            async with self.sessionmaker() as own_session:
                logged = await self.event_log.append(own_session, str(event_type), data, rooms)
                await own_session.commit()
        else:
            logged = await self.event_log.append(session, str(event_type), data, rooms)
            await session.commit()
        await self.deliver(logged)
        return logged.meta

    async def emit_event(
        self, event: SocketEvent, *, session: AsyncSession | None = None
    ) -> EventMeta | None:
        """Send a `SocketEvent`: to its `room` (stored, with meta) or to its `sid` (not stored)."""
        if event.sid is not None:
            await self.send_to_sid(event.sid, event.event_type, event.data)
            return None
        assert event.room is not None  # SocketEvent guarantees exactly one target
        owner = event.data.get("user_id")
        rooms = self.rooms.custom_rooms(event.room, owner if isinstance(owner, int) else None)
        return await self.publish(event.event_type, event.data, rooms, session=session)

    async def deliver(self, logged: LoggedEvent) -> None:
        """Send a stored event live. A socket in several of its rooms receives it once.

        The event is already committed: if sending fails, clients get it on replay.
        """
        meta = logged.meta.model_dump(mode="json")
        try:
            await self.sio.emit(meta["event_type"], (logged.data, meta), to=list(logged.rooms))
        except Exception:
            logger.exception("live delivery of event %s failed", logged.meta.event_id)
            return
        self.metrics.events_emitted.labels(logged.meta.event_type).inc()

    async def enter_room(self, sid: str, room: str) -> None:
        await self.sio.enter_room(sid, room)

    async def leave_room(self, sid: str, room: str) -> None:
        await self.sio.leave_room(sid, room)

    def rooms_of(self, sid: str) -> list[str]:
        """The delivery rooms `sid` is in, without its private sid room."""
        return [room for room in self.sio.rooms(sid) if room != sid]

    async def replay(self, sid: str, room: str, since: int) -> tuple[int, bool]:
        """Send `sid` every retained event of delivery room `room` after `since`, in order.

        Returns how many were sent and whether the log still held everything after `since`.
        """
        replayed = 0
        async with self.sessionmaker() as session:
            complete = await self.event_log.is_complete_after(session, since)
            cursor = since
            while True:
                batch = await self.event_log.read(session, room, after=cursor, limit=REPLAY_BATCH)
                for logged in batch:
                    meta = logged.meta.model_dump(mode="json")
                    await self.sio.emit(meta["event_type"], (logged.data, meta), to=sid)
                replayed += len(batch)
                if len(batch) < REPLAY_BATCH:
                    break
                cursor = batch[-1].meta.event_id
        return replayed, complete


def _json_safe(payload: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """Plain JSON values (datetimes as ISO 8601 strings), as stored and as sent."""
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json")
    data: dict[str, Any] = to_jsonable_python(payload)
    return data
