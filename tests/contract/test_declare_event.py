"""A server -> client event declared once, in this module only: `memory_log_pinned`.

From its one declaration it gets a payload model in the lookup the generators read, rows in the
room table, the emitter's routing (to `memory_logs`, scoped per user, and `user_{id}`), a place
in the AsyncAPI document, the TypeScript types and the docs table, with no edit to
`rooms.py`, `emitters.py` or a hand-kept list.
"""

from __future__ import annotations

from enum import StrEnum

from src.contract import asyncapi_document, build_contract, events_table, typescript_source
from src.events.catalog import MEMORY_LOGS, USER_ROOMS, room_event
from src.events.emitters import EventEmitter
from src.events.rooms import RoomPolicy
from src.events.schemas import EVENTS, EventModel, UTCTimestamp
from tests.barrier import settle


class PinEvent(StrEnum):
    MEMORY_LOG_PINNED = "memory_log_pinned"


class MemoryLogPinnedEvent(EventModel):
    id: int
    user_id: int
    pinned_at: UTCTimestamp


# The whole declaration.
WITH_PIN = EVENTS.with_(
    room_event(PinEvent.MEMORY_LOG_PINNED, MemoryLogPinnedEvent, MEMORY_LOGS, USER_ROOMS)
)
PINNED = "memory_log_pinned"


def test_the_declaration_gives_the_payload_lookup_and_the_room_table():
    assert WITH_PIN.payloads()[PinEvent.MEMORY_LOG_PINNED] is MemoryLogPinnedEvent
    table = WITH_PIN.room_events()
    assert PINNED in table[MEMORY_LOGS] and PINNED in table[USER_ROOMS]
    assert all(
        PINNED not in events
        for room, events in table.items()
        if room not in {MEMORY_LOGS, USER_ROOMS}
    )
    assert PINNED not in EVENTS  # the built-in declarations are untouched
    carries = RoomPolicy.for_events(WITH_PIN).carries
    assert PINNED in carries[MEMORY_LOGS] and PINNED not in carries["admin"]


def test_the_declaration_reaches_asyncapi_typescript_and_the_docs_table():
    contract = build_contract(events=WITH_PIN)
    [event] = [e for e in contract.server_events if e.name == PINNED]
    assert event.member == "MEMORY_LOG_PINNED" and event.rooms == (MEMORY_LOGS, USER_ROOMS)
    document = asyncapi_document(contract)
    assert set(document["channels"]["room.memory_logs"]["messages"]) >= {PINNED}
    assert document["components"]["messages"][PINNED]["headers"] == {
        "$ref": "#/components/schemas/EventMeta"
    }
    source = typescript_source(contract)
    assert f"  {PINNED}: (payload: MemoryLogPinnedEvent, meta: EventMeta) => void;" in source
    row = next(line for line in events_table(contract).splitlines() if f"`{PINNED}`" in line)
    assert "`MemoryLogPinnedEvent` `{id, user_id, pinned_at}`" in row
    assert "`memory_logs`, `user_{id}`, with `meta`" in row


async def test_the_emitter_routes_the_declared_event(live_server, connect, api, alice, bob, admin):
    """Delivered like any memory log event: to the owner and admins in `memory_logs`, logged
    with `meta`; another user subscribed to `memory_logs` gets nothing."""
    owner, other, watcher = await connect(alice), await connect(bob), await connect(admin)
    for sock in (owner, other, watcher):
        assert (await sock.call("subscribe_event", {"event_type": MEMORY_LOGS}))["ok"] is True
    emitter = EventEmitter(live_server.services.socket_service, WITH_PIN)
    pin = {"id": 3, "user_id": alice.id, "pinned_at": "2026-01-01T00:00:00Z"}

    meta = await live_server.run_on_server(emitter.emit(PINNED, pin))
    for sock in (owner, watcher):
        [event] = await sock.wait_for(PINNED)
        assert event.data == pin
        assert event.meta["event_id"] == meta.event_id and event.meta["event_type"] == PINNED
    await settle(connect, api, admin, other)
    assert other.events(PINNED) == []

    # logged for the owner's scope and user room: a resubscription replays it
    late = await connect(alice)
    ack = await late.call(
        "subscribe_event", {"event_type": MEMORY_LOGS, "since": meta.event_id - 1}
    )
    assert ack["ok"] is True and ack["replayed"] >= 1
    [replayed] = await late.wait_for(PINNED)
    assert replayed.meta["event_id"] == meta.event_id
