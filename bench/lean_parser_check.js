// Checks `lean_parser.js` against socket.io-parser: every packet below is encoded by the
// official Encoder (plus hand-written texts it would never produce), fed to an official Decoder
// and to a lean one, and what each gives (the decoded packets, or the error thrown) must be the
// same. Prints {"cases", "fast": {type: count}, "mismatches": [...]}; exits 1 on a mismatch.
//
//   node bench/lean_parser_check.js
"use strict";

const { isDeepStrictEqual, inspect } = require("util");
const official = require("socket.io-parser");
const lean = require("./lean_parser");

const { CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR } = official.PacketType;

const nested = { a: [1, 2.5, -3e-7, null, true, false, { b: { c: [[], {}, ""] } }], "k\"ey": "v\\al\nue" };
const unicode = { message: "héllo wörld ☃ 日本語 🎉 \u0000 \u2028 \ud83d\ude00", "ключ": "значение" };
const notification = [
  "notification",
  { message: "17|123456.789|xxxxxxxxxxxxxxxx", level: "info", audience: "everyone", created_at: "2026-12-07T14:57:04.123Z" },
  { event_id: 987654, event_type: "notification", emitted_at: "2026-12-07T14:57:04.123Z" },
];

// Packets as the servers and the client hand them to the Encoder.
const PACKETS = [];
for (const nsp of ["/", "/admin", "/a,b"]) {
  for (const id of [undefined, 0, 7, 123456789, 2 ** 40]) {
    PACKETS.push({ type: EVENT, nsp, id, data: notification });
    PACKETS.push({ type: EVENT, nsp, id, data: ["nested", nested, [nested]] });
    PACKETS.push({ type: EVENT, nsp, id, data: ["unicode ☃", unicode] });
    PACKETS.push({ type: EVENT, nsp, id, data: [42, "numbered event"] });
    PACKETS.push({ type: EVENT, nsp, id, data: ["no args"] });
    PACKETS.push({ type: EVENT, nsp, id, data: ["long", { message: `1|2|${"x".repeat(70000)}` }] });
    PACKETS.push({ type: EVENT, nsp, id, data: ["binary", { blob: Buffer.from([1, 2, 3]) }, Buffer.from("é")] });
    PACKETS.push({ type: ACK, nsp, id: id ?? 1, data: [{ ok: true, event_type: "notifications", replayed: 0, complete: true }] });
    PACKETS.push({ type: ACK, nsp, id: id ?? 1, data: [] });
    PACKETS.push({ type: ACK, nsp, id: id ?? 1, data: [null, "two", unicode] });
    PACKETS.push({ type: ACK, nsp, id: id ?? 1, data: [Buffer.from([0, 255]), { nested: [Buffer.alloc(0)] }] });
  }
  PACKETS.push({ type: CONNECT, nsp, data: { sid: "abc123-_XYZ", pid: "p1" } });
  PACKETS.push({ type: CONNECT, nsp, data: { token: "bench", nested } });
  PACKETS.push({ type: CONNECT, nsp });
  PACKETS.push({ type: DISCONNECT, nsp });
  PACKETS.push({ type: CONNECT_ERROR, nsp, data: { message: "unauthorized", data: { code: 4401, unicode } } });
  PACKETS.push({ type: CONNECT_ERROR, nsp, data: "a plain string error" });
}

// Texts no Encoder writes: malformed, invalid for their type, or odd but valid.
const TEXTS = [
  "", "0", "1", "2", "3", "4", "5", "6", "7", "9[]", "a", "[]", " 2[]",
  '2["connect"]', '2["disconnect",1]', '2["newListener"]', '2["toString"]', "2[]", "2{}", '2"x"',
  "2[oops", "2[1,]", '2["a"] ', '2["a"]x', "2 [\"a\"]", "21 [\"a\"]", "2\t[\"a\"]", "21\n",
  "0[]", '0"x"', "0null", "0{}", '0{"sid":1}', "1{}", "1[]", '1"x"', "3{}", '3"x"', "3[]", "35",
  "007[\"a\"]", "2007[\"a\"]", "3007[1]", "2" + "9".repeat(30) + '["a"]', "35[\"a\"]extra",
  '4"just a string"', "4{}", "4[]", "4123", "4", '41"x"', "2/,[\"a\"]", "2/chat", "2/chat,", "2/chat,5[\"a\"]",
  '51-["a",{"_placeholder":true,"num":0}]', '60-[{"_placeholder":true,"num":0}]', "5x-[]",
  '2["a",{"__proto__":{"polluted":1}}]', '2["a",1e400,-0]',
];

// Everything each decoder gives for `parts` (fed one after the other to one decoder).
function run(Decoder, parts) {
  const decoder = new Decoder();
  const got = [];
  decoder.on("decoded", (packet) => got.push({ packet }));
  for (const part of parts) {
    try {
      decoder.add(part);
    } catch (err) {
      got.push({ error: String(err && err.message) });
    }
  }
  return got;
}

const encoder = new official.Encoder();
const cases = [];
for (const packet of PACKETS) cases.push(encoder.encode(packet));
for (const text of TEXTS) cases.push([text]);
// One decoder for a whole sequence: a binary packet's attachments, text in the middle of them.
cases.push(cases.flat());
cases.push(['51-["a",{"_placeholder":true,"num":0}]', '2["text while reconstructing"]', Buffer.from([1])]);

const fast = {};
const mismatches = [];
for (const parts of cases) {
  const want = run(official.Decoder, parts);
  const got = run(lean.Decoder, parts);
  // Same packets, same keys in the same order (JSON.stringify sees the order, the deep check the rest).
  const same = isDeepStrictEqual(got, want) && JSON.stringify(got) === JSON.stringify(want);
  if (!same) mismatches.push({ parts: inspect(parts), want: inspect(want, { depth: 9 }), got: inspect(got, { depth: 9 }) });
  for (const part of parts) {
    const packet = typeof part === "string" ? lean.decodeFast(part) : undefined;
    if (packet !== undefined) fast[official.PacketType[packet.type]] = (fast[official.PacketType[packet.type]] || 0) + 1;
  }
}

process.stdout.write(JSON.stringify({ cases: cases.length, fast, mismatches }) + "\n");
process.exitCode = mismatches.length ? 1 : 0;
