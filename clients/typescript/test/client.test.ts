// Unit tests of the client against a fake transport (test/fake.ts).

import assert from "node:assert/strict";
import { test } from "node:test";

import { carries, connect, type ConnectOptions } from "../src/client.js";
import type { Room, RoomEvent } from "../src/events.js";
import { FakeServer, settle } from "./fake.js";

const log = (id: number, userId = 1) => ({
  id,
  user_id: userId,
  content: `log ${id}`,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
});

function setup(options: Partial<ConnectOptions> = {}) {
  const server = new FakeServer();
  const client = connect("http://mindwire.test", {
    token: "token",
    createSocket: () => server.socket.asSocket(),
    ...options,
  });
  const received: RoomEvent[] = [];
  const ids = () => received.map((event) => event.meta.event_id);
  return { server, client, received, ids };
}

test("subscribing before the connection opens sends the subscription on connect", async () => {
  const { server, client, received } = setup();
  const subscribed = client.subscribe("memory_logs", (event) => received.push(event));
  assert.equal(server.subscribes().length, 0);
  server.socket.open();
  const ack = await subscribed;
  const expected = { ok: true, event_type: "memory_logs", replayed: 0, complete: true, head: 0 };
  assert.deepEqual(ack, expected);
  assert.deepEqual(server.subscribes(), [{ event_type: "memory_logs" }]);
});

test("room events reach the handler typed, and the last event_id is kept per room", async () => {
  const { server, client, received } = setup();
  server.socket.open();
  await client.subscribe("memory_logs", (event) => {
    if (event.type === "memory_log_created") assert.equal(typeof event.payload.content, "string");
    received.push(event);
  });
  await client.subscribe("notifications", () => {});
  server.publish("memory_log_created", log(1), "memory_logs");
  server.publish("memory_log_updated", log(1), "memory_logs");
  server.publish("notification", { message: "hi" }, "notifications");
  assert.deepEqual(
    received.map((event) => [event.type, event.meta.event_id]),
    [
      ["memory_log_created", 1],
      ["memory_log_updated", 2],
    ],
  );
  assert.equal(client.lastEventId("memory_logs"), 2);
  assert.equal(client.lastEventId("notifications"), 3);
});

test("after a reconnect it resubscribes with since, replays the missed, drops repeats", async () => {
  const { server, client, received, ids } = setup();
  server.socket.open();
  await client.subscribe("memory_logs", (event) => received.push(event));
  server.publish("memory_log_created", log(1), "memory_logs");
  server.publish("memory_log_created", log(2), "memory_logs");
  server.socket.drop();
  server.publish("memory_log_created", log(3), "memory_logs"); // missed while down
  server.publish("memory_log_created", log(4), "memory_logs");
  server.repeatOne = true; // the replay repeats event 2
  server.socket.open();
  await settle();
  assert.deepEqual(server.subscribes().at(-1), { event_type: "memory_logs", since: 2 });
  assert.deepEqual(ids(), [1, 2, 3, 4]);
  assert.equal(client.stats.duplicates, 1);
  assert.equal(client.stats.replayed, 3);
  assert.equal(client.stats.resubscriptions, 1);
  assert.equal(client.lastEventId("memory_logs"), 4);
});

test("complete: false is reported to the caller", async () => {
  const incomplete: Room[] = [];
  const { server, client } = setup({ onIncomplete: (room) => incomplete.push(room) });
  server.socket.open();
  await client.subscribe("mental_notes", () => {});
  server.publish("mental_note_created", { id: 1, user_id: 1 }, "mental_notes");
  server.socket.drop();
  server.complete = false;
  server.socket.open();
  await settle();
  assert.deepEqual(incomplete, ["mental_notes"]);
});

test("events that arrive before the ack do not move since until the ack comes", async () => {
  const { server, client, received } = setup();
  server.socket.open();
  await client.subscribe("memory_logs", (event) => received.push(event));
  server.publish("memory_log_created", log(1), "memory_logs");
  server.socket.drop();
  server.manualAcks = true;
  server.socket.open(); // resubscribes with since 1; the ack is held
  server.publish("memory_log_created", log(2), "memory_logs"); // live, before the replay's ack
  await settle();
  assert.equal(client.lastEventId("memory_logs"), 1);
  server.socket.drop(); // the ack never comes
  server.manualAcks = false;
  server.socket.open();
  await settle();
  assert.deepEqual(server.subscribes().at(-1), { event_type: "memory_logs", since: 1 });
  assert.equal(client.lastEventId("memory_logs"), 2);
  assert.deepEqual(
    received.map((event) => event.meta.event_id),
    [1, 2],
  );
});

test("a live copy at or below the since asked for, before the ack, is not handed over", async () => {
  const { server, client, received } = setup();
  server.socket.open();
  server.joined.add("user_1");
  server.manualAcks = true;
  const subscribed = client.subscribe("memory_logs", (event) => received.push(event), { since: 1 });
  await settle();
  // Sent through user_1 before the server took the subscription in: event 1 is what the
  // caller already has (its since), event 2 is new.
  server.publish("memory_log_created", log(1), "user_1");
  server.publish("memory_log_created", log(2), "user_1");
  await settle();
  for (const held of server.held.splice(0)) held.request.resolve(held.ack);
  await subscribed;
  assert.deepEqual(
    received.map((event) => event.meta.event_id),
    [2],
  );
});

test("an event that came through user_{id} before its room was subscribed is handed over in order", async () => {
  const { server, client, received, ids } = setup();
  server.socket.open();
  server.joined.add("user_1");
  server.publish("memory_log_created", log(1), "memory_logs"); // not joined yet: only logged
  // The real server sends each event once per socket: this one comes through user_1 now, and
  // the memory_logs replay below skips it (the fake's replay reads memory_logs alone).
  server.publish("memory_log_created", log(2), "user_1");
  server.publish("memory_log_created", log(3), "memory_logs");
  const ack = await client.subscribe("memory_logs", (event) => received.push(event), { since: 0 });
  assert.equal(ack.replayed, 2);
  assert.deepEqual(ids(), [1, 2, 3]);
  assert.equal(client.lastEventId("memory_logs"), 3);
  server.publish("memory_log_created", log(4), "memory_logs");
  assert.deepEqual(ids(), [1, 2, 3, 4]);
});

test("a subscription from before the kept early events is reported incomplete", async () => {
  const incomplete: Room[] = [];
  const { server, client } = setup({ onIncomplete: (room) => incomplete.push(room) });
  server.socket.open();
  server.joined.add("user_1");
  for (let i = 0; i < 1_001; i += 1) {
    server.publish("user_status_changed", { user_id: 1, status: "online" }, "user_1");
  }
  await client.subscribe("memory_logs", () => {}, { since: 1 }); // event 1 was dropped: fine
  assert.deepEqual(incomplete, []);
  await client.subscribe("mental_notes", () => {}, { since: 0 }); // event 1 may be missing
  assert.deepEqual(incomplete, ["mental_notes"]);
});

test("a refused subscription rejects, is reported, and is not sent again", async () => {
  const errors: string[] = [];
  const { server, client } = setup({
    onSubscribeError: (room, error) => errors.push(`${room}:${error.code}`),
  });
  server.refuse = "admin";
  server.socket.open();
  await assert.rejects(client.subscribe("admin", () => {}), /forbidden/);
  assert.deepEqual(errors, ["admin:forbidden"]);
  server.socket.drop();
  server.socket.open();
  await settle();
  assert.equal(server.subscribes().length, 1);
});

test("without a head in the ack, a quiet room resumes from the newest event seen", async () => {
  const { server, client } = setup();
  server.noHead = true; // a server before gap-free snapshots
  server.socket.open();
  server.joined.add("user_1");
  server.publish("user_status_changed", { user_id: 1, status: "online" }, "user_1");
  await client.subscribe("notifications", () => {});
  server.socket.drop();
  server.socket.open();
  await settle();
  assert.deepEqual(server.subscribes().at(-1), { event_type: "notifications", since: 1 });
});

test("a user room gets only that user's events", () => {
  assert.equal(carries("user_1", "memory_log_created", log(1, 1)), true);
  assert.equal(carries("user_1", "memory_log_created", log(1, 2)), false);
  assert.equal(carries("user_1", "notification", { message: "x" }), true);
  assert.equal(carries("memory_logs", "notification", { message: "x" }), false);
  assert.equal(carries("nowhere", "memory_log_created", log(1)), false);
});

test("a throwing handler does not stop delivery", async () => {
  const failures: unknown[] = [];
  const { server, client } = setup({ onHandlerError: (error) => failures.push(error) });
  server.socket.open();
  const handled: number[] = [];
  await client.subscribe("memory_logs", (event) => {
    handled.push(event.meta.event_id);
    if (event.meta.event_id === 1) throw new Error("boom");
  });
  server.publish("memory_log_created", log(1), "memory_logs");
  server.publish("memory_log_created", log(2), "memory_logs");
  assert.deepEqual(handled, [1, 2]);
  assert.equal(failures.length, 1);
  assert.equal(client.lastEventId("memory_logs"), 2);
});
