// The `storm` load generator: `clients` subscribed sockets lose their transports at once,
// `events` are written while they are away, then all reconnect together and resume.
//
//   node loadgen_storm.js @config.json
//
// Lines on stdout, each followed by a wait for a word on stdin (bench/run.py samples the
// server's CPU and counters in between):
//   {"phase": "ready"}  every client is subscribed and has the first event (seq 0), so it has a
//                       last event id (Mindwire) and a recovery offset (Node); waits for "go"
//   {"phase": "away"}   every transport is closed and the missed events are written; "back"
//   {"phase": "done"}   every client has every missed event, once and in order (or stalled)
// Coming back: Mindwire's clients send `subscribe_event` with `since` (the last id seen); Node's
// rely on socket.io's Connection State Recovery (`socket.recovered`), and resubscribe when it
// says no (their missed events are then lost, and counted so).
"use strict";

const { clock, out, options, line, Writer, Tally, text, ROUTES, subscriber, inWaves } = require("./lib");

const opts = options({
  url: "http://127.0.0.1:9000",
  target: "mindwire", // or "node"
  clients: 100,
  events: 20,
  pad: 16,
  writers: 8,
  writerToken: "bench", // an admin
  tokens: ["bench"],
  connectWave: 250,
  stallSeconds: 30, // longer than a refused connection's wait (the database pool's 10 s)
});

const route = ROUTES.notifications;
const tally = new Tally(opts.clients, opts.events + 1);
const counts = { recovered: 0, not_recovered: 0, connect_errors: 0, subscribe_errors: 0, drops: 0 };
const dropReasons = {}; // why the dropped connections were closed, as socket.io-client says
let connected = 0;
let onAllConnected = null;

// After the storm's reconnect: resume the subscription, then count the client in.
function resume(socket, state) {
  const counted = () => {
    if (state.back) return; // resumed before, then dropped and back again
    state.back = true;
    connected += 1;
    if (connected === opts.clients && onAllConnected) onAllConnected();
  };
  if (opts.target === "node" && socket.recovered) {
    if (!state.back) counts.recovered += 1;
    return counted();
  }
  if (opts.target === "node" && !state.back) counts.not_recovered += 1;
  const again = backoff();
  const subscribe = () =>
    socket.emit("subscribe_event", { event_type: route.room, since: state.lastId }, (ack) => {
      if (ack && ack.ok) return counted();
      counts.subscribe_errors += 1;
      setTimeout(subscribe, again());
    });
  subscribe();
}

// The delays before each next try, as socket.io-client's own reconnection spaces them: 1 s,
// doubling up to 5 s, each randomized by +-50% (its defaults).
function backoff() {
  let attempts = 0;
  return () => Math.min(5000, 1000 * 2 ** attempts++) * (0.5 + Math.random());
}

// Reconnect; a refused or dropped connection (a server may close a socket that falls behind)
// is tried again after the next delay, and resumes from the last event it has.
function comeBack(socket, state) {
  const again = backoff();
  socket.on("connect", () => resume(socket, state));
  socket.on("connect_error", () => {
    counts.connect_errors += 1;
    setTimeout(() => socket.connect(), again());
  });
  socket.on("disconnect", (reason) => {
    if (reason === "io client disconnect") return; // the end of the run
    counts.drops += 1;
    dropReasons[reason] = (dropReasons[reason] || 0) + 1;
    setTimeout(() => socket.connect(), again());
  });
  socket.connect();
}

function closed(socket) {
  return new Promise((resolve) => {
    socket.once("disconnect", resolve);
    socket.io.engine.close();
  });
}

async function main() {
  const states = [];
  const sockets = await inWaves(opts.clients, opts.connectWave, (i) => {
    states.push(tally.client());
    const token = opts.tokens[i % opts.tokens.length];
    return subscriber(opts.url, token, route, tally, states[i]);
  });
  const writer = new Writer(opts.url, opts.writers);
  const warm = tally.settled(opts.stallSeconds);
  tally.events = 1; // seq 0 only, for now
  await writer.post(route.path, route.body(text(0, opts.pad)), opts.writerToken);
  if (await warm) throw new Error("the first event did not reach every client");
  out({ phase: "ready", connected: sockets.length });
  await line("go");

  await Promise.all(sockets.map(closed));
  tally.events = opts.events + 1;
  tally.complete = 0;
  const writeStart = clock();
  let next = 1;
  const worker = async () => {
    while (next <= opts.events) {
      const seq = next++;
      await writer.post(route.path, route.body(text(seq, opts.pad)), opts.writerToken);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.writers, opts.events) }, worker));
  out({ phase: "away", write_s: (clock() - writeStart) / 1000, ...writer.stats() });
  await line("back");

  const cpu0 = process.cpuUsage();
  const t0 = clock();
  let reconnectS = null;
  const allBack = new Promise((resolve) => {
    onAllConnected = () => resolve((reconnectS = (clock() - t0) / 1000));
  });
  const allIn = tally.settled(opts.stallSeconds);
  sockets.forEach((socket, i) => comeBack(socket, states[i]));
  const stalled = await allIn;
  // A replay's last event may come before its subscription's answer: wait for that too.
  if (!stalled) await Promise.race([allBack, new Promise((r) => setTimeout(r, opts.stallSeconds * 1000))]);
  const cpu = process.cpuUsage(cpu0);
  out({
    phase: "done",
    ...tally.stats(),
    ...counts,
    drop_reasons: dropReasons,
    stalled,
    reconnect_s: reconnectS,
    storm_s: ((tally.lastArrival || clock()) - t0) / 1000,
    gen_cpu_s: (cpu.user + cpu.system) / 1e6,
  });
  for (const s of sockets) s.disconnect();
  setTimeout(() => process.exit(0), 200);
}

main().catch((err) => {
  out({ phase: "error", error: String(err && err.message ? err.message : err) });
  process.exit(1);
});
