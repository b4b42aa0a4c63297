// The `writes` and `write-latency` load generator: `writers` closed-loop REST writers (each
// sends its next write once the previous one is answered) and `subscribers` socket.io-client
// sockets that must each receive every event once, in order.
//
// The writers run in a child process (bench/loadgen_writer.js, on the same core): in this one,
// an answer would wait behind the deliveries this loop is parsing (with 5000 subscribers it
// is ~98% busy), and the write latency would time the generator. `writerApart: false` keeps
// them here, as before, to compare.
//
//   node loadgen_writes.js @config.json
//
// Lines on stdout (bench/run.py reads them): {"phase": "ready"} once every subscriber is in
// (then waits for "go" on stdin), {"phase": "done", ...} with the figures.
"use strict";

const { fork } = require("child_process");
const path = require("path");
const { clock, out, options, line, Tally, ROUTES, subscriber, inWaves, writeAll } = require("./lib");

const opts = options({
  url: "http://127.0.0.1:9000",
  route: "memory-logs", // or "notifications"
  subscribers: 10,
  writers: 16,
  events: 100,
  pad: 16,
  writerToken: "bench", // memory-logs: the subscribers' own user; notifications: an admin
  tokens: ["bench"], // subscribers' tokens (memory-logs: only tokens[0] is used)
  connectWave: 250,
  stallSeconds: 10,
  writerApart: true,
});

// The writes in a child process (started before "go", so its start-up is not timed).
function writerApart() {
  const child = fork(path.join(__dirname, "loadgen_writer.js"), [], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const done = new Promise((resolve, reject) => {
    child.once("message", (message) => resolve(message.done));
    child.once("exit", (code) => reject(new Error(`writer exited with ${code}`)));
  });
  return { go: () => (child.send({ go: opts }), done) };
}

async function main() {
  const route = ROUTES[opts.route];
  const tally = new Tally(opts.subscribers, opts.events);
  const connectStart = clock();
  const sockets = await inWaves(opts.subscribers, opts.connectWave, (i) => {
    const token = opts.route === "memory-logs" ? opts.writerToken : opts.tokens[i % opts.tokens.length];
    return subscriber(opts.url, token, route, tally, tally.client());
  });
  const apart = opts.writerApart ? writerApart() : null;
  out({ phase: "ready", connected: sockets.length, connect_s: (clock() - connectStart) / 1000 });
  await line("go");
  const cpu0 = process.cpuUsage();
  const t0 = clock();
  const writes = apart ? await apart.go() : await writeAll(opts);
  const stalled = await tally.settled(opts.stallSeconds);
  const cpu = process.cpuUsage(cpu0);
  out({
    phase: "done",
    ...tally.stats(),
    ...writes,
    stalled,
    writers: opts.writers,
    writer_apart: Boolean(apart),
    duration_s: ((tally.lastArrival || clock()) - t0) / 1000,
    gen_cpu_s: (cpu.user + cpu.system) / 1e6,
  });
  for (const s of sockets) s.disconnect();
  setTimeout(() => process.exit(0), 200);
}

main().catch((err) => {
  out({ phase: "error", error: String(err && err.message ? err.message : err) });
  process.exit(1);
});
