"""The one place that decides who may join which room and which rooms carry which event.

Clients subscribe to the rooms of docs/contract.md, section 4 (`memory_logs`, `mental_notes`,
`notifications`, `admin`, `user_{id}`). Internally an event goes to *delivery rooms*: the
Socket.IO rooms a socket actually joins. `memory_logs` and `mental_notes` are scoped per user,
so a non-admin subscriber joins `memory_logs/user_{id}` and an admin joins `memory_logs`; an
item event is sent to both, plus `user_{owner}`. The event log stores the same delivery rooms,
so live delivery, replay and `GET /api/events` all follow this one table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from src.events.schemas import ErrorCode, EventType, NotificationAudience

MEMORY_LOGS = "memory_logs"
MENTAL_NOTES = "mental_notes"
NOTIFICATIONS = "notifications"
ADMIN = "admin"
USER_ROOMS = "user_{id}"
"""The per-user room family, as the contract and the docs name it."""
SCOPED_ROOMS = frozenset({MEMORY_LOGS, MENTAL_NOTES})
_USER_ROOM = re.compile(r"user_(?P<id>[1-9][0-9]{0,18})")
"""Matched with `fullmatch`: `$` also matches before a final newline, so `user_1\n` passed for
`user_1` (REST and socket alike) while being another Socket.IO room and another log key."""

_MEMORY_LOG_EVENTS = (
    EventType.MEMORY_LOG_CREATED,
    EventType.MEMORY_LOG_UPDATED,
    EventType.MEMORY_LOG_DELETED,
)
_MENTAL_NOTE_EVENTS = (
    EventType.MENTAL_NOTE_CREATED,
    EventType.MENTAL_NOTE_UPDATED,
    EventType.MENTAL_NOTE_DELETED,
)
ROOM_EVENTS: dict[str, tuple[str, ...]] = {
    MEMORY_LOGS: _MEMORY_LOG_EVENTS,
    MENTAL_NOTES: _MENTAL_NOTE_EVENTS,
    USER_ROOMS: (
        *_MEMORY_LOG_EVENTS,
        *_MENTAL_NOTE_EVENTS,
        EventType.NOTIFICATION,
        EventType.USER_STATUS_CHANGED,
    ),
    ADMIN: (EventType.NOTIFICATION, EventType.USER_STATUS_CHANGED),
    NOTIFICATIONS: (EventType.NOTIFICATION,),
}
"""Which events each subscription room carries (docs/contract.md, section 4). The methods below
send each event to the delivery rooms of exactly these rooms (tests/contract checks they
agree); the AsyncAPI document, the TypeScript client and the docs read this table."""


def _room_events_copy() -> dict[str, set[str]]:
    return {room: {str(event) for event in events} for room, events in ROOM_EVENTS.items()}


@dataclass(frozen=True)
class Viewer:
    """Who is asking: the signed-in user, with the admin flag read from the database."""

    user_id: int
    is_admin: bool = False


class RoomError(Exception):
    """A subscription refused: `code` is `forbidden` or `unknown_room`."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def user_room(user_id: int) -> str:
    return f"user_{user_id}"


def _scoped_room(room: str, user_id: int) -> str:
    return f"{room}/user_{user_id}"


@dataclass
class RoomPolicy:
    """Room rules. `open_rooms` and `admin_rooms` may be extended for custom events."""

    open_rooms: set[str] = field(default_factory=lambda: {MEMORY_LOGS, MENTAL_NOTES, NOTIFICATIONS})
    admin_rooms: set[str] = field(default_factory=lambda: {ADMIN})
    carries: dict[str, set[str]] = field(default_factory=_room_events_copy)

    def allow(self, room: str, *, admins_only: bool = False, carries: Iterable[str] = ()) -> None:
        """Let clients subscribe to a custom room (e.g. `tasks` for a new event).

        `carries` names the events sent to it, so the AsyncAPI document and the TypeScript
        client list them under that room.
        """
        (self.admin_rooms if admins_only else self.open_rooms).add(room)
        self.carries.setdefault(room, set()).update(str(event) for event in carries)

    def delivery_room(self, room: str, viewer: Viewer) -> str:
        """The Socket.IO room `viewer` joins for `room`; raises `RoomError` if not allowed."""
        match = _USER_ROOM.fullmatch(room)
        if match is not None:
            if viewer.is_admin or int(match["id"]) == viewer.user_id:
                return room
            raise RoomError(ErrorCode.FORBIDDEN, f"you may not subscribe to {room!r}")
        if room in self.admin_rooms:
            if viewer.is_admin:
                return room
            raise RoomError(ErrorCode.FORBIDDEN, f"room {room!r} is for admins only")
        if room in self.open_rooms:
            if room in SCOPED_ROOMS and not viewer.is_admin:
                return _scoped_room(room, viewer.user_id)
            return room
        raise RoomError(ErrorCode.UNKNOWN_ROOM, f"there is no room {room!r}")

    def reassess(self, delivery_room: str, viewer: Viewer) -> str | None:
        """Where a socket in `delivery_room` belongs once it is `viewer` (after a demotion).

        The same room, the subscription's delivery room for `viewer` (`memory_logs` becomes
        `memory_logs/user_{id}`), or None when `viewer` may not hold that subscription. A room
        these rules do not know (joined by custom server code) is kept.
        """
        room, _, scope = delivery_room.partition("/")
        subscription = room if scope and room in SCOPED_ROOMS else delivery_room
        try:
            return self.delivery_room(subscription, viewer)
        except RoomError as exc:
            return delivery_room if exc.code == ErrorCode.UNKNOWN_ROOM else None

    def item_rooms(self, collection: str, owner_id: int, *, only: str | None = None) -> list[str]:
        """Delivery rooms of an event about `owner_id`'s item in `collection`.

        `only` narrows delivery to one subscription room (`memory_logs` or `user_{id}`).
        """
        rooms = {
            collection: [collection, _scoped_room(collection, owner_id)],
            user_room(owner_id): [user_room(owner_id)],
        }
        if only is None:
            return [room for group in rooms.values() for room in group]
        return rooms.get(only, [only])

    def status_rooms(self, user_id: int) -> list[str]:
        """`user_status_changed` goes to the user's own room and to admins."""
        return [user_room(user_id), ADMIN]

    def notification_rooms(self, audience: NotificationAudience, user_id: int | None) -> list[str]:
        if audience == "everyone":
            return [NOTIFICATIONS]
        if audience == "admins":
            return [ADMIN]
        if user_id is None:
            raise ValueError("a notification to one user needs its user_id")
        return [user_room(user_id)]

    def custom_rooms(self, room: str, owner_id: int | None) -> list[str]:
        """Delivery rooms for an event sent to a named room by custom code (a `SocketEvent`)."""
        if room in SCOPED_ROOMS:
            if owner_id is None:
                return [room]
            return self.item_rooms(room, owner_id, only=room)
        return [room]
