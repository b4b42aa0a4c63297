// The reference: a plain socket.io 4 server speaking the bench's protocol.
//
//   node node_server.js PORT
//
// - a client connects with `auth: {token}` (any non-empty token is accepted) and sends
//   `subscribe_event {event_type}` with an acknowledgement: the socket joins that room and is
//   acked `{ok: true, event_type, replayed: 0, complete: true}` (Mindwire's reply shape);
// - `POST /emit?room=R&count=N&start=S&t=T&pad=P` emits N `notification` events back to back to
//   room R, each `(payload, meta)` shaped like Mindwire's, and answers 202 once all are emitted.
//   T (the issuing time, load generator's clock, ms) and the sequence number ride in
//   `payload.message`; P pads it to the bench's event size.
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 9002);
const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (req.method === "GET" && url.pathname === "/health") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    return;
  }
  if (req.method === "POST" && url.pathname === "/emit") {
    req.resume();
    req.on("end", () => {
      const room = url.searchParams.get("room") || "notifications";
      const count = Number(url.searchParams.get("count") || 1);
      const start = Number(url.searchParams.get("start") || 0);
      const issued = url.searchParams.get("t") || "0";
      const pad = "x".repeat(Number(url.searchParams.get("pad") || 0));
      for (let i = 0; i < count; i++) {
        nextId += 1;
        const now = new Date().toISOString();
        io.to(room).emit(
          "notification",
          { message: `${start + i}|${issued}|${pad}`, level: "info", audience: "everyone", created_at: now },
          { event_id: nextId, event_type: "notification", emitted_at: now },
        );
      }
      res.writeHead(202, { "content-type": "application/json" }).end(`{"event_id":${nextId}}`);
    });
    return;
  }
  res.writeHead(404).end();
});

let nextId = 0;
const io = new Server(server, { cors: { origin: "*" } });
io.use((socket, next) => {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  next(token ? undefined : new Error("unauthorized"));
});
io.on("connection", (socket) => {
  socket.on("subscribe_event", (data, ack) => {
    const room = data && data.event_type;
    socket.join(room);
    if (typeof ack === "function") ack({ ok: true, event_type: room, replayed: 0, complete: true });
  });
});

server.listen(port, "127.0.0.1", () => process.stdout.write(`listening on ${port}\n`));
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
