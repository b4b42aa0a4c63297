"""The one place that decides who may join which room and where a room event is delivered.

Clients subscribe to the rooms of docs/contract.md, section 4 (`memory_logs`, `mental_notes`,
`notifications`, `admin`, `user_{id}`). Internally an event goes to *delivery rooms*: the
Socket.IO rooms a socket actually joins. `memory_logs` and `mental_notes` are scoped per user,
so a non-admin subscriber joins `memory_logs/user_{id}` and an admin joins `memory_logs`; an
item event is sent to both, plus `user_{owner}`. The event log stores the same delivery rooms,
so live delivery, replay and `GET /api/events` all follow this one table. Which subscription
rooms carry which event is declared with the event (`schemas.EVENTS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from src.events.catalog import (
    ADMIN,
    MEMORY_LOGS,
    MENTAL_NOTES,
    NOTIFICATIONS,
    USER_ROOMS,
    EventCatalog,
)
from src.events.schemas import EVENTS, ErrorCode

__all__ = ["ADMIN", "MEMORY_LOGS", "MENTAL_NOTES", "NOTIFICATIONS", "ROOM_EVENTS", "USER_ROOMS"]

SCOPED_ROOMS = frozenset({MEMORY_LOGS, MENTAL_NOTES})
_USER_ROOM = re.compile(r"user_(?P<id>[1-9][0-9]{0,18})")
"""Matched with `fullmatch`: `$` also matches before a final newline, so `user_1\n` passed for
`user_1` (REST and socket alike) while being another Socket.IO room and another log key."""

ROOM_EVENTS: dict[str, tuple[str, ...]] = EVENTS.room_events()
"""Which events each subscription room carries (docs/contract.md, section 4), derived from the
declarations in `schemas.EVENTS`; the AsyncAPI document, the TypeScript client and the docs read
it, and `delivery_rooms` sends each event to the delivery rooms of exactly its declared rooms."""


def _carries_copy(table: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    return {room: {str(event) for event in events} for room, events in table.items()}


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


def user_room_owner(room: str) -> int | None:
    """The user whose `user_{id}` room `room` is, or None when it is no such room."""
    match = _USER_ROOM.fullmatch(room)
    return None if match is None else int(match["id"])


def _scoped_room(room: str, user_id: int) -> str:
    return f"{room}/user_{user_id}"


@dataclass
class RoomPolicy:
    """Room rules. `open_rooms` and `admin_rooms` may be extended for custom events."""

    open_rooms: set[str] = field(default_factory=lambda: {MEMORY_LOGS, MENTAL_NOTES, NOTIFICATIONS})
    admin_rooms: set[str] = field(default_factory=lambda: {ADMIN})
    carries: dict[str, set[str]] = field(default_factory=lambda: _carries_copy(ROOM_EVENTS))

    @classmethod
    def for_events(cls, events: EventCatalog) -> RoomPolicy:
        """The default rules, with the room table of `events` (e.g. `EVENTS.with_(...)`)."""
        return cls(carries=_carries_copy(events.room_events()))

    def allow(self, room: str, *, admins_only: bool = False, carries: Iterable[str] = ()) -> None:
        """Let clients subscribe to a custom room (e.g. `tasks` for a new event).

        `carries` names the events sent to it, so the AsyncAPI document and the TypeScript
        client list them under that room.
        """
        (self.admin_rooms if admins_only else self.open_rooms).add(room)
        self.carries.setdefault(room, set()).update(str(event) for event in carries)

    def delivery_room(self, room: str, viewer: Viewer) -> str:
        """The Socket.IO room `viewer` joins for `room`; raises `RoomError` if not allowed."""
        owner = user_room_owner(room)
        if owner is not None:
            if viewer.is_admin or owner == viewer.user_id:
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

    def delivery_rooms(self, rooms: Iterable[str], owner_id: int | None) -> list[str]:
        """`delivery_rooms(rooms, owner_id)`: the same for every policy."""
        return delivery_rooms(rooms, owner_id)

    def custom_rooms(self, room: str, owner_id: int | None) -> list[str]:
        """Delivery rooms for an event sent to a named room by custom code (a `SocketEvent`)."""
        return delivery_rooms([room], owner_id)


def delivery_rooms(rooms: Iterable[str], owner_id: int | None) -> list[str]:
    """The delivery rooms of an event sent to subscription `rooms`, about `owner_id`'s data.

    `user_{id}` becomes `user_{owner}`; a scoped collection (`memory_logs`) is sent to itself
    (admins) and to the owner's scope `memory_logs/user_{owner}`; any other room (`admin`,
    a custom `tasks`, a literal `user_7`) is itself. Who may *join* a room is the policy's
    (it can be extended); where an event goes is not, so senders need no policy.
    """
    delivery: list[str] = []
    for room in rooms:
        if room == USER_ROOMS:
            if owner_id is None:
                raise ValueError("an event to `user_{id}` needs the user's id")
            delivery.append(user_room(owner_id))
        elif room in SCOPED_ROOMS and owner_id is not None:
            delivery += [room, _scoped_room(room, owner_id)]
        else:
            delivery.append(room)
    return delivery
