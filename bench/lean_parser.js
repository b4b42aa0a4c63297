// A socket.io-client `parser` (its documented option) for the load generator: socket.io-parser's
// own Encoder, and a Decoder of exactly socket.io-parser's wire format that is cheaper per packet.
//
// The fast path takes a text packet of type CONNECT, DISCONNECT, EVENT, ACK or CONNECT_ERROR on
// the main namespace, with or without an ack id: "2[...]", "3" + id + "[...]", "0{...}", "1",
// "4{...}". It gives the packet socket.io-parser's Decoder gives ({type, nsp: "/", id?, data?},
// the payload checked as it checks it) and hands it to the one "decoded" listener directly, not
// through an Emitter. Anything else (binary packets and their attachments, a namespace, an id
// followed by something other than JSON, a payload that does not parse or is not valid for its
// type, a reviver) goes to an official Decoder, which decodes it, or throws as it would.
"use strict";

const official = require("socket.io-parser");

const { CONNECT, EVENT, ACK, CONNECT_ERROR } = official.PacketType;

// Event names socket.io-parser refuses in an EVENT (its RESERVED_EVENTS).
const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

const isObject = (value) => Object.prototype.toString.call(value) === "[object Object]";

// socket.io-parser's Decoder.isPayloadValid, for the types the fast path takes.
function valid(type, payload) {
  switch (type) {
    case CONNECT:
      return isObject(payload);
    case EVENT:
      return (
        Array.isArray(payload) &&
        (typeof payload[0] === "number" || (typeof payload[0] === "string" && !RESERVED.has(payload[0])))
      );
    case ACK:
      return Array.isArray(payload);
    case CONNECT_ERROR:
      return typeof payload === "string" || isObject(payload);
    default: // DISCONNECT carries no payload
      return false;
  }
}

const DIGIT_0 = 48;
const DIGIT_9 = 57;
const TYPE_4 = 52; // "4": CONNECT_ERROR, the last type the fast path takes
const OPENS_JSON = new Set([91, 123, 34]); // [ { "  (what JSON.stringify of an array, object or string starts with)

// The packet of `str` if the fast path takes it, else undefined.
function decodeFast(str) {
  const length = str.length;
  if (length === 0) return undefined;
  const first = str.charCodeAt(0);
  if (first < DIGIT_0 || first > TYPE_4) return undefined;
  const type = first - DIGIT_0;
  const packet = { type, nsp: "/" };
  let i = 1;
  let code = str.charCodeAt(1);
  if (code >= DIGIT_0 && code <= DIGIT_9) {
    while (i < length && (code = str.charCodeAt(i)) >= DIGIT_0 && code <= DIGIT_9) i += 1;
    packet.id = Number(str.slice(1, i));
  }
  if (i === length) return packet; // no payload: socket.io-parser checks none either
  if (!OPENS_JSON.has(str.charCodeAt(i))) return undefined;
  let payload;
  try {
    payload = JSON.parse(str.slice(i));
  } catch {
    return undefined;
  }
  if (!valid(type, payload)) return undefined;
  packet.data = payload;
  return packet;
}

class Decoder {
  constructor(opts) {
    this.opts = opts;
    this.listeners = [];
    this.fallback = new official.Decoder(opts);
    this.fallback.on("decoded", (packet) => this.emitReserved("decoded", packet));
    // A reviver changes what JSON.parse gives: then every packet goes the official way.
    this.lean = !(typeof opts === "function" || (opts && opts.reviver));
  }

  // What the Manager calls: add(text or buffer); "decoded" with each whole packet.
  add(obj) {
    if (this.lean && typeof obj === "string" && !this.fallback.reconstructor) {
      const packet = decodeFast(obj);
      if (packet !== undefined) {
        if (this.listeners.length === 1) this.listeners[0].call(this, packet);
        else this.emitReserved("decoded", packet);
        return;
      }
    }
    this.fallback.add(obj);
  }

  destroy() {
    this.fallback.destroy();
  }

  // The Emitter API the Manager uses on its decoder (`on`, and `off` to unsubscribe).
  on(event, fn) {
    if (event === "decoded") this.listeners = [...this.listeners, fn];
    return this;
  }

  off(event, fn) {
    if (event !== "decoded") return this;
    if (fn === undefined) this.listeners = [];
    else {
      const at = this.listeners.indexOf(fn);
      if (at >= 0) this.listeners = this.listeners.filter((_, j) => j !== at);
    }
    return this;
  }

  emitReserved(event, packet) {
    if (event !== "decoded") return;
    for (const fn of this.listeners) fn.call(this, packet);
  }
}

// socket.io-client: io(url, { parser: require("./lean_parser") }).
module.exports = { protocol: official.protocol, PacketType: official.PacketType, Encoder: official.Encoder, Decoder, decodeFast };
