"""Room events as the client hands them over: the payload parsed into its model from
`src.events.schemas`, and which subscription room carries which event (`src.events.rooms`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from src.events.rooms import ROOM_EVENTS, USER_ROOMS, user_room_owner
from src.events.schemas import EVENT_PAYLOADS, EventMeta, EventType

ROOM_EVENT_TYPES: frozenset[str] = frozenset(
    str(event) for events in ROOM_EVENTS.values() for event in events
)
"""Every event a room carries: these arrive as `(payload, meta)` and are logged with an id."""


@dataclass(frozen=True)
class RoomEvent:
    """One room event: `payload` is an instance of `EVENT_PAYLOADS[type]`, e.g. `MemoryLogEvent`."""

    type: EventType
    payload: BaseModel
    meta: EventMeta

    @property
    def event_id(self) -> int:
        return self.meta.event_id


def parse_room_event(name: str, args: tuple[Any, ...]) -> RoomEvent:
    """Build a `RoomEvent` from a handler's arguments `(payload, meta, *extra)`.

    Arguments past `meta` (a Connection State Recovery offset, say) are ignored. Raises
    `pydantic.ValidationError` or `ValueError` when the event does not match its model.
    """
    if len(args) < 2:
        raise ValueError(f"{name} arrived without its meta argument")
    event_type = EventType(name)
    payload = EVENT_PAYLOADS[event_type].model_validate(args[0])
    return RoomEvent(event_type, payload, EventMeta.model_validate(args[1]))


def room_event_types(room: str) -> tuple[str, ...]:
    """The events `room` carries: `user_7` is a `user_{id}` room; an unknown room carries none."""
    if user_room_owner(room) is not None:
        return ROOM_EVENTS[USER_ROOMS]
    return ROOM_EVENTS.get(room, ())


def carries(room: str, event: RoomEvent) -> bool:
    """Whether `event` belongs to the subscription `room`.

    A `user_{id}` room carries only events about that user (an admin's socket may hold several
    of them); every socket is in its own, so an event can arrive before any subscription.
    """
    if event.type not in room_event_types(room):
        return False
    room_owner = user_room_owner(room)
    owner = getattr(event.payload, "user_id", None)
    return room_owner is None or not isinstance(owner, int) or owner == room_owner
