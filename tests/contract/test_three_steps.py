"""Adding an event stays three steps, all in this module: a name and payload model, a handler,
an emitter call. The new event is validated, routed, emitted, listed in the AsyncAPI document
and typed in the generated TypeScript, with no edit to the core modules."""

from __future__ import annotations

import json
import os
import subprocess
from enum import StrEnum
from pathlib import Path
from typing import Any

from src.contract import build_contract, typescript_source
from src.events.handlers import EventHandlerRegistry, HandlerContext
from src.events.rooms import RoomPolicy
from src.events.schemas import EVENT_PAYLOADS, EventMeta, EventModel, SocketEvent, UTCTimestamp
from src.events.socket_handlers import register_all_handlers
from tests.contract.conftest import Validate


# Step 1: the event's name and payload.
class TaskEvent(StrEnum):
    TASK_COMPLETED = "task_completed"


class TaskCompletedEvent(EventModel):
    """A task, done."""

    task_id: int
    user_id: int
    completed_at: UTCTimestamp


TASKS = "tasks"
PAYLOADS = {**EVENT_PAYLOADS, TaskEvent.TASK_COMPLETED: TaskCompletedEvent}


# Step 3: the emitter call (a `SocketEvent`, to the `tasks` room).
async def emit_task_completed(context: HandlerContext, task: Any) -> EventMeta | None:
    payload = TaskCompletedEvent.model_validate(task)
    event = SocketEvent(
        event_type=TaskEvent.TASK_COMPLETED, data=payload.model_dump(mode="json"), room=TASKS
    )
    return await context.socket_service.emit_event(event)


# Step 2: the handler.
def register_task_handlers(registry: EventHandlerRegistry) -> None:
    @registry.register(TaskEvent.TASK_COMPLETED, payload=TaskCompletedEvent, ack=TaskCompletedEvent)
    async def handle_task_completed(
        _sid: str, data: TaskCompletedEvent, context: HandlerContext
    ) -> TaskCompletedEvent:
        """Mark a task done and tell the `tasks` room."""
        await emit_task_completed(context, data)
        return data


def allow_tasks(rooms: RoomPolicy) -> None:
    rooms.allow(TASKS, carries=[TaskEvent.TASK_COMPLETED])


async def test_the_new_event_is_validated_routed_emitted_and_described(
    live_server, connect, api, alice, bob, validate_asyncapi: Validate
):
    register_task_handlers(live_server.services.registry)
    allow_tasks(live_server.services.rooms)
    sender, watcher = await connect(alice), await connect(bob)
    assert (await watcher.call("subscribe_event", {"event_type": TASKS}))["ok"] is True

    # validated: a bad payload never reaches the handler
    refused = await sender.call("task_completed", {"task_id": "seven"})
    assert refused["ok"] is False and refused["error"]["code"] == "validation_error"
    [error] = await sender.wait_for("error")
    assert error.data["event"] == "task_completed" and error.data["details"]

    # routed (the handler answers the ack) and emitted (to the room, logged, with meta)
    task = {"task_id": 7, "user_id": alice.id, "completed_at": "2026-01-01T00:00:00Z"}
    assert await sender.call("task_completed", task) == task
    [event] = await watcher.wait_for("task_completed")
    assert event.data == task
    assert event.meta["event_type"] == "task_completed" and event.meta["event_id"] > 0
    assert sender.events("task_completed") == []  # alice did not subscribe to `tasks`

    # listed in the app's AsyncAPI document, which the official parser still accepts
    document = (await api.get("/asyncapi.json")).json()
    messages = document["components"]["messages"]
    task_ref = {"$ref": "#/components/schemas/TaskCompletedEvent"}
    assert messages["task_completed"]["payload"] == task_ref  # received from clients
    assert messages["task_completed.sent"]["payload"] == task_ref  # sent to the room
    assert messages["task_completed.sent"]["headers"] == {"$ref": "#/components/schemas/EventMeta"}
    assert document["components"]["schemas"]["TaskCompletedEvent"]["required"] == [
        "task_id",
        "user_id",
        "completed_at",
    ]
    assert document["operations"]["receive.task_completed"]["summary"] == (
        "Mark a task done and tell the `tasks` room."
    )
    assert "task_completed.ack" in document["channels"]["socket"]["messages"]
    assert list(document["channels"]["room.tasks"]["messages"]) == ["task_completed.sent"]
    assert validate_asyncapi(document)["errors"] == 0


def contract_with_tasks():
    registry = EventHandlerRegistry()
    register_all_handlers(registry)
    register_task_handlers(registry)
    rooms = RoomPolicy()
    allow_tasks(rooms)
    return build_contract(registry, rooms, PAYLOADS)


def test_the_new_event_is_typed_in_the_generated_typescript():
    source = typescript_source(contract_with_tasks())
    assert "export interface TaskCompletedEvent {\n  task_id: number;" in source
    assert "  task_completed: (payload: TaskCompletedEvent, meta: EventMeta) => void;" in source
    assert "  task_completed: TaskCompletedEvent | ErrorAck;" in source  # the ack
    assert '  tasks: ["task_completed"],' in source
    assert '| "tasks"' in source or '"tasks" |' in source  # the Room union


USAGE = """\
import type { Socket } from "socket.io-client";
import type { ClientToServerEvents, RoomEvent, ServerToClientEvents } from "./events.js";

export function use(socket: Socket<ServerToClientEvents, ClientToServerEvents>): void {
  socket.on("task_completed", (task, meta) => {
    const id: number = task.task_id;
    const eventId: number = meta.event_id;
    void [id, eventId];
  });
  socket.emit("task_completed", { task_id: 1, user_id: 2, completed_at: "now" }, (ack) => {
    const done: number | string = "error" in ack ? ack.error.code : ack.task_id;
    void done;
  });
  // @ts-expect-error: task_id is a number
  socket.emit("task_completed", { task_id: "1", user_id: 2, completed_at: "now" }, () => {});
  const event: RoomEvent<"tasks"> = {
    type: "task_completed",
    payload: { task_id: 1, user_id: 2, completed_at: "now" },
    meta: { event_id: 1, event_type: "task_completed", emitted_at: "now" },
  };
  void event;
}
"""


def test_the_generated_typescript_compiles_with_socket_io_client(
    typescript_client: Path, tmp_path: Path
):
    """tsc --strict accepts the types with socket.io-client's typed Socket, and rejects misuse."""
    (tmp_path / "events.ts").write_text(typescript_source(contract_with_tasks()))
    (tmp_path / "use.ts").write_text(USAGE)
    (tmp_path / "package.json").write_text(json.dumps({"type": "module"}))
    os.symlink(typescript_client / "node_modules", tmp_path / "node_modules")
    tsc = typescript_client / "node_modules" / ".bin" / "tsc"
    options = ["--strict", "--noEmit", "--target", "es2022", "--module", "nodenext"]
    result = subprocess.run(
        [str(tsc), *options, "--types", "node", "events.ts", "use.ts"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
