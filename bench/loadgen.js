// The bench's load generator: N socket.io-client sockets (WebSocket transport) in one process.
//
//   node loadgen.js '{"url": "...", "target": "mindwire|bare|node", "clients": 1000, ...}'
//   node loadgen.js @config.json
//
// Protocol with the orchestrator (bench/run.py): prints one JSON object per line on stdout.
//   {"phase": "warm", ...}   (when `warm` > 0) the first `warm` clients are connected and
//                            subscribed; then waits for a line "more" on stdin (the
//                            orchestrator samples the server's memory: what the first
//                            connections cost once, imports and caches, is not per connection)
//   {"phase": "ready", ...}  every client is connected and subscribed; then waits for a line
//                            "go" on stdin (the orchestrator samples the server's memory and CPU)
//   {"phase": "done", ...}   every client has every event (or progress stopped): the results
//
// Every event carries "SEQ|ISSUED_AT|padding" in `payload.message`, ISSUED_AT being the time
// (ms, CLOCK_MONOTONIC: `lib.js`'s `clock`, shared by every process) when the triggers' process
// asked for the event: latency = arrival - ISSUED_AT, all on one clock. Each client checks that it receives every SEQ in [0, events) exactly once, and in
// order: `meta.event_id` strictly increases (event-id order is the delivery order Mindwire
// promises; concurrent REST writes may commit in another order than their SEQ).
"use strict";

const { fork } = require("child_process");
const path = require("path");
const { io } = require("socket.io-client");
const { clock, out, options, line, percentile } = require("./lib");
const { fire } = require("./loadgen_trigger");

const opts = options({
  url: "http://127.0.0.1:9000",
  target: "node", // "mindwire": one POST /api/notifications per event; else POST /emit
  clients: 10,
  events: 10,
  mode: "burst", // or "steady": `rate` events per second
  rate: 100,
  room: "notifications",
  pad: 16,
  concurrency: 8, // mindwire burst: REST writes in flight at once
  tokens: ["bench"],
  adminToken: "bench",
  connectWave: 250,
  warm: 0, // clients connected before the "warm" line
  stallSeconds: 10,
  triggersApart: true,
});

const N = opts.clients;
const E = opts.events;
const latencies = new Float64Array(N * E);
let nLat = 0;
let delivered = 0;
let duplicates = 0;
let outOfOrder = 0;
let doneClients = 0;
let lastArrival = 0;
// TCP reads (the 'data' chunks of each client's socket) and their bytes: how many WebSocket
// frames the kernel hands the client per read, and what a delivery weighs on the wire.
let reads = 0;
let readBytes = 0;
let counting = false;
let finish = null;
let t0 = 0;
const BIN_MS = 100;
const arrivalsPerBin = [];
const triggersPerBin = [];
const bin = (series, now) => {
  const i = Math.max(0, Math.floor((now - t0) / BIN_MS));
  series[i] = (series[i] || 0) + 1;
};
const sockets = [];

function connectOne(i) {
  return new Promise((resolve, reject) => {
    const socket = io(opts.url, {
      transports: ["websocket"],
      auth: { token: opts.tokens[i % opts.tokens.length] },
      reconnection: false,
      forceNew: true,
      timeout: 120000,
    });
    const state = { count: 0, lastId: -1, seen: new Uint8Array(E) };
    socket.on("notification", (payload, meta) => {
      const now = clock();
      const message = payload.message;
      const bar = message.indexOf("|");
      const seq = +message.slice(0, bar);
      const issued = +message.slice(bar + 1, message.indexOf("|", bar + 1));
      if (!(seq >= 0 && seq < E) || state.seen[seq]) {
        duplicates += 1;
        return;
      }
      state.seen[seq] = 1;
      // Delivery order is event-id order (with concurrent writers it differs from SEQ's).
      if (!(meta && meta.event_id > state.lastId)) outOfOrder += 1;
      state.lastId = meta ? meta.event_id : state.lastId;
      state.count += 1;
      delivered += 1;
      lastArrival = now;
      bin(arrivalsPerBin, now);
      if (nLat < latencies.length) latencies[nLat++] = now - issued;
      if (state.count === E) {
        doneClients += 1;
        if (doneClients === N && finish) finish();
      }
    });
    socket.once("connect_error", (err) => reject(new Error(`client ${i}: ${err.message}`)));
    socket.once("connect", () => {
      const raw = socket.io.engine.transport.ws && socket.io.engine.transport.ws._socket;
      if (raw) {
        raw.on("data", (chunk) => {
          if (!counting) return;
          reads += 1;
          readBytes += chunk.length;
        });
      }
      socket.emit("subscribe_event", { event_type: opts.room }, (ack) => {
        if (ack && ack.ok) resolve(socket);
        else reject(new Error(`client ${i}: subscribe refused: ${JSON.stringify(ack)}`));
      });
    });
    sockets.push(socket);
  });
}

// The triggers: in a child process (`loadgen_trigger.js`, forked before "go"), or with
// `triggersApart: false` in this one, as before (their answers then wait behind the deliveries
// this loop parses).
function triggers() {
  if (!opts.triggersApart) {
    return { go: () => fire(opts).then((done) => ({ ...done, cpu_s: 0 })) };
  }
  const child = fork(path.join(__dirname, "loadgen_trigger.js"), [], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const done = new Promise((resolve, reject) => {
    child.once("message", (message) => resolve(message.done));
    child.once("exit", (code) => reject(new Error(`triggers exited with ${code}`)));
  });
  return { go: () => (child.send({ go: opts }), done) };
}

async function connectRange(from, to) {
  for (let i = from; i < to; i += opts.connectWave) {
    const wave = [];
    for (let j = i; j < Math.min(to, i + opts.connectWave); j++) wave.push(connectOne(j));
    await Promise.all(wave);
  }
}

// `cpuProfile`: a V8 CPU profile of this process from "go" to the last delivery, written to
// that path (what --cpu-prof would give, without the connects, and kept though the
// orchestrator kills the generator once it has its results).
async function startProfile() {
  const inspector = require("inspector");
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 100 }); // µs: ~10 samples per ms
  await post("Profiler.start");
  return {
    stop: async (file) => {
      const { profile } = await post("Profiler.stop");
      require("fs").writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

async function main() {
  const warm = Math.max(0, Math.min(opts.warm, N));
  if (warm > 0) {
    await connectRange(0, warm);
    out({ phase: "warm", connected: warm });
    await line("more");
  }
  const connectStart = clock();
  await connectRange(warm, N);
  const firing = triggers();
  out({ phase: "ready", connected: N, connect_s: (clock() - connectStart) / 1000 });
  await line("go");
  const profile = opts.cpuProfile ? await startProfile() : null;
  const cpu0 = process.cpuUsage();
  t0 = clock();
  counting = true;
  const allIn = new Promise((resolve) => {
    finish = resolve;
    if (doneClients === N) resolve();
  });
  const fired = await firing.go();
  const triggersDone = fired.answered.length ? Math.max(...fired.answered) : clock();
  for (const at of fired.answered) bin(triggersPerBin, at);
  // Wait for every delivery, or until nothing arrived for `stallSeconds`.
  let stalled = false;
  await Promise.race([
    allIn,
    new Promise((resolve) => {
      let seen = -1;
      const timer = setInterval(() => {
        if (delivered === seen) {
          stalled = true;
          clearInterval(timer);
          resolve();
        }
        seen = delivered;
      }, opts.stallSeconds * 1000);
      allIn.then(() => clearInterval(timer));
    }),
  ]);
  const own = process.cpuUsage(cpu0);
  if (profile) await profile.stop(opts.cpuProfile);
  const cpu = { user: own.user + 1e6 * fired.cpu_s, system: own.system };
  const sorted = latencies.slice(0, nLat).sort();
  const duration = ((lastArrival || clock()) - t0) / 1000;
  const expected = N * E;
  out({
    phase: "done",
    target: opts.target,
    mode: opts.mode,
    clients: N,
    events: E,
    expected,
    delivered,
    lost: expected - delivered,
    duplicates,
    out_of_order: outOfOrder,
    stalled,
    trigger_errors: fired.errors,
    trigger_retries: fired.retries,
    triggers_apart: Boolean(opts.triggersApart),
    trigger_s: (triggersDone - t0) / 1000,
    duration_s: duration,
    deliveries_per_s: delivered / duration,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted.length ? sorted[sorted.length - 1] : null,
    gen_cpu_s: (cpu.user + cpu.system) / 1e6,
    gen_us_per_delivery: (cpu.user + cpu.system) / Math.max(delivered, 1),
    reads,
    deliveries_per_read: delivered / Math.max(reads, 1),
    bytes_per_delivery: readBytes / Math.max(delivered, 1),
    // per 100 ms from the first trigger: deliveries, and trigger requests answered
    timeline: { bin_ms: BIN_MS, deliveries: Array.from(arrivalsPerBin, (v) => v || 0), triggers: Array.from(triggersPerBin, (v) => v || 0) },
  });
  for (const s of sockets) s.disconnect();
  setTimeout(() => process.exit(0), 200);
}

main().catch((err) => {
  out({ phase: "error", error: String(err && err.message ? err.message : err) });
  process.exit(1);
});
