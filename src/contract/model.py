"""The collected description of every socket event: what all generators read, nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Schema = dict[str, Any]
"""A JSON schema; model schemas are `$ref`s into `Contract.definitions`."""

SCHEMA_REF_PREFIX = "#/components/schemas/"
"""Where every `$ref` points: AsyncAPI's components, which the TypeScript writer also reads."""


class Access(StrEnum):
    """Who may subscribe to a room (`RoomPolicy.delivery_room` enforces it)."""

    SIGNED_IN = "any signed-in user"
    OWNER_OR_ADMIN = "that user, and admins"
    ADMINS = "admins only"


@dataclass(frozen=True)
class Room:
    """A room clients subscribe to; `parameter` names the `{id}` of a room family."""

    name: str
    access: Access
    carries: tuple[str, ...]
    scoped: bool = False
    parameter: str | None = None

    @property
    def description(self) -> str:
        """One sentence on who may join and what a member receives."""
        text = f"Who may subscribe: {self.access.value}."
        if self.scoped:
            text += " A user receives only events about their own items; an admin receives all."
        return text


@dataclass(frozen=True)
class ClientEvent:
    """A client -> server event: a registered handler, its payload and its ack."""

    name: str
    member: str | None
    payload: Schema
    ack: Schema
    summary: str


@dataclass(frozen=True)
class ServerEvent:
    """A server -> client event; with `rooms` it is logged and sent as `(payload, meta)`."""

    name: str
    member: str | None
    payload: Schema
    rooms: tuple[str, ...]

    @property
    def logged(self) -> bool:
        return bool(self.rooms)

    @property
    def summary(self) -> str:
        if not self.logged:
            return "Sent to one socket, not logged, without meta."
        return f"Logged and sent as (payload, meta) to rooms: {', '.join(self.rooms)}."


@dataclass(frozen=True)
class Contract:
    """Everything the outputs need; `definitions` holds each model's schema once."""

    title: str
    version: str
    event_names: tuple[str, ...]
    client_events: tuple[ClientEvent, ...]
    server_events: tuple[ServerEvent, ...]
    rooms: tuple[Room, ...]
    error_codes: tuple[str, ...]
    meta: Schema
    error_ack: Schema
    definitions: Mapping[str, Schema]

    def resolve(self, schema: Schema) -> Schema:
        """Follow a `$ref` into `definitions` (other schemas come back as they are)."""
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF_PREFIX):
            return self.definitions[ref.removeprefix(SCHEMA_REF_PREFIX)]
        return schema
