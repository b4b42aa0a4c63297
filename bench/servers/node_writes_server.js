// The write-path peer: what Mindwire does for each event, in Node (socket.io 4.8, better-sqlite3).
//
//   BENCH_SECRET=... node node_writes_server.js PORT DATABASE_FILE
//
// - every request and every socket handshake carries Mindwire's access token (HS256 JWT, the
//   same secret): the signature, `exp` and `nbf` are verified (`jsonwebtoken`), `sub` is the
//   user; there is no user table, so no revocation or admin check;
// - `POST /api/memory-logs {content}` inserts the row, its event row and its delivery room in
//   one SQLite transaction (WAL, `synchronous=FULL`: Mindwire sets no `synchronous`, so it runs
//   SQLite's default, FULL), then emits `memory_log_created (payload, meta)` to
//   `memory_logs/user_{sub}` and answers 201 with the row;
// - `POST /api/notifications {message}` stores only the event (as Mindwire does) and emits
//   `notification` to `notifications`; 202 `{event_id}`;
// - `subscribe_event {event_type}` joins `notifications` or the caller's `memory_logs` room;
// - Connection State Recovery is on: a client whose transport closed and that comes back within
//   two minutes gets its rooms and every packet it missed (`socket.recovered` on its side).
// - with BENCH_TIMING_FILE, each POST is timed as bench/servers/mindwire_timed.py times
//   Mindwire's (request parsed -> answer handed to the kernel, and `x-bench-sent` -> parsed),
//   written to that file on SIGUSR2.
"use strict";

const fs = require("fs");
const http = require("http");
const Database = require("better-sqlite3");
const jwt = require("jsonwebtoken");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 9003);
const secret = process.env.BENCH_SECRET || "bench-secret-key-that-is-long-enough-for-hs256";
const db = new Database(process.argv[3] || "node-writes.db");
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("foreign_keys = ON");
db.pragma("busy_timeout = 5000");
db.exec(`
  CREATE TABLE IF NOT EXISTS memory_logs (id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL, content TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS ix_memory_logs_user_id_id ON memory_logs (user_id, id);
  CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type TEXT NOT NULL, data TEXT NOT NULL, emitted_at TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS ix_events_emitted_at ON events (emitted_at);
  CREATE TABLE IF NOT EXISTS event_rooms (event_id INTEGER NOT NULL REFERENCES events (id),
    room TEXT NOT NULL, PRIMARY KEY (event_id, room));
  CREATE INDEX IF NOT EXISTS ix_event_rooms_room_event_id ON event_rooms (room, event_id);
`);
const insertLog = db.prepare(
  "INSERT INTO memory_logs (user_id, content, created_at, updated_at) VALUES (?, ?, ?, ?)",
);
const insertEvent = db.prepare("INSERT INTO events (event_type, data, emitted_at) VALUES (?, ?, ?)");
const insertRoom = db.prepare("INSERT INTO event_rooms (event_id, room) VALUES (?, ?)");

// One transaction: the event row and its room (and the caller's row, if any); returns the meta.
const logEvent = (eventType, payload, room, now) => {
  const eventId = Number(insertEvent.run(eventType, JSON.stringify(payload), now).lastInsertRowid);
  insertRoom.run(eventId, room);
  return { event_id: eventId, event_type: eventType, emitted_at: now };
};
const createMemoryLog = db.transaction((userId, content, now) => {
  const id = Number(insertLog.run(userId, content, now, now).lastInsertRowid);
  const payload = { id, user_id: userId, content, created_at: now, updated_at: now };
  return { payload, meta: logEvent("memory_log_created", payload, memoryRoom(userId), now) };
});
const sendNotification = db.transaction((message, now) => {
  const payload = { message, level: "info", audience: "everyone", user_id: null, created_at: now };
  return { payload, meta: logEvent("notification", payload, "notifications", now) };
});

const memoryRoom = (userId) => `memory_logs/user_${userId}`;

// The user id of a valid token, or null (bad signature, expired, not yet valid, malformed).
function userOf(token) {
  try {
    const claims = jwt.verify(token, secret, { algorithms: ["HS256"] });
    const id = Number(claims.sub);
    return Number.isInteger(id) && id > 0 ? id : null;
  } catch {
    return null;
  }
}

function answer(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function write(req, res, route) {
  const header = req.headers.authorization || "";
  const userId = header.startsWith("Bearer ") ? userOf(header.slice(7)) : null;
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    if (userId === null) return answer(res, 401, { detail: "unauthorized" });
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return answer(res, 422, { detail: "invalid JSON" });
    }
    const text = route === "memory-logs" ? body && body.content : body && body.message;
    if (typeof text !== "string" || text.length === 0) return answer(res, 422, { detail: "bad body" });
    const now = new Date().toISOString();
    if (route === "memory-logs") {
      const { payload, meta } = createMemoryLog(userId, text, now);
      io.to(memoryRoom(userId)).emit("memory_log_created", payload, meta);
      return answer(res, 201, payload);
    }
    const { payload, meta } = sendNotification(text, now);
    io.to("notifications").emit("notification", payload, meta);
    return answer(res, 202, { event_id: meta.event_id, audience: "everyone" });
  });
}

const timing = { server_ms: [], arrival_ms: [] };
function timed(req, res) {
  const began = process.hrtime.bigint();
  const sent = req.headers["x-bench-sent"];
  res.on("finish", () => {
    timing.server_ms.push(Number(process.hrtime.bigint() - began) / 1e6);
    if (sent) timing.arrival_ms.push(Number(began - BigInt(sent)) / 1e6);
  });
}
if (process.env.BENCH_TIMING_FILE) {
  process.on("SIGUSR2", () => {
    const file = process.env.BENCH_TIMING_FILE;
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(timing));
    fs.renameSync(`${file}.tmp`, file);
  });
}

const server = http.createServer((req, res) => {
  const path = req.url.split("?", 1)[0];
  if (req.method === "POST" && process.env.BENCH_TIMING_FILE) timed(req, res);
  if (req.method === "GET" && path === "/health") return answer(res, 200, { status: "ok" });
  if (req.method === "POST" && path === "/api/memory-logs") return write(req, res, "memory-logs");
  if (req.method === "POST" && path === "/api/notifications") return write(req, res, "notifications");
  res.writeHead(404).end();
});

const io = new Server(server, {
  cors: { origin: "*" },
  connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true },
});
io.use((socket, next) => {
  const userId = userOf((socket.handshake.auth && socket.handshake.auth.token) || "");
  if (userId === null) return next(new Error("unauthorized"));
  socket.data.userId = userId;
  next();
});
io.on("connection", (socket) => {
  socket.on("subscribe_event", (data, ack) => {
    const kind = data && data.event_type;
    const room = kind === "memory_logs" ? memoryRoom(socket.data.userId) : kind;
    if (room !== "notifications" && kind !== "memory_logs") {
      if (typeof ack === "function") ack({ ok: false, error: "unknown room" });
      return;
    }
    socket.join(room);
    if (typeof ack === "function") ack({ ok: true, event_type: kind, replayed: 0, complete: true });
  });
});

server.listen(port, "127.0.0.1", () => process.stdout.write(`listening on ${port}\n`));
const quit = () => {
  db.close();
  process.exit(0);
};
process.on("SIGTERM", quit);
process.on("SIGINT", quit);
