"""The AsyncAPI document: valid for the official parser, complete, and the same everywhere."""

from __future__ import annotations

import json

from src.contract import asyncapi_document, build_contract
from src.events.rooms import ROOM_EVENTS
from src.events.schemas import ErrorCode, EventType
from tests.contract.conftest import Validate
from tests.support import run_mindwire


def test_the_official_parser_finds_no_error(validate_asyncapi: Validate):
    report = validate_asyncapi(json.loads(run_mindwire("asyncapi").stdout))
    errors = [d for d in report["diagnostics"] if d["severity"] == "Error"]
    assert errors == []
    assert report["errors"] == 0
    # Anything else is advice (today: "asyncapi-latest-version", as 3.0.0 is asked for).
    assert {d["severity"] for d in report["diagnostics"]} <= {"Information", "Hint"}


async def test_the_served_document_is_the_printed_one(client):
    served = (await client.get("/asyncapi.json")).json()
    printed = run_mindwire("asyncapi")
    assert printed.returncode == 0, printed.stderr
    assert served == json.loads(printed.stdout)


def test_every_event_is_a_message_with_its_payload_schema():
    document = asyncapi_document(build_contract())
    messages = document["components"]["messages"]
    schemas = document["components"]["schemas"]
    for event in EventType:
        assert messages[event]["name"] == event
        ref = messages[event]["payload"]["$ref"]
        assert ref.removeprefix("#/components/schemas/") in schemas
    assert messages["memory_log_created"]["headers"] == {"$ref": "#/components/schemas/EventMeta"}
    assert "headers" not in messages["pong"]  # one-socket events have no meta


def test_client_events_are_received_and_answered_with_their_ack():
    document = asyncapi_document(build_contract())
    operation = document["operations"]["receive.subscribe_event"]
    assert operation["action"] == "receive"
    assert operation["reply"]["messages"] == [
        {"$ref": "#/channels/socket/messages/subscribe_event.ack"}
    ]
    ack = document["components"]["messages"]["subscribe_event.ack"]["payload"]
    assert ack == {
        "oneOf": [
            {"$ref": "#/components/schemas/SubscribeAck"},
            {"$ref": "#/components/schemas/ErrorAck"},
        ]
    }
    assert document["components"]["schemas"]["ErrorCode"]["enum"] == [c.value for c in ErrorCode]


def test_rooms_are_channels_with_who_may_join_and_what_they_carry():
    document = asyncapi_document(build_contract())
    channels = document["channels"]
    user_rooms = channels["room.user_id"]
    assert user_rooms["address"] == "user_{id}"
    assert set(user_rooms["parameters"]) == {"id"}
    assert channels["room.admin"]["x-mindwire-access"] == "admins only"
    assert channels["room.memory_logs"]["x-mindwire-scoped"] is True
    for room, events in ROOM_EVENTS.items():
        channel = channels["room." + room.replace("{", "").replace("}", "")]
        assert set(channel["messages"]) == set(events)
        operation = document["operations"]["send.room." + room.replace("{", "").replace("}", "")]
        assert operation["action"] == "send"
