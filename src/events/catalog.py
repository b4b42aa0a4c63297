"""One declaration per event: its name, payload model, direction and the rooms that carry it.

`schemas.py` declares every built-in event once, in `EVENTS`. Everything else is derived from
that table: `EVENT_PAYLOADS`, the room table `ROOM_EVENTS` (`rooms.py`), where
`EventEmitter.emit` sends an event, and, through them, the AsyncAPI document, the TypeScript
types and the events table of src/events/README.md. This module imports nothing of
`src.events`, so `schemas.py` and `rooms.py` can both build on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

MEMORY_LOGS = "memory_logs"
MENTAL_NOTES = "mental_notes"
NOTIFICATIONS = "notifications"
ADMIN = "admin"
USER_ROOMS = "user_{id}"
"""The subscription rooms of docs/contract.md, section 4 (`user_{id}` is a family of rooms);
`rooms.py` re-exports them and decides who may join each."""


class Direction(StrEnum):
    """Who sends an event, and to whom."""

    CLIENT_TO_SERVER = "C→S"
    SERVER_TO_ROOMS = "S→C"
    """Logged, sent to rooms with `meta`, replayable."""
    SERVER_TO_SOCKET = "S→C, one socket"
    """Not logged, no `meta`."""


Pick = Callable[[Any], str]
"""Chooses the one declared room a payload goes to (a notification goes by its audience)."""


@dataclass(frozen=True)
class EventDecl:
    """An event, declared once. `rooms` are the subscription rooms that may carry it."""

    event: str
    payload: type[BaseModel]
    direction: Direction
    rooms: tuple[str, ...] = ()
    pick: Pick | None = None

    def __post_init__(self) -> None:
        if bool(self.rooms) != (self.direction is Direction.SERVER_TO_ROOMS):
            raise ValueError(f"{self.event}: rooms are declared for room events, and only them")
        if self.pick is not None and len(self.rooms) < 2:
            raise ValueError(f"{self.event}: `pick` chooses among several rooms")

    def rooms_for(self, payload: BaseModel) -> tuple[str, ...]:
        """The subscription rooms this payload goes to: all declared ones, or the picked one."""
        if self.pick is None:
            return self.rooms
        room = self.pick(payload)
        if room not in self.rooms:
            raise ValueError(f"{self.event} may not go to {room!r}: it is not declared for it")
        return (room,)


def client_event(event: str, payload: type[BaseModel]) -> EventDecl:
    """A client -> server event; its handler is registered in `socket_handlers.py`."""
    return EventDecl(event, payload, Direction.CLIENT_TO_SERVER)


def socket_event(event: str, payload: type[BaseModel]) -> EventDecl:
    """A server -> client event sent to one socket."""
    return EventDecl(event, payload, Direction.SERVER_TO_SOCKET)


def room_event(
    event: str, payload: type[BaseModel], *rooms: str, pick: Pick | None = None
) -> EventDecl:
    """A server -> client event, logged and sent to `rooms` (or the one `pick` chooses)."""
    return EventDecl(event, payload, Direction.SERVER_TO_ROOMS, tuple(rooms), pick)


class EventCatalog(Mapping[str, EventDecl]):
    """Declarations by event name. Immutable: `with_` makes an extended copy (for a test or
    a plugin that declares its own events)."""

    def __init__(self, *declarations: EventDecl) -> None:
        self._by_name: dict[str, EventDecl] = {}
        for declaration in declarations:
            name = str(declaration.event)
            if name in self._by_name:
                raise ValueError(f"the event {name!r} is declared twice")
            self._by_name[name] = declaration

    def __getitem__(self, event: str) -> EventDecl:
        return self._by_name[str(event)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def with_(self, *declarations: EventDecl) -> EventCatalog:
        return EventCatalog(*self._by_name.values(), *declarations)

    def room_event(self, event: str) -> EventDecl:
        """The declaration of a room event; a clear error for any other name."""
        declaration = self._by_name.get(str(event))
        if declaration is None or declaration.direction is not Direction.SERVER_TO_ROOMS:
            raise ValueError(f"{str(event)!r} is not a declared room event")
        return declaration

    def payloads(self) -> dict[str, type[BaseModel]]:
        """Event -> payload model, keyed by the declared event (an `EventType` member)."""
        return {decl.event: decl.payload for decl in self._by_name.values()}

    def room_events(self) -> dict[str, tuple[str, ...]]:
        """Subscription room -> the events it carries, in declaration order."""
        table: dict[str, tuple[str, ...]] = {}
        for decl in self._by_name.values():
            for room in decl.rooms:
                table[room] = (*table.get(room, ()), decl.event)
        return table

    def of_direction(self, direction: Direction) -> list[EventDecl]:
        return [decl for decl in self._by_name.values() if decl.direction is direction]
