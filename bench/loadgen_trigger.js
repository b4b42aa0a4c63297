// The broadcast scenarios' triggers (Mindwire's REST writes, Node's and bare's POST /emit), in
// a process of their own.
//
// bench/loadgen.js forks this (same core: the affinity is inherited), sends it {go: options}
// and gets back {done: {...}}. Why apart: the clients' process spends its one event loop
// parsing deliveries (98% busy in 1000x200), so an answer read there waited behind them and
// the next write went out late; the events/s then measured the generator, not the server.
// Each event's text carries the time of its issue ("SEQ|ISSUED_AT|padding") on the clock all
// processes share (`lib.js`'s `clock`, CLOCK_MONOTONIC), compared with its arrival there.
"use strict";

const http = require("http");
const { clock } = require("./lib");

function fire(opts) {
  const target = new URL(opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.mode === "steady" ? 64 : opts.concurrency });
  const answered = [];
  let errors = 0;
  let retries = 0;

  // POST, retried on 503 ("nothing was changed, retry shortly", as the API asks).
  function post(path, body, headers, attempt = 0) {
    return new Promise((resolve) => {
      const req = http.request(
        { host: target.hostname, port: target.port, path, method: "POST", agent, headers },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 503 && attempt < 20) {
              retries += 1;
              return setTimeout(() => post(path, body, headers, attempt + 1).then(resolve), 50);
            }
            if (res.statusCode >= 300) errors += 1;
            answered.push(clock());
            resolve();
          });
        },
      );
      req.on("error", () => {
        errors += 1;
        resolve();
      });
      req.end(body);
    });
  }

  // Events [start, start + count), issued now.
  function trigger(start, count) {
    const issued = clock().toFixed(3);
    if (opts.target === "mindwire") {
      const body = JSON.stringify({ message: `${start}|${issued}|${"x".repeat(opts.pad)}`, audience: "everyone" });
      return post("/api/notifications", body, {
        "content-type": "application/json",
        authorization: `Bearer ${opts.adminToken}`,
      });
    }
    const q = `room=${opts.room}&count=${count}&start=${start}&t=${issued}&pad=${opts.pad}`;
    return post(`/emit?${q}`, "", {});
  }

  async function all() {
    const E = opts.events;
    if (opts.mode === "steady") {
      const interval = 1000 / opts.rate;
      const start = clock();
      const pending = [];
      for (let i = 0; i < E; i++) {
        const wait = start + i * interval - clock();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        pending.push(trigger(i, 1));
      }
      await Promise.all(pending);
    } else if (opts.target === "mindwire") {
      let next = 0;
      const worker = async () => {
        while (next < E) await trigger(next++, 1);
      };
      await Promise.all(Array.from({ length: Math.min(opts.concurrency, E) }, worker));
    } else {
      await trigger(0, E);
    }
  }

  return all().then(() => ({ errors, retries, answered }));
}

module.exports = { fire };

if (require.main === module) {
  process.on("message", async ({ go }) => {
    const cpu0 = process.cpuUsage();
    const done = await fire(go);
    const cpu = process.cpuUsage(cpu0);
    process.send({ done: { ...done, cpu_s: (cpu.user + cpu.system) / 1e6 } }, () => process.exit(0));
  });
}
