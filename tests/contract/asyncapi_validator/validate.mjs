// Validate an AsyncAPI document with the official parser and print its diagnostics as JSON.
// Usage: node validate.mjs DOCUMENT.json   (exit 0: no error-severity diagnostic, 1: some, 2: usage)
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Parser, DiagnosticSeverity } = require("@asyncapi/parser");

const [path] = process.argv.slice(2);
if (!path) {
  console.error("usage: node validate.mjs DOCUMENT.json");
  process.exit(2);
}
const text = await readFile(path, "utf8");
const diagnostics = await new Parser().validate(text);
const severityName = Object.fromEntries(
  Object.entries(DiagnosticSeverity).filter(([, v]) => typeof v === "number").map(([k, v]) => [v, k]),
);
const report = diagnostics.map((d) => ({
  severity: severityName[d.severity] ?? String(d.severity),
  code: String(d.code),
  message: d.message,
  path: d.path.join("/"),
}));
const errors = report.filter((d) => d.severity === "Error").length;
console.log(JSON.stringify({ errors, total: report.length, diagnostics: report }, null, 2));
process.exit(errors === 0 ? 0 : 1);
