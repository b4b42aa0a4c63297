"""The declarations (`schemas.EVENTS`) agree with the contract, docs/contract.md section 4.

The room table `ROOM_EVENTS` and the emitter's routing are both derived from the declarations,
so they cannot disagree with each other; these tests check the derived table and the delivery
rooms `EventEmitter.emit` really publishes to against the contract's two room tables, for every
declared room event, with sample payloads built from each event's model (no list of emitter
calls to keep up to date).
"""

from __future__ import annotations

import itertools
import re
import typing
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel

from src.core.paths import SOURCE_ROOT
from src.events.catalog import Direction, EventCatalog
from src.events.emitters import EventEmitter
from src.events.rooms import ROOM_EVENTS, USER_ROOMS
from src.events.schemas import EVENT_PAYLOADS, EVENTS, EventType
from src.events.socket_handlers import build_default_registry

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OWNER = 7
"""The user of the contract's examples (`memory_logs/user_7`)."""
CONTRACT = (SOURCE_ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
ROOMS_SECTION = CONTRACT.split("## 4. Rooms", 1)[1].split("## 5.", 1)[0]


def table_rows(header: str) -> list[list[str]]:
    """The cells of each row of the markdown table in section 4 that starts with `header`."""
    lines = ROOMS_SECTION.split(header, 1)[1].splitlines()[2:]
    rows = itertools.takewhile(lambda line: line.startswith("|"), lines)
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def room_events_of(decls: EventCatalog) -> set[str]:
    return {str(d.event) for d in decls.values() if d.direction is Direction.SERVER_TO_ROOMS}


class RecordingService:
    """Stands in for `SocketService`: records the delivery rooms of each published event."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], list[str]]] = []

    async def publish(self, event_type: str, payload: BaseModel, rooms: list[str], **_: Any):
        self.sent.append((str(event_type), payload.model_dump(), rooms))


def subscription_room(delivery_room: str) -> str:
    """`memory_logs/user_7` -> `memory_logs`; `user_7` -> `user_{id}`."""
    room = delivery_room.split("/", 1)[0]
    return USER_ROOMS if room.startswith("user_") else room


def samples(model: type[BaseModel]) -> Iterator[dict[str, Any]]:
    """Payloads of `model` about user `OWNER`: one per combination of its `Literal` fields."""
    choices: dict[str, list[Any]] = {}
    for name, field in model.model_fields.items():
        kind = field.annotation
        args = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if typing.get_origin(kind) is typing.Literal:
            choices[name] = list(args)
        else:
            base = args[0] if args else kind
            if typing.get_origin(base) is typing.Annotated:
                base = typing.get_args(base)[0]
            by_type = {int: OWNER, str: "x", float: 1.0, bool: True, datetime: NOW}
            choices[name] = [by_type[base]]  # type: ignore[index]
    for values in itertools.product(*choices.values()):
        yield dict(zip(choices, values, strict=True))


def test_every_event_type_is_declared_once_and_only_event_types_are():
    assert list(EVENTS) == [str(event) for event in EventType]
    assert EVENT_PAYLOADS == {EventType(name): decl.payload for name, decl in EVENTS.items()}


def test_declared_directions_match_the_handlers():
    """C→S events are exactly the registered handlers; the others are sent by the server."""
    registered = set(build_default_registry().registrations)
    client = {str(decl.event) for decl in EVENTS.of_direction(Direction.CLIENT_TO_SERVER)}
    assert client == registered


def test_room_table_is_the_contracts():
    """Each room carries exactly the events section 4's room table names (`memory_log_*`...)."""
    rows = table_rows("| room | who may subscribe | carries |")
    assert {names(room)[0] for room, *_ in rows} == set(ROOM_EVENTS)
    every = room_events_of(EVENTS)
    for room, _who, carries in rows:
        patterns = names(carries)
        named = {event for event in every if any(fnmatchcase(event, p) for p in patterns)}
        assert set(map(str, ROOM_EVENTS[names(room)[0]])) == named, room


def contract_delivery_rooms(event: str, payload: dict[str, Any]) -> set[str]:
    """The delivery rooms section 4's second table gives for `event` about user `OWNER`."""
    for cell, rooms in table_rows("| event | delivery rooms |"):
        if not any(fnmatchcase(event, pattern) for pattern in names(cell)[:1]):
            continue
        by_audience = re.findall(r"`([^`]+)` \((?:audience )?`([^`]+)`\)", rooms)
        if by_audience:
            listed = [room for room, audience in by_audience if audience == payload["audience"]]
        else:
            listed = names(rooms)
        return {room.replace("{id}", str(OWNER)) for room in listed}
    raise AssertionError(f"docs/contract.md section 4 does not say where {event} goes")


async def test_emitter_sends_every_room_event_where_the_contract_says():
    service = RecordingService()
    emitter = EventEmitter(service)  # type: ignore[arg-type]
    reached: dict[str, set[str]] = defaultdict(set)
    for name in sorted(room_events_of(EVENTS)):
        for payload in samples(EVENTS[name].payload):
            await emitter.emit(name, payload, owner_id=OWNER)
            event, sent, rooms = service.sent[-1]
            assert set(rooms) == contract_delivery_rooms(event, sent), (event, sent)
            reached[event] |= {subscription_room(room) for room in rooms}
    # every declared room is reached by some payload, and no other room is
    assert reached == {name: set(EVENTS[name].rooms) for name in room_events_of(EVENTS)}
