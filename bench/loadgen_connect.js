// The `connect-*` load generator: `clients` sockets start connecting at the same moment, each
// subscribing to `notifications` once connected; how long until every one is subscribed.
//
//   node loadgen_connect.js @config.json
//
// Lines on stdout, each followed by a wait for a word on stdin (bench/run.py samples the
// server's CPU and memory in between):
//   {"phase": "ready"}       loaded, nothing connected yet; waits for "go"
//   {"phase": "subscribed"}  every client is connected and subscribed (or progress stopped for
//                            `stallSeconds`): the figures; waits for "end", then leaves
// A client behaves as socket.io-client does with its defaults: a connection attempt that has
// no answer within `timeout` (20 s) fails; a failed attempt, a refused subscription or a
// dropped connection is tried again after 1 s doubling up to 5 s, each +-50% (its backoff).
"use strict";

const { io } = require("socket.io-client");
const { clock, out, options, line, percentile } = require("./lib");

const opts = options({
  url: "http://127.0.0.1:9000",
  clients: 100,
  room: "notifications",
  tokens: ["bench"],
  timeout: 20000, // socket.io-client's default connect timeout
  stallSeconds: 60,
});

const counts = { connect_errors: 0, connect_timeouts: 0, subscribe_errors: 0, drops: 0, retries: 0 };
const errorReasons = {};
const subscribedAt = new Float64Array(opts.clients);
let subscribed = 0;
let progress = 0;
let onAll = null;
let t0 = 0;

// socket.io-client's reconnection delays: 1 s, doubling up to 5 s, each randomized by +-50%.
function backoff() {
  let attempts = 0;
  return () => Math.min(5000, 1000 * 2 ** attempts++) * (0.5 + Math.random());
}

function client(i) {
  const socket = io(opts.url, {
    transports: ["websocket"],
    auth: { token: opts.tokens[i % opts.tokens.length] },
    reconnection: false,
    forceNew: true,
    timeout: opts.timeout,
  });
  const state = { subscribed: false, again: backoff() };
  const retry = (what) => {
    counts.retries += 1;
    setTimeout(what, state.again());
  };
  const subscribe = () =>
    socket.emit("subscribe_event", { event_type: opts.room }, (ack) => {
      if (!socket.connected || state.subscribed) return;
      if (!(ack && ack.ok)) {
        counts.subscribe_errors += 1;
        return retry(subscribe);
      }
      state.subscribed = true;
      subscribed += 1;
      progress += 1;
      if (!subscribedAt[i]) subscribedAt[i] = clock() - t0;
      if (subscribed === opts.clients && onAll) onAll();
    });
  socket.on("connect", subscribe);
  socket.on("connect_error", (err) => {
    const reason = String(err && err.message);
    if (reason === "timeout") counts.connect_timeouts += 1;
    else counts.connect_errors += 1;
    errorReasons[reason] = (errorReasons[reason] || 0) + 1;
    retry(() => socket.connect());
  });
  socket.on("disconnect", (reason) => {
    if (reason === "io client disconnect") return; // the end of the run
    counts.drops += 1;
    errorReasons[`drop: ${reason}`] = (errorReasons[`drop: ${reason}`] || 0) + 1;
    if (state.subscribed) subscribed -= 1;
    state.subscribed = false;
    retry(() => socket.connect());
  });
  return socket;
}

// Resolves true when every client is subscribed, false when nothing progressed for a while.
function allSubscribed() {
  return new Promise((resolve) => {
    let seen = -1;
    const timer = setInterval(() => {
      if (progress === seen) {
        clearInterval(timer);
        resolve(false);
      }
      seen = progress;
    }, opts.stallSeconds * 1000);
    onAll = () => {
      clearInterval(timer);
      resolve(true);
    };
  });
}

async function main() {
  out({ phase: "ready" });
  await line("go");
  const cpu0 = process.cpuUsage();
  t0 = clock();
  const done = allSubscribed();
  const sockets = [];
  for (let i = 0; i < opts.clients; i++) sockets.push(client(i));
  const complete = await done;
  const allS = (clock() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const times = Float64Array.from(subscribedAt.filter((t) => t > 0)).sort();
  out({
    phase: "subscribed",
    clients: opts.clients,
    subscribed,
    stalled: !complete,
    all_subscribed_s: complete ? allS : null,
    p50_subscribed_s: times.length ? percentile(times, 50) / 1000 : null,
    ...counts,
    error_reasons: errorReasons,
    gen_cpu_s: (cpu.user + cpu.system) / 1e6,
  });
  await line("end");
  for (const s of sockets) s.disconnect();
  setTimeout(() => process.exit(0), 200);
}

main().catch((err) => {
  out({ phase: "error", error: String(err && err.message ? err.message : err) });
  process.exit(1);
});
