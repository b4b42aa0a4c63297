// Compile-time checks of the generated types with socket.io-client's typed Socket: `npm test`
// builds with tsc first, so a wrong type fails the run before any test executes.

import assert from "node:assert/strict";
import { test } from "node:test";

import type { MindwireSocket } from "../src/client.js";
import {
  type ErrorAck,
  type ErrorCode,
  type EventMeta,
  type MemoryLogEvent,
  type PongEvent,
  type Room,
  type RoomEvent,
  type RoomEventTypeOf,
  type ServerToClientEvents,
  type SubscribeAck,
  ERROR_CODES,
  EVENT_TYPES,
  ROOM_EVENT_TYPES,
  roomEventTypes,
} from "../src/events.js";

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(value: Equal<A, B>): Equal<A, B> => value;

// Room events are (payload, meta); one-socket events have no meta.
same<Parameters<ServerToClientEvents["memory_log_created"]>, [MemoryLogEvent, EventMeta]>(true);
same<Parameters<ServerToClientEvents["pong"]>, [PongEvent]>(true);
same<RoomEventTypeOf<"notifications">, "notification">(true);
same<RoomEvent<"memory_logs">["type"], RoomEventTypeOf<"memory_logs">>(true);

// Never called: only compiled, so tsc checks the typed Socket against the generated maps.
export async function typedSocketUsage(socket: MindwireSocket): Promise<void> {
  const pong = await socket.emitWithAck("ping", { timestamp: 1 });
  same<typeof pong, PongEvent | ErrorAck>(true);
  const ack = await socket.emitWithAck("subscribe_event", {
    event_type: "memory_logs",
    since: 3,
  });
  if (ack.ok) same<typeof ack, SubscribeAck>(true);
  else same<typeof ack.error.code, ErrorCode>(true);
  socket.on("memory_log_created", (log, meta) => {
    same<typeof log.content, string>(true);
    same<typeof meta.event_id, number>(true);
  });
  // @ts-expect-error: ping's timestamp is a number
  socket.emit("ping", { timestamp: "now" }, () => {});
  // @ts-expect-error: no such client event
  socket.emit("no_such_event", {});
  const room: Room = "user_42";
  // @ts-expect-error: not a room
  const wrong: Room = "users";
  void [pong, room, wrong];
}

test("the generated names are consistent", () => {
  assert.ok(ROOM_EVENT_TYPES.every((type) => (EVENT_TYPES as readonly string[]).includes(type)));
  assert.ok(ERROR_CODES.includes("validation_error"));
  assert.deepEqual(roomEventTypes("notifications"), ["notification"]);
  assert.ok(roomEventTypes("user_7").includes("memory_log_created"));
  assert.deepEqual(roomEventTypes("user_x"), []);
});
