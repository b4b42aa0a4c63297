// Unit tests (fake transport) of what outlives one connection: cursors kept across a page load,
// the log head as a first cursor, token refresh, and a session the server recovered.

import assert from "node:assert/strict";
import { test } from "node:test";

import { connect, type ConnectOptions } from "../src/client.js";
import {
  cursorPrefix,
  type CursorStore,
  MemoryCursorStore,
  StorageCursorStore,
} from "../src/cursors.js";
import type { RoomEvent } from "../src/events.js";
import { tokenClaims } from "../src/tokens.js";
import { FakeServer, FakeSocket, settle } from "./fake.js";
import { waitFor } from "./server.js";

const log = (id: number) => ({ id, user_id: 1, content: `log ${id}` });

/** An unsigned JWT-shaped token (the client only reads its claims). */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "HS256" })}.${part(claims)}.signature`;
}

function setup(server: FakeServer, options: Partial<ConnectOptions> = {}) {
  const client = connect("http://mindwire.test", {
    token: "token",
    createSocket: (_url, socketOptions) => {
      server.socket.options = socketOptions;
      return server.socket.asSocket();
    },
    ...options,
  });
  const received: RoomEvent[] = [];
  const ids = () => received.map((event) => event.meta.event_id);
  return { client, received, ids };
}

class MapStorage {
  readonly items = new Map<string, string>();
  getItem = (key: string) => this.items.get(key) ?? null;
  setItem = (key: string, value: string) => void this.items.set(key, value);
}

test("a new client on the same cursor store resumes where the last one stopped", async () => {
  const server = new FakeServer();
  const cursors: CursorStore = new MemoryCursorStore();
  const first = setup(server, { cursors });
  server.socket.open();
  await first.client.subscribe("memory_logs", (event) => first.received.push(event));
  server.publish("memory_log_created", log(1), "memory_logs");
  server.publish("memory_log_created", log(2), "memory_logs");
  first.client.close(); // the page unloads
  server.socket.connected = false;
  server.publish("memory_log_created", log(3), "memory_logs"); // while the page reloads
  assert.equal(cursors.load("memory_logs"), 2);

  server.socket = new FakeSocket(server); // the reloaded page's socket
  const second = setup(server, { cursors });
  server.socket.open();
  await second.client.subscribe("memory_logs", (event) => second.received.push(event));
  server.publish("memory_log_created", log(4), "memory_logs");
  assert.deepEqual(server.subscribes(), [{ event_type: "memory_logs", since: 2 }]);
  assert.deepEqual([first.ids(), second.ids()], [[1, 2], [3, 4]]);
});

test("an explicit since wins over the stored cursor", async () => {
  const server = new FakeServer();
  const cursors = new MemoryCursorStore();
  cursors.save("memory_logs", 7);
  const { client } = setup(server, { cursors });
  server.socket.open();
  await client.subscribe("memory_logs", () => {}, { since: 3 });
  assert.equal(client.storedCursor("memory_logs"), 7);
  assert.deepEqual(server.subscribes(), [{ event_type: "memory_logs", since: 3 }]);
});

test("session storage keys keep two users and two servers apart", () => {
  const storage = new MapStorage();
  const [alice, bob] = [jwt({ sub: "1" }), jwt({ sub: "2" })];
  const stores = [
    new StorageCursorStore(storage, cursorPrefix("http://a.test:8000/x", alice)),
    new StorageCursorStore(storage, cursorPrefix("http://a.test:8000", bob)),
    new StorageCursorStore(storage, cursorPrefix("http://b.test:8000", alice)),
  ];
  stores.forEach((store, index) => store.save("memory_logs", index + 10));
  assert.deepEqual(
    stores.map((store) => store.load("memory_logs")),
    [10, 11, 12],
  );
  assert.equal(stores[0]?.load("mental_notes"), undefined);
  storage.setItem(`${cursorPrefix("http://a.test:8000", alice)}notifications`, "nonsense");
  assert.equal(stores[0]?.load("notifications"), undefined);
});

test("subscribed with no cursor, the ack's head is the cursor", async () => {
  const server = new FakeServer();
  const cursors = new MemoryCursorStore();
  const { client } = setup(server, { cursors });
  server.socket.open();
  server.publish("memory_log_created", log(1), "memory_logs"); // before the subscription
  server.publish("mental_note_created", { id: 1, user_id: 1 }, "mental_notes");
  const ack = await client.subscribe("memory_logs", () => {});
  assert.equal(ack.head, 2);
  assert.equal(client.lastEventId("memory_logs"), 2);
  assert.equal(cursors.load("memory_logs"), 2);
  server.socket.drop();
  server.socket.open();
  await settle();
  assert.deepEqual(server.subscribes().at(-1), { event_type: "memory_logs", since: 2 });
});

test("on token_expired it refreshes, sends refresh_token, and reconnects with it", async () => {
  const server = new FakeServer();
  const asked: string[] = [];
  const refreshed: string[] = [];
  const { client } = setup(server, {
    refreshToken: async (current) => {
      asked.push(current);
      return `new-${asked.length}`;
    },
    onTokenRefreshed: (token) => refreshed.push(token),
  });
  server.socket.open();
  assert.equal(server.socket.authToken(), "token");
  server.socket.deliver("error", { code: "token_expired", message: "x", details: {} });
  await settle();
  assert.deepEqual([asked, refreshed, server.refreshed], [["token"], ["new-1"], ["new-1"]]);
  assert.equal(client.token, "new-1");
  assert.equal(server.socket.authToken(), "new-1");
  client.close();
});

test("it refreshes ahead of exp, again and again", async () => {
  const server = new FakeServer();
  const issue = () => {
    const now = Date.now() / 1000;
    return jwt({ sub: "1", iat: now, exp: now + 0.6 });
  };
  const { client } = setup(server, { token: issue(), refreshToken: async () => issue() });
  server.socket.open();
  await waitFor("three refreshes", () => server.refreshed.length >= 3, 10_000);
  const { exp } = tokenClaims(client.token);
  assert.ok(typeof exp === "number" && exp * 1000 > Date.now());
  client.close();
});

test("a refresh that fails once the token has run out is reported", async () => {
  const server = new FakeServer();
  const errors: unknown[] = [];
  const now = Date.now() / 1000;
  const { client } = setup(server, {
    token: jwt({ sub: "1", iat: now - 10, exp: now - 1 }),
    refreshToken: async () => {
      throw new Error("HTTP 401");
    },
    onTokenError: (error) => errors.push(error),
  });
  server.socket.open();
  await waitFor("the error", () => errors.length === 1);
  assert.match(String(errors[0]), /401/);
  assert.deepEqual(server.refreshed, []);
  client.close();
});

test("a new token the server refuses on the socket is reported", async () => {
  const server = new FakeServer();
  server.refuseRefresh = true;
  const errors: unknown[] = [];
  const { client } = setup(server, {
    refreshToken: async () => "someone-else",
    onTokenError: (error) => errors.push(error),
  });
  server.socket.open();
  server.socket.deliver("error", { code: "token_expired", message: "x", details: {} });
  await settle();
  assert.match(String(errors[0]), /refused/);
  client.close();
});

test("a recovered session with offsets as the last argument delivers no repeat", async () => {
  const server = new FakeServer();
  server.offsets = true;
  const { client, received, ids } = setup(server);
  server.socket.open();
  await client.subscribe("memory_logs", (event) => received.push(event));
  server.publish("memory_log_created", log(1), "memory_logs");
  server.socket.drop();
  server.publish("memory_log_created", log(2), "memory_logs");
  server.socket.open(true); // rooms kept: the server sends what was missed, then the replay
  server.send("memory_log_created", log(2), server.log[1]!.meta);
  await settle();
  server.publish("memory_log_created", log(3), "memory_logs");
  assert.equal(server.socket.recovered, true);
  assert.deepEqual(ids(), [1, 2, 3]);
  assert.ok(client.stats.duplicates >= 1);
  assert.deepEqual(received[1]?.meta, server.log[1]?.meta);
  assert.equal(client.lastEventId("memory_logs"), 3);
});
