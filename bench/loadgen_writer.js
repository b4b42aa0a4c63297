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

const { writeAll } = require("./lib");

const cpuS = () => {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1e6;
};

process.on("message", async ({ go }) => {
  const stats = await writeAll(go, true);
  const done = { ...stats, writer_cpu_s: cpuS() };
  process.send({ done }, () => process.exit(0));
});
