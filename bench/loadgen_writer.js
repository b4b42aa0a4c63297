// The REST writers of the `writes` and `write-latency` scenarios, in a process of their own.
//
// bench/loadgen_writes.js forks this (same core: the affinity is inherited) and sends it
// {go: config}; it answers {done: stats}. Why apart: the subscribers' process spends its one
// event loop parsing deliveries (5000 sockets x each event), and an HTTP answer read by that
// loop waits behind them, so a writer there times the generator's queue, not the server.
// Here the answer is read as soon as the kernel schedules this process.
//
// Each request carries `x-bench-sent`: this process's CLOCK_MONOTONIC in ns when it was sent
// (the clock every process of the machine shares), so a timed server
// (bench/servers/mindwire_timed.py, node_writes_server.js) can tell how long it waited
// before the server read it.
"use strict";

const { clock, Writer, ROUTES, text } = require("./lib");

const cpuS = () => {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1e6;
};

process.on("message", async ({ go }) => {
  const route = ROUTES[go.route];
  const writer = new Writer(go.url, go.writers, true);
  const t0 = clock();
  let next = 0;
  const worker = async () => {
    while (next < go.events) {
      const seq = next++;
      await writer.post(route.path, route.body(text(seq, go.pad)), go.writerToken);
    }
  };
  await Promise.all(Array.from({ length: Math.min(go.writers, go.events) }, worker));
  const writeS = (clock() - t0) / 1000;
  const done = { ...writer.stats(), write_s: writeS, writes_per_s: writer.latencies.length / writeS, writer_cpu_s: cpuS() };
  process.send({ done }, () => process.exit(0));
});
