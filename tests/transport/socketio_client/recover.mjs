// One official socket.io-client socket, driven line by line by tests/transport/test_socketio_client.py.
//
// No Mindwire code: `io(url, {auth: {token}})`, `subscribe_event` once, then whatever the
// client does on its own (it keeps `_pid` and the last offset, and sends them back when it
// reconnects). Commands arrive on stdin as JSON lines; each gets one JSON line on stdout.
//
//   {"cmd": "connect", "url": "...", "token": "...", "rooms": ["memory_logs"]}
//   {"cmd": "drop"}                    the transport closes (`socket.io.engine.close()`)
//   {"cmd": "reconnect", "url": "..."} the same socket connects again (to `url`, as a load
//                                      balancer would send it to another worker)
//   {"cmd": "wait", "count": N}        until N `memory_log_created` have arrived (or 20 s)
//   {"cmd": "leave"}                   `socket.disconnect()`, then exit
import readline from "node:readline";
import { io } from "socket.io-client";

let socket = null;
const received = []; // {id, eventId, offset} per memory_log_created, in arrival order

function reply(value) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

function once(event, ms = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

async function connect({ url, token, rooms }) {
  socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false });
  socket.on("memory_log_created", (data, meta, offset) => {
    received.push({ id: data.id, eventId: meta.event_id, offset: offset ?? null });
  });
  await once("connect");
  for (const room of rooms) {
    const ack = await socket.timeout(10000).emitWithAck("subscribe_event", { event_type: room });
    if (!ack.ok) throw new Error(`subscribe ${room}: ${JSON.stringify(ack)}`);
  }
  return { pid: socket._pid ?? null };
}

async function drop() {
  const closed = once("disconnect");
  socket.io.engine.close();
  const [reason] = await closed;
  return { reason };
}

async function reconnect({ url }) {
  const before = socket._pid;
  if (url) socket.io.uri = url;
  const connected = once("connect", 30000);
  socket.connect();
  await connected;
  return { recovered: socket.recovered, samePid: socket._pid === before };
}

async function wait({ count, ms = 20000 }) {
  const deadline = Date.now() + ms;
  while (received.length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { received };
}

const commands = { connect, drop, reconnect, wait };

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line);
  if (command.cmd === "leave") {
    socket?.disconnect();
    reply({ ok: true });
    break;
  }
  try {
    reply({ ok: true, ...(await commands[command.cmd](command)) });
  } catch (error) {
    reply({ ok: false, error: String(error) });
  }
}
process.exit(0);
