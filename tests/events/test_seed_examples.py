"""The patterns and the three-step example of src/events/README.md, run against the real code."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from src.events.emitters import EventEmitter
from src.events.handlers import EventHandlerRegistry, HandlerContext
from src.events.rooms import Viewer
from src.events.schemas import EventType, SocketEvent
from src.events.socket_handlers import register_all_handlers


@pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")
async def test_emit_memory_log_created_like_the_seed(live_server, connect, alice):
    """`EventEmitter(socket_service).emit_memory_log_created({...})` reaches the owner."""
    sock = await connect(alice)
    await sock.call("subscribe_event", {"event_type": "memory_logs"})

    async def emit():
        emitter = EventEmitter(live_server.services.socket_service)
        return await emitter.emit_memory_log_created(
            {"id": 1, "user_id": alice.id, "content": "Test", "created_at": datetime.utcnow()}
        )

    meta = await live_server.run_on_server(emit())
    [event] = await sock.wait_for("memory_log_created")
    assert event.data["content"] == "Test"
    assert event.data["updated_at"] == event.data["created_at"]
    assert event.meta["event_id"] == meta.event_id


async def test_dispatch_ping_through_the_registry_like_the_seed(live_server, connect, alice):
    """`registry.handle_event('ping', sid, {'timestamp': 123}, context)` answers pong."""
    sock = await connect(alice)
    sid = sock.sio.get_sid()

    async def dispatch():
        services = live_server.services
        registry = EventHandlerRegistry(logging.getLogger("test"))
        register_all_handlers(registry, services.sockets.sio)
        context = HandlerContext(
            sid=sid,
            viewer=Viewer(alice.id),
            socket_service=services.socket_service,
            emitter=services.emitter,
            sessionmaker=services.sessionmaker,
            logger=registry.logger,
        )
        return await registry.handle_event("ping", sid, {"timestamp": 123}, context)

    ack = await live_server.run_on_server(dispatch())
    assert ack["timestamp"] == 123
    [pong] = await sock.wait_for("pong")
    assert pong.data["timestamp"] == 123


class TaskCompletedEvent(BaseModel):
    task_id: int
    user_id: int
    completed_at: datetime


async def test_custom_event_in_custom_room_like_the_seed_step_3(live_server, connect, alice):
    """A new event sent with `SocketEvent(..., room="tasks")` reaches the room's subscribers."""
    live_server.services.rooms.allow("tasks")
    sock = await connect(alice)
    assert (await sock.call("subscribe_event", {"event_type": "tasks"}))["ok"] is True

    done = datetime(2026, 1, 1, tzinfo=UTC)

    async def emit():
        event = SocketEvent(
            event_type="task_completed",
            # model_dump() without mode="json", as a first try often does: datetimes included.
            data=TaskCompletedEvent(task_id=7, user_id=alice.id, completed_at=done).model_dump(),
            room="tasks",
        )
        return await live_server.services.socket_service.emit_event(event)

    meta = await live_server.run_on_server(emit())
    [event] = await sock.wait_for("task_completed")
    assert event.data == {"task_id": 7, "user_id": alice.id, "completed_at": "2026-01-01T00:00:00Z"}
    assert event.meta == {**event.meta, "event_id": meta.event_id, "event_type": "task_completed"}


async def test_direct_to_client_like_the_seed_pattern_3(live_server, connect, alice):
    sock = await connect(alice)
    event = SocketEvent(
        event_type=EventType.NOTIFICATION,
        data={"message": "just you", "level": "info", "audience": "user", "created_at": "x"},
        sid=sock.sio.get_sid(),
    )
    result = await live_server.run_on_server(live_server.services.socket_service.emit_event(event))
    assert result is None  # direct events are not logged
    [item] = await sock.wait_for("notification")
    assert item.data["message"] == "just you" and item.meta is None
