// End to end: the typed client and the official socket.io-client against a real `mindwire serve`.
// Events are created through REST live, around a server crash and restart, and around a network
// drop; every one must reach the handler exactly once.

import assert from "node:assert/strict";
import { test } from "node:test";

import { connect, type MindwireClient } from "../src/client.js";
import type { MemoryLogEvent, MentalNoteEvent, Room, RoomEvent } from "../src/events.js";
import { startE2E, waitFor } from "./server.js";

const RECONNECT_MS = 1_000;

test("no event is missed or repeated across a server restart and a network drop", {
  timeout: 180_000,
}, async (t) => {
  const run = await startE2E(t, "e2e");
  if (run === undefined) return;
  const { server, api } = run;
  let client: MindwireClient | undefined;
  try {
    const token = await api.signUp(`e2e-${Date.now()}@example.com`, "correct-horse-battery");

    const sent = new Map<string, string>(); // "event_type:id" -> phase
    const received = new Map<string, number>(); // "event_type:id" -> times handed over
    const incomplete: Room[] = [];
    let connects = 0;
    let sentWhileDisconnected = 0;

    client = connect(server.url, {
      token,
      onIncomplete: (room) => incomplete.push(room),
      socketOptions: {
        reconnectionDelay: RECONNECT_MS,
        reconnectionDelayMax: RECONNECT_MS,
        randomizationFactor: 0,
      },
    });
    const socket = client.socket;
    socket.on("connect", () => (connects += 1));
    const onEvent = (event: RoomEvent<"memory_logs"> | RoomEvent<"mental_notes">): void => {
      const key = `${event.type}:${event.payload.id}`;
      received.set(key, (received.get(key) ?? 0) + 1);
      assert.equal(event.meta.event_type, event.type);
    };
    await client.subscribe("memory_logs", onEvent);
    await client.subscribe("mental_notes", onEvent);

    // Typed acks over the official client.
    const pong = await socket.timeout(5_000).emitWithAck("ping", { timestamp: 42 });
    assert.ok("timestamp" in pong && pong.timestamp === 42);

    const expect = (type: string, id: number, phase: string): void => {
      sent.set(`${type}:${id}`, phase);
      if (!socket.connected) sentWhileDisconnected += 1;
    };
    const createLog = async (phase: string): Promise<MemoryLogEvent> => {
      const body = { content: phase };
      const log = await api.call<MemoryLogEvent>("POST", "/api/memory-logs", body, 201);
      expect("memory_log_created", log.id, phase);
      return log;
    };
    const createNote = async (phase: string): Promise<MentalNoteEvent> => {
      const body = { title: phase };
      const note = await api.call<MentalNoteEvent>("POST", "/api/mental-notes", body, 201);
      expect("mental_note_created", note.id, phase);
      return note;
    };
    const allReceived = (): boolean => [...sent.keys()].every((key) => received.has(key));

    // 1. Live.
    const log = await createLog("live");
    const note = await createNote("live");
    for (let i = 0; i < 5; i += 1) {
      await createLog("live");
      await createNote("live");
    }
    await api.call("PATCH", `/api/memory-logs/${log.id}`, { content: "edited" });
    expect("memory_log_updated", log.id, "live");
    // Not the newest note: SQLite may hand the newest row's id out again once it is deleted.
    await api.call("DELETE", `/api/mental-notes/${note.id}`, undefined, 204);
    expect("mental_note_deleted", note.id, "live");
    await waitFor("the live events", allReceived);

    // 2. A crash mid-stream: writes answered just before the kill may not have gone out yet.
    const beforeRestart = client.stats.replayed;
    await Promise.all([createLog("crash"), createNote("crash"), createLog("crash")]);
    await server.kill();
    await waitFor("the client to notice", () => !socket.connected);
    await server.start();
    // The reconnect window: the server is back, the client has not reconnected yet.
    const connectsBefore = connects;
    for (let i = 0; i < 3; i += 1) {
      await createLog("restart window");
      await createNote("restart window");
    }
    await waitFor("the reconnect after the restart", () => connects > connectsBefore);
    await createLog("after restart");
    await createNote("after restart");
    await waitFor("the events around the restart", allReceived);
    const replayedRestart = client.stats.replayed - beforeRestart;

    // 3. A network drop: the transport closes under the client, which reconnects by itself.
    const beforeDrop = client.stats.replayed;
    const connectsBeforeDrop = connects;
    socket.io.engine.close();
    for (let i = 0; i < 3; i += 1) {
      await createLog("network drop");
      await createNote("network drop");
    }
    await waitFor("the reconnect after the drop", () => connects > connectsBeforeDrop);
    await createLog("after drop");
    await waitFor("the events around the drop", allReceived);
    const replayedDrop = client.stats.replayed - beforeDrop;

    // Late repeats would arrive within moments: give them the chance before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const missed = [...sent.keys()].filter((key) => !received.has(key));
    const repeated = [...received].filter(([, times]) => times > 1).map(([key]) => key);
    const unexpected = [...received.keys()].filter((key) => !sent.has(key));
    const figures =
      `events sent ${sent.size}, received ${received.size}, missed ${missed.length}, ` +
      `repeated ${repeated.length}, unexpected ${unexpected.length}; ` +
      `sent while disconnected ${sentWhileDisconnected}; replayed after the restart ` +
      `${replayedRestart}, after the network drop ${replayedDrop}; repeats dropped by the client ` +
      `${client.stats.duplicates}; resubscriptions ${client.stats.resubscriptions}`;
    t.diagnostic(figures);
    console.log(`e2e figures: ${figures}`);

    assert.deepEqual(missed, []);
    assert.deepEqual(repeated, []);
    assert.deepEqual(unexpected, []);
    assert.deepEqual(incomplete, []);
    assert.ok(replayedDrop >= 6, `the drop's 6 events are replayed (${replayedDrop})`);
    assert.ok(client.stats.resubscriptions >= 4, "both rooms resubscribed after each reconnect");
  } catch (error) {
    console.error(`mindwire serve output:\n${server.log}`);
    throw error;
  } finally {
    client?.close();
    await run.stop();
  }
});
