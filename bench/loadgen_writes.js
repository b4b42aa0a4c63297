// The `writes` and `write-latency` load generator: `writers` closed-loop REST writers (each
// sends its next write once the previous one is answered) and `subscribers` socket.io-client
// sockets that must each receive every event once, in order.
//
//   node loadgen_writes.js @config.json
//
// Lines on stdout (bench/run.py reads them): {"phase": "ready"} once every subscriber is in
// (then waits for "go" on stdin), {"phase": "done", ...} with the figures.
"use strict";

const { clock, out, options, line, Writer, Tally, text, ROUTES, subscriber, inWaves } = require("./lib");

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
});

async function main() {
  const route = ROUTES[opts.route];
  const tally = new Tally(opts.subscribers, opts.events);
  const connectStart = clock();
  const sockets = await inWaves(opts.subscribers, opts.connectWave, (i) => {
    const token = opts.route === "memory-logs" ? opts.writerToken : opts.tokens[i % opts.tokens.length];
    return subscriber(opts.url, token, route, tally, tally.client());
  });
  out({ phase: "ready", connected: sockets.length, connect_s: (clock() - connectStart) / 1000 });
  await line("go");
  const writer = new Writer(opts.url, opts.writers);
  const cpu0 = process.cpuUsage();
  const t0 = clock();
  let next = 0;
  const worker = async () => {
    while (next < opts.events) {
      const seq = next++;
      await writer.post(route.path, route.body(text(seq, opts.pad)), opts.writerToken);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.writers, opts.events) }, worker));
  const writesDone = clock();
  const stalled = await tally.settled(opts.stallSeconds);
  const cpu = process.cpuUsage(cpu0);
  const writeS = (writesDone - t0) / 1000;
  out({
    phase: "done",
    ...tally.stats(),
    ...writer.stats(),
    stalled,
    writers: opts.writers,
    write_s: writeS,
    writes_per_s: writer.latencies.length / writeS,
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
