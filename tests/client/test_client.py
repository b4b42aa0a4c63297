"""`MindwireClient` against a live server over real sockets: typed payloads, refused rooms,
`complete: false` after retention cut a gap, token refresh, and arguments past `meta`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from itertools import count

import httpx
import pytest

from src.client import ConnectError, MindwireClient, RoomEvent, SubscribeError
from src.core.security import create_access_token
from src.events.schemas import (
    ErrorCode,
    ErrorEvent,
    EventType,
    MemoryLogDeletedEvent,
    MemoryLogEvent,
    MentalNoteEvent,
    SubscribeAck,
    UserStatusChangedEvent,
)
from tests.client.support import Gate, Tally, drop_network
from tests.support import Clock, use_clock, wait_until


def collect(events: list[RoomEvent]):
    return events.append


async def test_handlers_receive_the_payload_models_of_the_schemas(live_server, api, alice):
    logs: list[RoomEvent] = []
    notes: list[RoomEvent] = []
    async with MindwireClient(live_server.url, token=alice.token) as client:
        ack = await client.subscribe("memory_logs", collect(logs))
        assert isinstance(ack, SubscribeAck)
        assert (ack.event_type, ack.replayed, ack.complete) == ("memory_logs", 0, True)
        await client.subscribe("mental_notes", collect(notes))
        created = await api.post("/api/memory-logs", json={"content": "a"}, headers=alice.headers)
        log_id = created.json()["id"]
        await api.post("/api/mental-notes", json={"title": "t"}, headers=alice.headers)
        await api.delete(f"/api/memory-logs/{log_id}", headers=alice.headers)
        await wait_until("three events", lambda: len(logs) == 2 and len(notes) == 1)
        assert client.user_id == alice.id

    created_event, deleted_event = logs
    assert created_event.type == EventType.MEMORY_LOG_CREATED
    assert isinstance(created_event.payload, MemoryLogEvent)
    assert created_event.payload.content == "a"
    assert created_event.payload.created_at.tzinfo is not None
    assert isinstance(deleted_event.payload, MemoryLogDeletedEvent)
    assert isinstance(notes[0].payload, MentalNoteEvent)
    assert notes[0].payload.title == "t"
    assert created_event.event_id < notes[0].event_id < deleted_event.event_id
    assert client.last_event_id("memory_logs") is None  # closed: no subscriptions left


def is_busy(event: RoomEvent) -> bool:
    return isinstance(event.payload, UserStatusChangedEvent) and event.payload.status == "busy"


async def test_a_user_room_hands_every_event_it_carries_to_one_async_handler(
    live_server, api, alice
):
    """`user_{id}` carries logs, notes and statuses; `memory_logs`, unsubscribed, gets none."""
    mine: list[RoomEvent] = []
    logs: list[RoomEvent] = []

    async def on_mine(event: RoomEvent) -> None:  # awaits: the order must hold all the same
        await asyncio.sleep(0)
        mine.append(event)

    async with MindwireClient(live_server.url, token=alice.token) as client:
        await client.subscribe(f"user_{alice.id}", on_mine)
        await client.subscribe("memory_logs", collect(logs))
        await client.unsubscribe("memory_logs")
        await api.post("/api/memory-logs", json={"content": "a"}, headers=alice.headers)
        await api.post("/api/mental-notes", json={"title": "t"}, headers=alice.headers)
        await api.put("/api/users/me/status", json={"status": "busy"}, headers=alice.headers)
        # The status event is the last one written: the events before it have surely arrived.
        await wait_until("the status", lambda: any(is_busy(event) for event in mine))
        assert client.last_event_id(f"user_{alice.id}") == mine[-1].event_id

    # The connect's own `online` status may come first, depending on when it was subscribed.
    assert [type(event.payload) for event in mine[-3:]] == [
        MemoryLogEvent,
        MentalNoteEvent,
        UserStatusChangedEvent,
    ]
    assert [event.event_id for event in mine] == sorted(event.event_id for event in mine)
    assert logs == []  # the log came on the socket (through user_{id}), not to memory_logs


@pytest.mark.parametrize(
    ("room", "code"),
    [("admin", ErrorCode.FORBIDDEN), ("user_{other}", ErrorCode.FORBIDDEN)]
    + [("no_such_room", ErrorCode.UNKNOWN_ROOM)],
)
async def test_a_refused_room_raises_a_subscribe_error_and_the_client_carries_on(
    live_server, api, alice, bob, room, code
):
    errors: list[ErrorEvent] = []
    room = room.format(other=bob.id)
    async with MindwireClient(live_server.url, token=alice.token, on_error=errors.append) as client:
        with pytest.raises(SubscribeError) as refused:
            await client.subscribe(room, collect([]))
        assert refused.value.code == code and refused.value.room == room
        assert room in str(refused.value) and code in str(refused.value)
        assert client.last_event_id(room) is None

        logs: list[RoomEvent] = []
        await client.subscribe("memory_logs", collect(logs))
        await api.post("/api/memory-logs", json={"content": "still"}, headers=alice.headers)
        await wait_until("the log", lambda: len(logs) == 1)
    assert [(error.code, error.event) for error in errors] == [(code, "subscribe_event")]


async def test_on_incomplete_fires_when_retention_cut_the_gap(live_server_factory, alice):
    retention = 60
    server = live_server_factory(event_retention_seconds=retention)
    clock = Clock()
    await use_clock(server, clock)
    incomplete: list[tuple[str, SubscribeAck]] = []
    logs: list[RoomEvent] = []
    gate = Gate(alice.token)
    client = MindwireClient(
        server.url, token=gate, on_incomplete=lambda room, ack: incomplete.append((room, ack))
    )
    async with client, httpx.AsyncClient(base_url=server.url, headers=alice.headers) as http:
        await client.subscribe("memory_logs", collect(logs))
        await http.post("/api/memory-logs", json={"content": "seen"})
        await wait_until("the first log", lambda: len(logs) == 1)
        gate.open.clear()  # the reconnect waits for its token
        await drop_network(client)
        await wait_until("the drop", lambda: not client.connected)
        await http.post("/api/memory-logs", json={"content": "written while away"})
        clock.advance(retention + 1)  # that event leaves the retention window
        gate.open.set()
        await wait_until("the resubscription's ack", lambda: incomplete != [])

    [(room, ack)] = incomplete
    assert room == "memory_logs" and ack.complete is False
    assert [event.payload.content for event in logs] == ["seen"]  # type: ignore[attr-defined]


async def test_a_refused_token_raises_a_connect_error_with_the_server_s_reason(live_server):
    client = MindwireClient(live_server.url, token="not-a-token")
    with pytest.raises(ConnectError) as refused:
        await client.connect()
    assert refused.value.reason == "unauthorized"
    await client.close()


async def test_an_expired_token_is_refreshed_from_the_token_callable(
    live_server_factory, settings, alice
):
    grace = 1.0
    server = live_server_factory(token_refresh_grace_seconds=grace)
    ttls = count()

    def token() -> str:  # a 2 s token to connect, then an hour's
        ttl = 2 if next(ttls) == 0 else 3600
        return create_access_token(alice.id, secret_key=settings.secret_key, ttl_seconds=ttl)

    errors: list[ErrorEvent] = []
    tally = Tally()
    async with (
        MindwireClient(server.url, token=token, on_error=errors.append) as client,
        httpx.AsyncClient(base_url=server.url, headers=alice.headers) as http,
    ):
        await client.subscribe("memory_logs", tally.handler("memory_logs"))
        await wait_until("the refresh", lambda: client.stats.token_refreshes == 1)
        assert [error.code for error in errors] == [ErrorCode.TOKEN_EXPIRED]
        # Past the first token's grace, the socket is the same one and still receives.
        await asyncio.sleep(grace + 1)
        response = await http.post("/api/memory-logs", json={"content": "after the grace"})
        await wait_until("the log", lambda: sum(tally.received.values()) == 1)
        assert client.connected and client.stats.connects == 1
    assert tally.received == {f"memory_log_created:{response.json()['id']}": 1}


async def test_arguments_after_meta_are_ignored(live_server, alice):
    """A server that adds a Connection State Recovery offset sends one more argument."""
    logs: list[RoomEvent] = []
    errors: list[ErrorEvent] = []
    client = MindwireClient(live_server.url, token=alice.token, on_error=errors.append)
    async with client:
        await client.subscribe("memory_logs", collect(logs))
        now = datetime.now(UTC).isoformat()
        payload = {"id": 1, "user_id": alice.id, "content": "x", "created_at": now}
        meta = {"event_id": 10**9, "event_type": "memory_log_created", "emitted_at": now}
        sio, sid = live_server.services.sockets.sio, client.sio.get_sid()
        for event, args in [
            ("memory_log_created", (payload, meta, "offset-1")),
            ("memory_log_created", (payload, meta, "offset-1")),  # a repeat
            ("error", ({"code": "rate_limited", "message": "m"}, "offset-2")),
        ]:
            await live_server.run_on_server(sio.emit(event, args, to=sid))
        # The error came last on the same socket: everything before it has been handled.
        await wait_until("the error", lambda: len(errors) == 1 and len(logs) == 1)
        assert client.stats.duplicates == 1
    assert logs[0].event_id == 10**9 and isinstance(logs[0].payload, MemoryLogEvent)
    assert errors[0].code == ErrorCode.RATE_LIMITED


async def test_a_log_that_arrived_before_its_room_was_subscribed_is_handed_over_once(
    live_server, api, alice
):
    """Load a list, write, then subscribe from the list's position: the log's event reached the
    socket through `user_{id}` first, so the server does not replay it; the client kept it."""
    logs: list[RoomEvent] = []
    notes: list[RoomEvent] = []
    async with MindwireClient(live_server.url, token=alice.token) as client:
        await client.subscribe("mental_notes", collect(notes))
        listed = await api.get("/api/memory-logs", headers=alice.headers)
        position = listed.json()["position"]
        created = await api.post("/api/memory-logs", json={"content": "a"}, headers=alice.headers)
        await api.post("/api/mental-notes", json={"title": "barrier"}, headers=alice.headers)
        # Events reach a socket in id order: with the note here, the log came before it.
        await wait_until("the barrier note", lambda: len(notes) == 1)
        ack = await client.subscribe("memory_logs", collect(logs), since=position)
        await wait_until("the log", lambda: len(logs) >= 1)
        await api.post("/api/mental-notes", json={"title": "second barrier"}, headers=alice.headers)
        await wait_until("the second barrier note", lambda: len(notes) == 2)

    assert ack.replayed == 0  # the server had sent it once already
    assert ack.complete
    assert [event.payload.id for event in logs] == [created.json()["id"]]  # type: ignore[attr-defined]
