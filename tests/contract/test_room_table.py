"""`ROOM_EVENTS` (what the contract says) agrees with where the emitters really send events."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from src.events.emitters import EventEmitter
from src.events.rooms import ROOM_EVENTS, USER_ROOMS, RoomPolicy

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class RecordingService:
    """Stands in for `SocketService`: records the delivery rooms of each published event."""

    def __init__(self) -> None:
        self.rooms = RoomPolicy()
        self.sent: dict[str, set[str]] = defaultdict(set)

    async def publish(self, event_type: str, _payload: Any, rooms: list[str], **_: Any) -> None:
        self.sent[str(event_type)].update(rooms)


def subscription_room(delivery_room: str) -> str:
    """`memory_logs/user_7` -> `memory_logs`; `user_7` -> `user_{id}`."""
    room = delivery_room.split("/", 1)[0]
    return USER_ROOMS if room.startswith("user_") else room


async def test_every_room_event_goes_to_the_rooms_the_table_names():
    service = RecordingService()
    emitter = EventEmitter(service)  # type: ignore[arg-type]
    log = {"id": 1, "user_id": 7, "content": "x", "created_at": NOW}
    note = {"id": 1, "user_id": 7, "title": "x", "created_at": NOW}
    await emitter.emit_memory_log_created(log)
    await emitter.emit_memory_log_updated(log)
    await emitter.emit_memory_log_deleted(1, 7)
    await emitter.emit_mental_note_created(note)
    await emitter.emit_mental_note_updated(note)
    await emitter.emit_mental_note_deleted(1, 7)
    await emitter.emit_user_status_changed({"user_id": 7, "status": "online", "changed_at": NOW})
    for audience in ("everyone", "admins", "user"):
        await emitter.emit_notification("hi", audience=audience, user_id=7)  # type: ignore[arg-type]

    table: dict[str, set[str]] = defaultdict(set)
    for room, events in ROOM_EVENTS.items():
        for event in events:
            table[str(event)].add(room)
    sent = {event: set(map(subscription_room, rooms)) for event, rooms in service.sent.items()}
    assert sent == table
