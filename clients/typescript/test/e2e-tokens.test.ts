// End to end: with 4-second access tokens, the typed client refreshes its token itself
// (`POST /api/auth/refresh`, then `refresh_token` on the live socket) and stays connected across
// several expiries, receiving every event written meanwhile exactly once.

import assert from "node:assert/strict";
import { test } from "node:test";

import { connect, type MindwireClient } from "../src/client.js";
import type { ErrorEvent, MemoryLogEvent } from "../src/events.js";
import { tokenClaims } from "../src/tokens.js";
import { startE2E, waitFor } from "./server.js";

const TTL_SECONDS = 4;
const EXPIRIES = 3;

test("the client stays connected across token expiries and misses no event", {
  timeout: 120_000,
}, async (t) => {
  const run = await startE2E(t, "e2e-tokens", {
    ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS),
    TOKEN_REFRESH_GRACE_SECONDS: "2",
  });
  if (run === undefined) return;
  const { server, api } = run;
  let client: MindwireClient | undefined;
  try {
    const first = await api.signUp(`tokens-${Date.now()}@example.com`, "correct-horse-battery");
    const tokens = [first];
    const errors: ErrorEvent[] = [];
    const tokenErrors: unknown[] = [];
    let [connects, disconnects] = [0, 0];

    client = connect(server.url, {
      token: first,
      onTokenRefreshed: (token) => {
        tokens.push(token);
        api.token = token; // the REST calls below use the newest token too
      },
      onTokenError: (error) => tokenErrors.push(error),
    });
    const socket = client.socket;
    socket.on("connect", () => (connects += 1));
    socket.on("disconnect", () => (disconnects += 1));
    socket.on("error", (error) => errors.push(error));
    const received = new Map<number, number>(); // log id -> times handed over
    await client.subscribe("memory_logs", (event) => {
      const id = (event.payload as MemoryLogEvent).id;
      received.set(id, (received.get(id) ?? 0) + 1);
    });

    // Write events until the first token has long expired, several times over.
    const sent: number[] = [];
    const until = (tokenClaims(first).exp as number) * 1000 + (EXPIRIES - 1) * TTL_SECONDS * 1000;
    while (Date.now() < until + 500) {
      const log = await api.call<MemoryLogEvent>("POST", "/api/memory-logs", { content: "x" }, 201);
      sent.push(log.id);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // A barrier: the last write's event arrives after every earlier one.
    await waitFor("every event", () => sent.every((id) => received.has(id)));

    const missed = sent.filter((id) => !received.has(id));
    const repeated = [...received].filter(([, times]) => times > 1);
    const figures =
      `ttl ${TTL_SECONDS}s, tokens used ${tokens.length}, events sent ${sent.length}, ` +
      `received ${received.size}, missed ${missed.length}, repeated ${repeated.length}, ` +
      `connects ${connects}, disconnects ${disconnects}, token_expired errors ` +
      `${errors.filter((e) => e.code === "token_expired").length}`;
    t.diagnostic(figures);
    console.log(`e2e token figures: ${figures}`);

    assert.ok(tokens.length >= EXPIRIES + 1, `refreshed at least ${EXPIRIES} times`);
    assert.equal(new Set(tokens).size, tokens.length, "every refresh gives a new token");
    assert.deepEqual(tokenErrors, []);
    assert.deepEqual(errors, []);
    assert.equal(connects, 1);
    assert.equal(disconnects, 0);
    assert.ok(socket.connected);
    assert.deepEqual(missed, []);
    assert.deepEqual(repeated, []);
    // The server took the last refreshed token: the socket outlived every earlier one.
    const pong = await socket.timeout(5_000).emitWithAck("ping", { timestamp: 7 });
    assert.ok("timestamp" in pong && pong.timestamp === 7);
  } catch (error) {
    console.error(`mindwire serve output:\n${server.log}`);
    throw error;
  } finally {
    client?.close();
    await run.stop();
  }
});
