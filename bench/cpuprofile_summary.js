// Where a V8 CPU profile's time goes (the generator's, from BENCH_LOADGEN_CPU_PROF=DIR):
//
//   node bench/cpuprofile_summary.js FILE.cpuprofile [--top 30]
//
// Prints, as percentages of all samples (idle left out and shown apart): self time per function,
// total time (the function anywhere on the stack, counted once per sample) per function, and
// self time per package (node_modules/<name>, node: internals, our own files).
"use strict";

const fs = require("fs");
const path = require("path");

const file = process.argv[2];
const topIndex = process.argv.indexOf("--top");
const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 30;
const profile = JSON.parse(fs.readFileSync(file, "utf8"));

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children || []) parent.set(child, node.id);

const label = (frame) => {
  const where = frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : "";
  return `${frame.functionName || "(anonymous)"} ${where}`.trim();
};
const pkg = (frame) => {
  const url = frame.url || "";
  const match = [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].pop(); // the innermost
  if (match) return match[1];
  if (url.startsWith("node:")) return "node:" + url.slice(5).split("/")[0];
  if (url) return path.basename(url);
  return frame.functionName || "(native)";
};

const IDLE = new Set(["(idle)", "(program)"]);
const self = new Map();
const total = new Map();
const packages = new Map();
let busy = 0;
let idle = 0;
const add = (map, key) => map.set(key, (map.get(key) || 0) + 1);
for (const id of profile.samples) {
  const node = byId.get(id);
  if (IDLE.has(node.callFrame.functionName)) {
    idle += 1;
    continue;
  }
  busy += 1;
  add(self, label(node.callFrame));
  add(packages, pkg(node.callFrame));
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const name = label(byId.get(at).callFrame);
    if (!seen.has(name)) {
      seen.add(name);
      add(total, name);
    }
  }
}

const show = (title, map, n) => {
  console.log(`\n${title}`);
  const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
  for (const [name, count] of rows) console.log(`${((100 * count) / busy).toFixed(1).padStart(6)}%  ${name}`);
};
const seconds = (profile.endTime - profile.startTime) / 1e6;
console.log(`${file}: ${seconds.toFixed(2)} s, ${busy} busy samples, ${idle} idle/program`);
show("self, per package", packages, top);
show("self, per function", self, top);
show("total, per function", total, top);
