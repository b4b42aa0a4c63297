"""The `Contract` as an AsyncAPI 3.0.0 document, from the server's point of view.

Channels are the Socket.IO namespace (`socket`: client events, their acks and the events sent
to one socket) and one per room. The server *receives* client events and replies with the
ack; it *sends* room events with `meta` as the second argument, described as the message
headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from src.contract.model import ClientEvent, Contract, Room, ServerEvent

ASYNCAPI_VERSION = "3.0.0"
SOCKET_CHANNEL = "socket"

DESCRIPTION = """\
Every Socket.IO event of Mindwire (path `/socket.io`, namespace `/`), generated from the
Pydantic models in `src/events/schemas.py`, the handler registry and `src/events/rooms.py`.

Connect with `io(URL, {auth: {token: ACCESS_TOKEN}})`; a bad token ends in `connect_error`
`"unauthorized"`. Client events answer through the Socket.IO acknowledgement (the operation's
reply): the handler's result, or `{ok: false, error: {code, message}}`. Room events are stored
in the event log and emitted with two arguments, the payload and
`meta = {event_id, event_type, emitted_at}` (the message headers here). Subscribe again with
`since: <last event_id>` to replay what was missed; drop repeats by `event_id`.

Error codes: {codes}."""


def asyncapi_document(contract: Contract) -> dict[str, Any]:
    """The AsyncAPI document as a JSON-ready dict."""
    sent = _sent_ids(contract)
    messages: dict[str, Any] = {}
    for client_event in contract.client_events:
        messages[client_event.name] = _client_message(client_event)
        messages[_ack(client_event.name)] = _ack_message(client_event, contract)
    for server_event in contract.server_events:
        messages[sent[server_event.name]] = _server_message(server_event, contract)
    codes = ", ".join(f"`{code}`" for code in contract.error_codes)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": contract.title,
            "version": contract.version,
            "description": DESCRIPTION.replace("{codes}", codes),
        },
        "defaultContentType": "application/json",
        "channels": {
            SOCKET_CHANNEL: _socket_channel(contract, sent),
            **{_channel_id(room): _room_channel(room, sent) for room in contract.rooms},
        },
        "operations": _operations(contract, sent),
        "components": {"schemas": dict(contract.definitions), "messages": messages},
    }


def _ref(path: str) -> dict[str, str]:
    return {"$ref": path}


def _ack(name: str) -> str:
    return f"{name}.ack"


def _sent_ids(contract: Contract) -> dict[str, str]:
    """The message id of each server event: its name, unless clients also send that name."""
    received = {event.name for event in contract.client_events}
    return {
        event.name: f"{event.name}.sent" if event.name in received else event.name
        for event in contract.server_events
    }


def _channel_id(room: Room) -> str:
    return "room." + room.name.replace("{", "").replace("}", "")


def _message_refs(names: list[str]) -> dict[str, Any]:
    return {name: _ref(f"#/components/messages/{name}") for name in names}


def _client_message(event: ClientEvent) -> dict[str, Any]:
    return {
        "name": event.name,
        "title": event.name,
        "summary": event.summary or f"The client event `{event.name}`.",
        "payload": event.payload,
    }


def _ack_message(event: ClientEvent, contract: Contract) -> dict[str, Any]:
    return {
        "name": _ack(event.name),
        "title": f"{event.name} ack",
        "summary": f"The acknowledgement of `{event.name}`: its result, or an error.",
        "payload": {"oneOf": [event.ack, contract.error_ack]},
    }


def _server_message(event: ServerEvent, contract: Contract) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": event.name,
        "title": event.name,
        "summary": event.summary,
        "payload": event.payload,
    }
    if event.logged:
        message["headers"] = contract.meta
        message["description"] = "Emitted as `(payload, meta)`; `meta` is described as headers."
    return message


def _socket_channel(contract: Contract, sent: Mapping[str, str]) -> dict[str, Any]:
    names = [n for e in contract.client_events for n in (e.name, _ack(e.name))]
    names += [sent[event.name] for event in contract.server_events if not event.logged]
    return {
        "address": "/",
        "title": "Socket.IO namespace /",
        "description": "Client events, their acks, and the events sent to one socket.",
        "messages": _message_refs(names),
    }


def _room_channel(room: Room, sent: Mapping[str, str]) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "address": room.name,
        "title": f"room {room.name}",
        "description": f"{room.description} Subscribe with `subscribe_event`.",
        "messages": _message_refs([sent[name] for name in room.carries]),
        "x-mindwire-access": room.access.value,
        "x-mindwire-scoped": room.scoped,
    }
    if room.parameter is not None:
        channel["parameters"] = {room.parameter: {"description": "the user's id"}}
    return channel


def _operations(contract: Contract, sent: Mapping[str, str]) -> dict[str, Any]:
    socket = f"#/channels/{SOCKET_CHANNEL}"
    operations: dict[str, Any] = {}
    for client_event in contract.client_events:
        operations[f"receive.{client_event.name}"] = {
            "action": "receive",
            "channel": _ref(socket),
            "summary": client_event.summary or f"Handle `{client_event.name}`.",
            "messages": [_ref(f"{socket}/messages/{client_event.name}")],
            "reply": {
                "channel": _ref(socket),
                "messages": [_ref(f"{socket}/messages/{_ack(client_event.name)}")],
            },
        }
    for server_event in contract.server_events:
        if not server_event.logged:
            message_id = sent[server_event.name]
            operations[f"send.{message_id}"] = {
                "action": "send",
                "channel": _ref(socket),
                "summary": server_event.summary,
                "messages": [_ref(f"{socket}/messages/{message_id}")],
            }
    for room in contract.rooms:
        channel = f"#/channels/{_channel_id(room)}"
        operations[f"send.{_channel_id(room)}"] = {
            "action": "send",
            "channel": _ref(channel),
            "summary": f"Events to the members of room `{room.name}`.",
            "messages": [_ref(f"{channel}/messages/{sent[name]}") for name in room.carries],
        }
    return operations
