// What the write and storm load generators share: options, the line protocol with bench/run.py,
// REST writes (timed, retried on 503), and the per-client check that every event arrives once
// and in order.
"use strict";

const http = require("http");
const fs = require("fs");
const { io } = require("socket.io-client");

// Milliseconds on CLOCK_MONOTONIC, the clock every process of the machine shares: an event's
// issue time, stamped by the triggers' process, is compared with its arrival in the clients'.
const clock = () => Number(process.hrtime.bigint()) / 1e6;
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// Options: defaults, overridden by argv[2] (JSON, or @file holding JSON).
function options(defaults) {
  const arg = process.argv[2] || "{}";
  const text = arg.startsWith("@") ? fs.readFileSync(arg.slice(1), "utf8") : arg;
  return Object.assign({}, defaults, JSON.parse(text));
}

let stdinText = "";
const stdinWaiters = [];
process.stdin.on("data", (chunk) => {
  stdinText += chunk;
  for (const waiter of stdinWaiters.splice(0)) waiter();
});

// Resolves once `word` has come as a line on stdin (the orchestrator's go-ahead).
function line(word) {
  return new Promise((resolve) => {
    const check = () => {
      if (stdinText.split("\n").includes(word)) resolve();
      else stdinWaiters.push(check);
    };
    check();
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// REST writes to one server; `latencies` holds request sent -> response end, per 2xx write
// (a 503 "retry shortly" is retried after 50 ms and its wait counts in the latency). With
// `stamp`, each request carries `x-bench-sent`: CLOCK_MONOTONIC in ns as it is sent (what a
// timed server compares with its own reading of the same clock).
class Writer {
  constructor(url, maxSockets, stamp = false) {
    this.stamp = stamp;
    this.target = new URL(url);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
    this.latencies = [];
    this.errors = 0;
    this.retries = 0;
  }

  // POST `body` (an object) to `path` with the bearer `token`; resolves when answered.
  post(path, body, token) {
    const started = clock();
    const payload = JSON.stringify(body);
    const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
    const attempt = (n, resolve) => {
      if (this.stamp) headers["x-bench-sent"] = process.hrtime.bigint().toString();
      const req = http.request(
        { host: this.target.hostname, port: this.target.port, path, method: "POST", agent: this.agent, headers },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 503 && n < 20) {
              this.retries += 1;
              return setTimeout(() => attempt(n + 1, resolve), 50);
            }
            if (res.statusCode >= 300) this.errors += 1;
            else this.latencies.push(clock() - started);
            resolve();
          });
        },
      );
      req.on("error", () => {
        this.errors += 1;
        resolve();
      });
      req.end(payload);
    };
    return new Promise((resolve) => attempt(0, resolve));
  }

  stats() {
    const sorted = Float64Array.from(this.latencies).sort();
    return {
      writes_ok: sorted.length,
      write_errors: this.errors,
      write_retries: this.retries,
      write_p50_ms: percentile(sorted, 50),
      write_p99_ms: percentile(sorted, 99),
    };
  }
}

// The two write routes: what to post, which event it makes, which room carries it.
const ROUTES = {
  "memory-logs": {
    path: "/api/memory-logs",
    body: (t) => ({ content: t }),
    event: "memory_log_created",
    text: (payload) => payload.content,
    room: "memory_logs",
  },
  notifications: {
    path: "/api/notifications",
    body: (t) => ({ message: t, audience: "everyone" }),
    event: "notification",
    text: (payload) => payload.message,
    room: "notifications",
  },
};

// A socket.io-client socket (WebSocket only) that feeds `route`'s events to `tally` for
// `state`; resolves once connected and subscribed. No automatic reconnection: the storm
// scenario decides when to come back.
function subscriber(url, token, route, tally, state) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ["websocket"],
      auth: { token },
      reconnection: false,
      forceNew: true,
      timeout: 120000,
    });
    socket.on(route.event, (payload, meta) => tally.receive(state, route.text(payload), meta));
    socket.once("connect_error", (err) => reject(new Error(`connect: ${err.message}`)));
    socket.once("connect", () => {
      socket.emit("subscribe_event", { event_type: route.room }, (ack) => {
        if (ack && ack.ok) resolve(socket);
        else reject(new Error(`subscribe refused: ${JSON.stringify(ack)}`));
      });
    });
  });
}

// Connects `count` subscribers in waves of `wave`; `make(i)` returns one's promise.
async function inWaves(count, wave, make) {
  const all = [];
  for (let i = 0; i < count; i += wave) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + wave); j++) batch.push(make(j));
    all.push(...(await Promise.all(batch)));
  }
  return all;
}

// The events the bench writes carry "SEQ|ISSUED_AT|padding" as their text.
const text = (seq, pad) => `${seq}|${clock().toFixed(3)}|${"x".repeat(pad)}`;

// Counts, across clients, what each one receives: every SEQ in [0, events) exactly once, with
// `meta.event_id` strictly increasing (event-id order is the order Mindwire promises).
class Tally {
  constructor(clients, events) {
    this.clients = clients;
    this.events = events;
    this.delivered = 0;
    this.duplicates = 0;
    this.outOfOrder = 0;
    this.complete = 0;
    this.lastArrival = 0;
    this.latencies = [];
    this.onComplete = null;
  }

  client() {
    return { count: 0, lastId: -1, seen: new Uint8Array(this.events) };
  }

  receive(state, message, meta) {
    const now = clock();
    const bar = message.indexOf("|");
    const seq = +message.slice(0, bar);
    if (!(seq >= 0 && seq < this.events) || state.seen[seq]) {
      this.duplicates += 1;
      return;
    }
    state.seen[seq] = 1;
    if (!(meta && meta.event_id > state.lastId)) this.outOfOrder += 1;
    state.lastId = meta ? meta.event_id : state.lastId;
    state.count += 1;
    this.delivered += 1;
    this.lastArrival = now;
    this.latencies.push(now - +message.slice(bar + 1, message.indexOf("|", bar + 1)));
    if (state.count === this.events) {
      this.complete += 1;
      if (this.complete === this.clients && this.onComplete) this.onComplete();
    }
  }

  // Resolves when every client has every event, or when nothing arrived for `stallSeconds`.
  settled(stallSeconds) {
    return new Promise((resolve) => {
      if (this.complete === this.clients) return resolve(false);
      let seen = -1;
      const timer = setInterval(() => {
        if (this.delivered === seen) {
          clearInterval(timer);
          resolve(true);
        }
        seen = this.delivered;
      }, stallSeconds * 1000);
      this.onComplete = () => {
        clearInterval(timer);
        resolve(false);
      };
    });
  }

  stats() {
    const expected = this.clients * this.events;
    const sorted = Float64Array.from(this.latencies).sort();
    return {
      clients: this.clients,
      events: this.events,
      expected,
      delivered: this.delivered,
      lost: expected - this.delivered,
      duplicates: this.duplicates,
      out_of_order: this.outOfOrder,
      delivery_p50_ms: percentile(sorted, 50),
      delivery_p99_ms: percentile(sorted, 99),
    };
  }
}

// `config.events` REST writes to `config.route` by `config.writers` writers, each sending its next
// once the last is answered: {...Writer stats, write_s, writes_per_s}. `stamp`: see Writer.
async function writeAll(config, stamp = false) {
  const route = ROUTES[config.route];
  const writer = new Writer(config.url, config.writers, stamp);
  const t0 = clock();
  let next = 0;
  const worker = async () => {
    while (next < config.events) {
      const seq = next++;
      await writer.post(route.path, route.body(text(seq, config.pad)), config.writerToken);
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.writers, config.events) }, worker));
  const writeS = (clock() - t0) / 1000;
  return { ...writer.stats(), write_s: writeS, writes_per_s: writer.latencies.length / writeS };
}

module.exports = { clock, out, options, line, percentile, Writer, Tally, text, ROUTES, subscriber, inWaves, writeAll };
