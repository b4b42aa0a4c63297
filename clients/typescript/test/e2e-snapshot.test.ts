// End to end: a list read through REST while logs are being written, then `loadThenSubscribe`
// from the list's position. Every log is in the list or arrives as an event, never both.

import assert from "node:assert/strict";
import { test } from "node:test";

import { connect, type MindwireClient } from "../src/client.js";
import type { MemoryLogEvent } from "../src/events.js";
import { loadThenSubscribe } from "../src/snapshot.js";
import { type E2ERun, startE2E, waitFor } from "./server.js";

const WRITES = 40;

/** A new user's client, connected. */
async function signedInClient(run: E2ERun, prefix: string): Promise<MindwireClient> {
  const email = `${prefix}-${Date.now()}@example.com`;
  const token = await run.api.signUp(email, "correct-horse-battery");
  const client = connect(run.server.url, { token });
  await waitFor("the connection", () => client.socket.connected);
  return client;
}

test("a list and the events after its position meet without a gap or a repeat", {
  timeout: 120_000,
}, async (t) => {
  const run = await startE2E(t, "e2e-snapshot");
  if (run === undefined) return;
  const { server, api } = run;
  let client: MindwireClient | undefined;
  try {
    client = await signedInClient(run, "snapshot");

    const written: number[] = [];
    const writer = (async () => {
      for (let i = 0; i < WRITES; i += 1) {
        const body = { content: `log ${i}` };
        written.push((await api.call<MemoryLogEvent>("POST", "/api/memory-logs", body, 201)).id);
      }
    })();
    await waitFor("the first writes", () => written.length >= WRITES / 4);

    const created = new Map<number, number>(); // log id -> times its created event arrived
    type Page = { items: MemoryLogEvent[]; position: number };
    const load = () => api.call<Page>("GET", "/api/memory-logs?limit=100");
    const { list, ack } = await loadThenSubscribe(client, "memory_logs", load, (event) => {
      if (event.type !== "memory_log_created") return;
      created.set(event.payload.id, (created.get(event.payload.id) ?? 0) + 1);
    });
    await writer;
    const listed = new Set(list.items.map((log) => log.id));
    // A barrier: the newest write's event arrives after every earlier one.
    const newest = Math.max(...written);
    if (!listed.has(newest)) await waitFor("the last event", () => created.has(newest));

    const missing = written.filter((id) => !listed.has(id) && !created.has(id));
    const both = written.filter((id) => listed.has(id) && created.has(id));
    const repeated = [...created].filter(([, times]) => times > 1);
    const figures =
      `written ${written.length}, in the list ${listed.size} (position ${list.position}), ` +
      `as events ${created.size} (replayed ${ack.replayed}), missing ${missing.length}, ` +
      `in both ${both.length}, repeated ${repeated.length}`;
    t.diagnostic(figures);
    console.log(`e2e snapshot figures: ${figures}`);
    assert.deepEqual(missing, []);
    assert.deepEqual(both, []);
    assert.deepEqual(repeated, []);
    assert.ok(listed.size > 0 && created.size > 0, "the writes overlapped the list");
  } catch (error) {
    console.error(`mindwire serve output:\n${server.log}`);
    throw error;
  } finally {
    client?.close();
    await run.stop();
  }
});

test("a log written after the list but before the subscription arrives once", {
  timeout: 60_000,
}, async (t) => {
  // The socket is in user_{id} from its connect, so the server sends it this log's event before
  // memory_logs is subscribed, and the replay from the list's position then skips it: the
  // client must hand it over from what it kept.
  const run = await startE2E(t, "e2e-snapshot-early");
  if (run === undefined) return;
  const { server, api } = run;
  let client: MindwireClient | undefined;
  try {
    client = await signedInClient(run, "early");
    const arrived: number[] = [];
    client.socket.onAny((event: string, _payload: unknown, meta: { event_id?: number }) => {
      if (event === "memory_log_created" && typeof meta?.event_id === "number") {
        arrived.push(meta.event_id);
      }
    });
    type Page = { items: MemoryLogEvent[]; position: number };
    const list = await api.call<Page>("GET", "/api/memory-logs?limit=100");
    const log = await api.call<MemoryLogEvent>("POST", "/api/memory-logs", { content: "x" }, 201);
    await waitFor("the event through user_{id}", () => arrived.some((id) => id > list.position));
    const created: number[] = [];
    const ack = await client.subscribe(
      "memory_logs",
      (event) => {
        if (event.type === "memory_log_created") created.push(event.payload.id);
      },
      { since: list.position },
    );
    assert.equal(ack.replayed, 0, "the server sent it once, through user_{id}");
    assert.deepEqual(created, [log.id]);
  } catch (error) {
    console.error(`mindwire serve output:\n${server.log}`);
    throw error;
  } finally {
    client?.close();
    await run.stop();
  }
});
