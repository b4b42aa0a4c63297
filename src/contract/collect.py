"""Walks the code that defines the events into one `Contract`; the only place that does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from importlib import metadata
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from src.contract.jsonschema import SchemaRequest, model_schemas
from src.contract.model import Access, ClientEvent, Contract, Room, Schema, ServerEvent
from src.events.catalog import EventCatalog
from src.events.handlers import EventHandlerRegistry, Registration
from src.events.rooms import (
    ADMIN,
    MEMORY_LOGS,
    MENTAL_NOTES,
    NOTIFICATIONS,
    SCOPED_ROOMS,
    USER_ROOMS,
    RoomPolicy,
)
from src.events.schemas import EVENTS, ErrorAck, ErrorCode, EventMeta, EventType
from src.events.socket_handlers import build_default_registry

ROOM_ORDER = (MEMORY_LOGS, MENTAL_NOTES, USER_ROOMS, ADMIN, NOTIFICATIONS)
"""Built-in rooms in the order of the contract's room table; custom rooms follow, sorted."""

ANY: Schema = {}
"""The schema of an event or ack that no model describes."""


def build_contract(
    registry: EventHandlerRegistry | None = None,
    rooms: RoomPolicy | None = None,
    payloads: Mapping[Any, type[BaseModel]] | None = None,
    *,
    events: EventCatalog = EVENTS,
) -> Contract:
    """Describe every event of `registry`, `rooms` and `payloads`.

    The defaults are what a running app has: the built-in handlers, and the room table and
    payload models of the declarations `events` (`schemas.EVENTS`, as `ROOM_EVENTS` and
    `EVENT_PAYLOADS` hold them). Pass the app's own registry and policy (as `/asyncapi.json`
    does) to include custom events. `payloads` maps event names (`str` or a `StrEnum` such as
    `EventType`) to models. A registered event is client -> server; an event with a payload
    model and no handler, or one that a room carries, is server -> client (tests/contract
    checks this agrees with each declaration's direction). A server event's payload is its
    model in `payloads`, else the model its handler validates (an event sent both ways).
    """
    registry = registry if registry is not None else build_default_registry()
    policy = rooms if rooms is not None else RoomPolicy.for_events(events)
    source = events.payloads() if payloads is None else payloads
    models = {str(key): model for key, model in source.items()}
    registrations = registry.registrations
    names, members = _event_names(source, registrations, policy.carries.values())
    room_list = _rooms(policy, names)
    carried_by = {
        name: tuple(room.name for room in room_list if name in room.carries) for name in names
    }
    client_names = [name for name in names if name in registrations]
    server_names = [n for n in names if n not in registrations or carried_by[n]]
    server_models = {name: _server_model(name, models, registrations) for name in server_names}

    refs, definitions = model_schemas(
        _schema_requests([registrations[name] for name in client_names], server_models)
    )
    return Contract(
        title="Mindwire socket events",
        version=_version(),
        event_names=tuple(names),
        client_events=tuple(
            _client_event(registrations[name], members.get(name), refs) for name in client_names
        ),
        server_events=tuple(
            ServerEvent(
                name=name,
                member=members.get(name),
                payload=_schema(refs, server_models[name], "serialization"),
                rooms=carried_by[name],
            )
            for name in server_names
        ),
        rooms=room_list,
        error_codes=tuple(code.value for code in ErrorCode),
        meta=refs[(EventMeta, "serialization")],
        error_ack=refs[(ErrorAck, "serialization")],
        definitions=definitions,
    )


def _server_model(
    name: str, models: Mapping[str, type[BaseModel]], registrations: Mapping[str, Registration]
) -> type[BaseModel] | None:
    if name in models:
        return models[name]
    registration = registrations.get(name)
    return registration.payload if registration is not None else None


def _schema(
    refs: Mapping[SchemaRequest, Schema], model: type[BaseModel] | None, mode: JsonSchemaMode
) -> Schema:
    return ANY if model is None else refs[(model, mode)]


def _client_event(
    registration: Registration, member: str | None, refs: Mapping[SchemaRequest, Schema]
) -> ClientEvent:
    return ClientEvent(
        name=registration.event,
        member=member,
        payload=_schema(refs, registration.payload, "validation"),
        ack=_schema(refs, registration.ack, "serialization"),
        summary=registration.summary,
    )


def _schema_requests(
    client_events: list[Registration], server_models: Mapping[str, type[BaseModel] | None]
) -> list[SchemaRequest]:
    """Every model the document names, in the mode it is used in: a client's payload as it is
    validated, acks and server payloads as they are serialised."""
    requests: list[SchemaRequest] = [(EventMeta, "serialization"), (ErrorAck, "serialization")]
    for registration in client_events:
        if registration.payload is not None:
            requests.append((registration.payload, "validation"))
        if registration.ack is not None:
            requests.append((registration.ack, "serialization"))
    requests += [(model, "serialization") for model in server_models.values() if model]
    return requests


def _event_names(
    payloads: Mapping[Any, type[BaseModel]],
    registrations: Mapping[str, Registration],
    carried: Iterable[Iterable[str]],
) -> tuple[list[str], dict[str, str]]:
    """Every event name, `EventType` order first, and the enum member behind each name."""
    members = {str(event): event.name for event in EventType}
    members |= {str(key): key.name for key in payloads if isinstance(key, Enum)}
    known = [str(event) for event in EventType]
    others = {str(key) for key in payloads} | set(registrations)
    others |= {str(name) for events in carried for name in events}
    return [*known, *sorted(others - set(known))], members


def _rooms(policy: RoomPolicy, names: list[str]) -> tuple[Room, ...]:
    """The rooms clients may subscribe to, with who may and the events each carries."""
    joinable = policy.open_rooms | policy.admin_rooms | {USER_ROOMS}
    ordered = [room for room in ROOM_ORDER if room in joinable]
    ordered += sorted(joinable - set(ROOM_ORDER))
    position = {name: index for index, name in enumerate(names)}
    rooms: list[Room] = []
    for name in ordered:
        carried = {str(event) for event in policy.carries.get(name, ())}
        carries = tuple(sorted(carried, key=position.__getitem__))
        if name == USER_ROOMS:
            rooms.append(Room(name, Access.OWNER_OR_ADMIN, carries, parameter="id"))
        elif name in policy.admin_rooms:
            rooms.append(Room(name, Access.ADMINS, carries))
        else:
            rooms.append(Room(name, Access.SIGNED_IN, carries, scoped=name in SCOPED_ROOMS))
    return tuple(rooms)


def _version() -> str:
    try:
        return metadata.version("mindwire")
    except metadata.PackageNotFoundError:
        return "0.0.0"
