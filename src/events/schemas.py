"""Every Socket.IO event: its name in `EventType`, its payload as a Pydantic model, and its
declaration in `EVENTS` (direction and rooms).

This module is the single source of truth for the wire format; docs and generated clients
read it, and nothing else spells an event name as a string literal."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from src.core.clock import as_utc
from src.events.catalog import (
    ADMIN,
    MEMORY_LOGS,
    MENTAL_NOTES,
    NOTIFICATIONS,
    USER_ROOMS,
    EventCatalog,
    client_event,
    room_event,
    socket_event,
)

UTCTimestamp = Annotated[datetime, AfterValidator(as_utc)]
"""Every time leaves the server in UTC with an explicit offset."""
StrictNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
EventId = Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)]  # a BIGINT column


class EventType(StrEnum):
    """The name of every event on the wire, in both directions."""

    # connection
    CONNECTION_ESTABLISHED = "connection_established"
    PING = "ping"
    PONG = "pong"
    REFRESH_TOKEN = "refresh_token"
    # subscriptions
    SUBSCRIBE_EVENT = "subscribe_event"
    UNSUBSCRIBE_EVENT = "unsubscribe_event"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    # memory logs
    MEMORY_LOG_CREATED = "memory_log_created"
    MEMORY_LOG_UPDATED = "memory_log_updated"
    MEMORY_LOG_DELETED = "memory_log_deleted"
    # mental notes
    MENTAL_NOTE_CREATED = "mental_note_created"
    MENTAL_NOTE_UPDATED = "mental_note_updated"
    MENTAL_NOTE_DELETED = "mental_note_deleted"
    # users and notifications
    USER_STATUS_CHANGED = "user_status_changed"
    NOTIFICATION = "notification"
    # errors
    ERROR = "error"


class ErrorCode(StrEnum):
    """The `code` of an `error` event (docs/contract.md, section 5)."""

    FORBIDDEN = "forbidden"
    UNKNOWN_ROOM = "unknown_room"
    UNKNOWN_EVENT = "unknown_event"
    VALIDATION_ERROR = "validation_error"
    RATE_LIMITED = "rate_limited"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
    TOKEN_EXPIRED = "token_expired"
    UNAUTHORIZED = "unauthorized"
    UNAVAILABLE = "unavailable"
    INTERNAL_ERROR = "internal_error"


UserStatus = Literal["online", "away", "busy", "offline"]
NotificationLevel = Literal["info", "warning", "critical"]
NotificationAudience = Literal["everyone", "admins", "user"]


class EventModel(BaseModel):
    """Base of every payload: built from ORM objects or dicts, extra keys ignored."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")


# -- client -> server -------------------------------------------------------------------------


class PingEvent(EventModel):
    timestamp: StrictNumber


class RefreshTokenEvent(EventModel):
    token: str = Field(
        min_length=1,
        max_length=4096,
        description="a new access token of the same user (POST /api/auth/token)",
    )


class SubscribeEvent(EventModel):
    event_type: str = Field(min_length=1, max_length=128, description="the room to join")
    since: EventId | None = Field(default=None, description="replay events after this id")


class UnsubscribeEvent(EventModel):
    event_type: str = Field(min_length=1, max_length=128, description="the room to leave")


# -- server -> one socket ---------------------------------------------------------------------


class ConnectionEstablishedEvent(EventModel):
    sid: str
    user_id: int
    server_time: UTCTimestamp


class PongEvent(EventModel):
    timestamp: float
    server_time: UTCTimestamp


class SubscribedEvent(EventModel):
    event_type: str
    replayed: int = 0
    complete: bool = True
    head: int = 0


class UnsubscribedEvent(EventModel):
    event_type: str


class ErrorEvent(EventModel):
    code: ErrorCode
    message: str
    event: str | None = None
    details: Any = None


# -- server -> rooms (stored in the event log, emitted with EventMeta) -----------------------


Edited = TypeVar("Edited", "MemoryLogEvent", "MentalNoteEvent")


def _updated_defaults_to_created(item: Edited) -> Edited:
    """A row never updated has `updated_at` = `created_at` on the wire, never null."""
    if item.updated_at is None:
        item.updated_at = item.created_at
    return item


class MemoryLogEvent(EventModel):
    """A memory log, as `memory_log_created` and `memory_log_updated` carry it."""

    id: int
    user_id: int
    content: str
    created_at: UTCTimestamp
    updated_at: UTCTimestamp | None = None
    _updated = model_validator(mode="after")(_updated_defaults_to_created)


class MemoryLogDeletedEvent(EventModel):
    id: int
    user_id: int
    deleted_at: UTCTimestamp


class MentalNoteEvent(EventModel):
    """A mental note, as `mental_note_created` and `mental_note_updated` carry it."""

    id: int
    user_id: int
    title: str
    content: str = ""
    created_at: UTCTimestamp
    updated_at: UTCTimestamp | None = None
    _updated = model_validator(mode="after")(_updated_defaults_to_created)


class MentalNoteDeletedEvent(EventModel):
    id: int
    user_id: int
    deleted_at: UTCTimestamp


class UserStatusChangedEvent(EventModel):
    user_id: int
    status: UserStatus
    changed_at: UTCTimestamp


class NotificationEvent(EventModel):
    message: str
    level: NotificationLevel
    audience: NotificationAudience
    created_at: UTCTimestamp


# -- acknowledgements --------------------------------------------------------------------------


class AckError(BaseModel):
    code: ErrorCode
    message: str


class ErrorAck(BaseModel):
    ok: Literal[False] = False
    error: AckError


class RefreshTokenAck(BaseModel):
    ok: Literal[True] = True
    expires_at: UTCTimestamp


class SubscribeAck(BaseModel):
    ok: Literal[True] = True
    event_type: str
    replayed: int
    complete: bool
    head: int


class UnsubscribeAck(BaseModel):
    ok: Literal[True] = True
    event_type: str


# -- envelope ---------------------------------------------------------------------------------


class EventMeta(BaseModel):
    """The second argument of every room event: clients resume from `event_id`."""

    event_id: int
    event_type: str
    emitted_at: UTCTimestamp


class SocketEvent(BaseModel):
    """An event to send: to `room` (logged, with meta) or to one socket `sid` (not logged)."""

    event_type: str
    data: dict[str, Any]
    room: str | None = None
    sid: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> SocketEvent:
        if (self.room is None) == (self.sid is None):
            raise ValueError("a SocketEvent goes to exactly one of `room` or `sid`")
        return self


def audience_room(notification: NotificationEvent) -> str:
    """The one room a notification goes to: by its audience."""
    return {"everyone": NOTIFICATIONS, "admins": ADMIN, "user": USER_ROOMS}[notification.audience]


EVENTS = EventCatalog(
    socket_event(EventType.CONNECTION_ESTABLISHED, ConnectionEstablishedEvent),
    client_event(EventType.PING, PingEvent),
    socket_event(EventType.PONG, PongEvent),
    client_event(EventType.REFRESH_TOKEN, RefreshTokenEvent),
    client_event(EventType.SUBSCRIBE_EVENT, SubscribeEvent),
    client_event(EventType.UNSUBSCRIBE_EVENT, UnsubscribeEvent),
    socket_event(EventType.SUBSCRIBED, SubscribedEvent),
    socket_event(EventType.UNSUBSCRIBED, UnsubscribedEvent),
    room_event(EventType.MEMORY_LOG_CREATED, MemoryLogEvent, MEMORY_LOGS, USER_ROOMS),
    room_event(EventType.MEMORY_LOG_UPDATED, MemoryLogEvent, MEMORY_LOGS, USER_ROOMS),
    room_event(EventType.MEMORY_LOG_DELETED, MemoryLogDeletedEvent, MEMORY_LOGS, USER_ROOMS),
    room_event(EventType.MENTAL_NOTE_CREATED, MentalNoteEvent, MENTAL_NOTES, USER_ROOMS),
    room_event(EventType.MENTAL_NOTE_UPDATED, MentalNoteEvent, MENTAL_NOTES, USER_ROOMS),
    room_event(EventType.MENTAL_NOTE_DELETED, MentalNoteDeletedEvent, MENTAL_NOTES, USER_ROOMS),
    room_event(EventType.USER_STATUS_CHANGED, UserStatusChangedEvent, USER_ROOMS, ADMIN),
    room_event(
        EventType.NOTIFICATION,
        NotificationEvent,
        USER_ROOMS,
        ADMIN,
        NOTIFICATIONS,
        pick=audience_room,
    ),
    socket_event(EventType.ERROR, ErrorEvent),
)
"""Every event, declared once (`catalog.py`): add an event here and to `EventType`. Where a room
event goes (by its rooms and its payload's `user_id`) is decided by `rooms.delivery_rooms`."""

EVENT_PAYLOADS: dict[EventType, type[BaseModel]] = {
    EventType(name): model for name, model in EVENTS.payloads().items()
}
"""The payload model of every event, derived from `EVENTS` (do not edit it by hand)."""
