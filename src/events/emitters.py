"""`EventEmitter`: one typed `emit_*` method per server -> client event.

Routes and services call these instead of `sio.emit`, so every payload is validated against
its model in `schemas.py`, every room event goes through the event log, and the rooms an
event reaches are decided by `rooms.py` alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from src.core.clock import utcnow
from src.events.rooms import MEMORY_LOGS, MENTAL_NOTES
from src.events.schemas import (
    ConnectionEstablishedEvent,
    ErrorEvent,
    EventMeta,
    EventType,
    MemoryLogDeletedEvent,
    MemoryLogEvent,
    MentalNoteDeletedEvent,
    MentalNoteEvent,
    NotificationAudience,
    NotificationEvent,
    PongEvent,
    SubscribedEvent,
    UnsubscribedEvent,
    UserStatusChangedEvent,
)
from src.events.socket_service import SocketService

Payload = Any
"""A dict, an ORM object or a Pydantic model with the payload's fields."""


class EventEmitter:
    """Typed emits over a `SocketService`.

    Example (a route, after its write)::

        await request.app.state.event_emitter.emit_memory_log_created(memory_log)
        await emitter.emit_memory_log_created(log, room=f"user_{log.user_id}")  # one room only

    Room events take `session=`: the event row is added to that session and the session is
    committed, so the write and its event land in one transaction before the event is sent.
    They return the event's `EventMeta`.
    """

    def __init__(self, socket_service: SocketService) -> None:
        self.socket_service = socket_service
        self.rooms = socket_service.rooms

    # -- one socket ---------------------------------------------------------------------------

    async def emit_connection_established(self, sid: str, user_id: int) -> None:
        payload = ConnectionEstablishedEvent(sid=sid, user_id=user_id, server_time=utcnow())
        await self.socket_service.send_to_sid(sid, EventType.CONNECTION_ESTABLISHED, payload)

    async def emit_pong(self, sid: str, timestamp: float) -> PongEvent:
        payload = PongEvent(timestamp=timestamp, server_time=utcnow())
        await self.socket_service.send_to_sid(sid, EventType.PONG, payload)
        return payload

    async def emit_subscribed(
        self, sid: str, room: str, replayed: int, complete: bool, head: int
    ) -> None:
        payload = SubscribedEvent(event_type=room, replayed=replayed, complete=complete, head=head)
        await self.socket_service.send_to_sid(sid, EventType.SUBSCRIBED, payload)

    async def emit_unsubscribed(self, sid: str, room: str) -> None:
        payload = UnsubscribedEvent(event_type=room)
        await self.socket_service.send_to_sid(sid, EventType.UNSUBSCRIBED, payload)

    async def emit_error(self, sid: str, error: ErrorEvent) -> None:
        await self.socket_service.send_to_sid(sid, EventType.ERROR, error)

    # -- memory logs --------------------------------------------------------------------------

    async def emit_memory_log_created(
        self, log: Payload, *, room: str | None = None, session: AsyncSession | None = None
    ) -> EventMeta:
        payload = MemoryLogEvent.model_validate(log)
        rooms = self.rooms.item_rooms(MEMORY_LOGS, payload.user_id, only=room)
        return await self._publish(EventType.MEMORY_LOG_CREATED, payload, rooms, session)

    async def emit_memory_log_updated(
        self, log: Payload, *, room: str | None = None, session: AsyncSession | None = None
    ) -> EventMeta:
        payload = MemoryLogEvent.model_validate(log)
        rooms = self.rooms.item_rooms(MEMORY_LOGS, payload.user_id, only=room)
        return await self._publish(EventType.MEMORY_LOG_UPDATED, payload, rooms, session)

    async def emit_memory_log_deleted(
        self,
        log_id: int,
        user_id: int,
        *,
        deleted_at: datetime | None = None,
        room: str | None = None,
        session: AsyncSession | None = None,
    ) -> EventMeta:
        payload = MemoryLogDeletedEvent(
            id=log_id, user_id=user_id, deleted_at=deleted_at or utcnow()
        )
        rooms = self.rooms.item_rooms(MEMORY_LOGS, user_id, only=room)
        return await self._publish(EventType.MEMORY_LOG_DELETED, payload, rooms, session)

    # -- mental notes -------------------------------------------------------------------------

    async def emit_mental_note_created(
        self, note: Payload, *, room: str | None = None, session: AsyncSession | None = None
    ) -> EventMeta:
        payload = MentalNoteEvent.model_validate(note)
        rooms = self.rooms.item_rooms(MENTAL_NOTES, payload.user_id, only=room)
        return await self._publish(EventType.MENTAL_NOTE_CREATED, payload, rooms, session)

    async def emit_mental_note_updated(
        self, note: Payload, *, room: str | None = None, session: AsyncSession | None = None
    ) -> EventMeta:
        payload = MentalNoteEvent.model_validate(note)
        rooms = self.rooms.item_rooms(MENTAL_NOTES, payload.user_id, only=room)
        return await self._publish(EventType.MENTAL_NOTE_UPDATED, payload, rooms, session)

    async def emit_mental_note_deleted(
        self,
        note_id: int,
        user_id: int,
        *,
        deleted_at: datetime | None = None,
        room: str | None = None,
        session: AsyncSession | None = None,
    ) -> EventMeta:
        payload = MentalNoteDeletedEvent(
            id=note_id, user_id=user_id, deleted_at=deleted_at or utcnow()
        )
        rooms = self.rooms.item_rooms(MENTAL_NOTES, user_id, only=room)
        return await self._publish(EventType.MENTAL_NOTE_DELETED, payload, rooms, session)

    # -- users and notifications --------------------------------------------------------------

    async def emit_user_status_changed(
        self, status: Payload, *, session: AsyncSession | None = None
    ) -> EventMeta:
        payload = UserStatusChangedEvent.model_validate(status)
        rooms = self.rooms.status_rooms(payload.user_id)
        return await self._publish(EventType.USER_STATUS_CHANGED, payload, rooms, session)

    async def emit_notification(
        self,
        message: str,
        *,
        level: str = "info",
        audience: NotificationAudience = "everyone",
        user_id: int | None = None,
        session: AsyncSession | None = None,
    ) -> EventMeta:
        payload = NotificationEvent.model_validate(
            {"message": message, "level": level, "audience": audience, "created_at": utcnow()}
        )
        rooms = self.rooms.notification_rooms(audience, user_id)
        return await self._publish(EventType.NOTIFICATION, payload, rooms, session)

    async def _publish(
        self,
        event_type: EventType,
        payload: Any,
        rooms: list[str],
        session: AsyncSession | None,
    ) -> EventMeta:
        return await self.socket_service.publish(event_type, payload, rooms, session=session)
