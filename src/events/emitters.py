"""`EventEmitter`: `emit(event, data)` for every room event, and the typed `emit_*` methods.

Routes and services call these instead of `sio.emit`, so every payload is validated against
its model in `schemas.py`, every room event goes through the event log, and the rooms an
event reaches come from its declaration (`schemas.EVENTS`) through `rooms.py` alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from src.core.clock import utcnow
from src.events.catalog import EventCatalog
from src.events.grouped_writes import EventSpec
from src.events.rooms import delivery_rooms
from src.events.schemas import (
    EVENTS,
    ConnectionEstablishedEvent,
    ErrorEvent,
    EventMeta,
    EventType,
    NotificationAudience,
    PongEvent,
    SubscribedEvent,
    UnsubscribedEvent,
)
from src.events.socket_service import SocketService, json_safe

Payload = Any
"""A dict, an ORM object or a Pydantic model with the payload's fields."""


class EventEmitter:
    """Typed emits over a `SocketService`.

    Example (a route, after its write)::

        await request.app.state.event_emitter.emit_memory_log_created(memory_log)
        await emitter.emit_memory_log_created(log, room=f"user_{log.user_id}")  # one room only
        await emitter.emit(EventType.MEMORY_LOG_UPDATED, log, session=session)  # any room event

    Room events take `session=`: the event row is added to that session and the session is
    committed, so the write and its event land in one transaction before the event is sent.
    They return the event's `EventMeta`.
    """

    def __init__(self, socket_service: SocketService, events: EventCatalog = EVENTS) -> None:
        self.socket_service = socket_service
        self.events = events

    async def emit(
        self,
        event: str,
        data: Payload,
        *,
        room: str | None = None,
        owner_id: int | None = None,
        session: AsyncSession | None = None,
    ) -> EventMeta:
        """Validate `data` against the event's declared model, log it and send it to the
        delivery rooms of its declared rooms. `room=` narrows delivery to that one room;
        `owner_id` (default: the payload's `user_id`) fills in `user_{id}` and the scope."""
        event_type, payload, rooms = self._resolve(event, data, room, owner_id)
        return await self.socket_service.publish(event_type, payload, rooms, session=session)

    def event_spec(self, event: str, data: Payload, *, owner_id: int | None = None) -> EventSpec:
        """What `emit` would store, for a write that stores its event itself (the grouped
        hot writes, `SocketService.write_with_event`): type, JSON-safe data, rooms."""
        event_type, payload, rooms = self._resolve(event, data, None, owner_id)
        return event_type, json_safe(payload), tuple(dict.fromkeys(rooms))

    def _resolve(
        self, event: str, data: Payload, room: str | None, owner_id: int | None
    ) -> tuple[str, BaseModel, list[str]]:
        """The event's declared type, its validated payload and its delivery rooms."""
        declaration = self.events.room_event(event)
        payload = declaration.payload.model_validate(data)
        if owner_id is None:
            owner = getattr(payload, "user_id", None)
            owner_id = owner if isinstance(owner, int) else None
        carried = declaration.rooms_for(payload) if room is None else (room,)
        return declaration.event, payload, delivery_rooms(carried, owner_id)

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

    # -- room events: the methods the services call ---------------------------------------

    async def emit_memory_log_created(
        self, log: Payload, *, room: str | None = None, session: AsyncSession | None = None
    ) -> EventMeta:
        return await self.emit(EventType.MEMORY_LOG_CREATED, log, room=room, session=session)

    async def emit_memory_log_updated(
        self, log: Payload, *, room: str | None = None, session: AsyncSession | None = None
    ) -> EventMeta:
        return await self.emit(EventType.MEMORY_LOG_UPDATED, log, room=room, session=session)

    async def emit_memory_log_deleted(
        self,
        log_id: int,
        user_id: int,
        *,
        deleted_at: datetime | None = None,
        room: str | None = None,
        session: AsyncSession | None = None,
    ) -> EventMeta:
        data = {"id": log_id, "user_id": user_id, "deleted_at": deleted_at or utcnow()}
        return await self.emit(EventType.MEMORY_LOG_DELETED, data, room=room, session=session)

    async def emit_mental_note_created(
        self, note: Payload, *, room: str | None = None, session: AsyncSession | None = None
    ) -> EventMeta:
        return await self.emit(EventType.MENTAL_NOTE_CREATED, note, room=room, session=session)

    async def emit_mental_note_updated(
        self, note: Payload, *, room: str | None = None, session: AsyncSession | None = None
    ) -> EventMeta:
        return await self.emit(EventType.MENTAL_NOTE_UPDATED, note, room=room, session=session)

    async def emit_mental_note_deleted(
        self,
        note_id: int,
        user_id: int,
        *,
        deleted_at: datetime | None = None,
        room: str | None = None,
        session: AsyncSession | None = None,
    ) -> EventMeta:
        data = {"id": note_id, "user_id": user_id, "deleted_at": deleted_at or utcnow()}
        return await self.emit(EventType.MENTAL_NOTE_DELETED, data, room=room, session=session)

    async def emit_user_status_changed(
        self, status: Payload, *, session: AsyncSession | None = None
    ) -> EventMeta:
        return await self.emit(EventType.USER_STATUS_CHANGED, status, session=session)

    async def emit_notification(
        self,
        message: str,
        *,
        level: str = "info",
        audience: NotificationAudience = "everyone",
        user_id: int | None = None,
        session: AsyncSession | None = None,
    ) -> EventMeta:
        """To `notifications`, `admin` or `user_{user_id}`, by `audience`."""
        data = notification_data(message, level, audience)
        return await self.emit(EventType.NOTIFICATION, data, owner_id=user_id, session=session)


def notification_data(message: str, level: str, audience: NotificationAudience) -> Payload:
    """A `notification` event's data, stamped now."""
    return {"message": message, "level": level, "audience": audience, "created_at": utcnow()}
