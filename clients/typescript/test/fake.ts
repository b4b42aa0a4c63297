// A fake transport for unit tests: a socket and a tiny in-memory Mindwire that logs room events,
// replays them after `since` and acknowledges subscriptions as the real server does.

import type { MindwireSocket } from "../src/client.js";
import type { EventMeta, SubscribeAck, SubscribeEvent } from "../src/events.js";

type Listener = (...args: unknown[]) => void;

interface Logged {
  type: string;
  payload: unknown;
  meta: EventMeta;
  room: string;
}

interface Request {
  event: string;
  payload: SubscribeEvent;
  resolve: (ack: unknown) => void;
  reject: (error: Error) => void;
}

interface HeldAck {
  request: Request;
  ack: unknown;
}

export class FakeServer {
  readonly log: Logged[] = [];
  readonly held: HeldAck[] = [];
  readonly joined = new Set<string>();
  /** Join and replay at once but hold the ack (to test what happens before it comes). */
  manualAcks = false;
  /** Replay one event before `since` too, as a real replay may repeat one. */
  repeatOne = false;
  complete = true;
  /** Answer subscriptions without `head`, as servers before gap-free snapshots did. */
  noHead = false;
  /** Events sent with one more argument, the recovery offset (connection state recovery). */
  offsets = false;
  /** The tokens received through `refresh_token`. */
  readonly refreshed: string[] = [];
  /** Refuse `refresh_token` (as for another user's token). */
  refuseRefresh = false;
  refuse: string | undefined;
  socket = new FakeSocket(this);

  /** Log an event for `room` and send it live when the socket is in that room. */
  publish(type: string, payload: unknown, room: string): EventMeta {
    const emitted_at = "2026-01-01T00:00:00Z";
    const meta = { event_id: this.log.length + 1, event_type: type, emitted_at };
    this.log.push({ type, payload, meta, room });
    if (this.socket.connected && this.joined.has(room)) this.send(type, payload, meta);
    return meta;
  }

  /** Send a room event, with a recovery offset as its last argument when `offsets` is set. */
  send(type: string, payload: unknown, meta: EventMeta): void {
    const offset = this.offsets ? [`offset-${meta.event_id}`] : [];
    this.socket.deliver(type, payload, meta, ...offset);
  }

  handle(request: Request): void {
    const ack = this.answer(request);
    if (this.manualAcks) this.held.push({ request, ack });
    else request.resolve(ack);
  }

  subscribes(): SubscribeEvent[] {
    return this.socket.sent.filter((s) => s.event === "subscribe_event").map((s) => s.payload);
  }

  /** What the real server does: join, replay after `since`, then answer with the ack. */
  private answer(request: Request): unknown {
    if (request.event === "refresh_token") {
      if (this.refuseRefresh) return { ok: false, error: { code: "forbidden", message: "no" } };
      this.refreshed.push((request.payload as unknown as { token: string }).token);
      return { ok: true, expires_at: "2026-01-01T00:00:00Z" };
    }
    const room = request.payload.event_type;
    if (request.event === "unsubscribe_event") {
      this.joined.delete(room);
      return { ok: true, event_type: room };
    }
    if (room === this.refuse) return { ok: false, error: { code: "forbidden", message: "no" } };
    this.joined.add(room);
    let replayed = 0;
    const since = request.payload.since;
    if (since !== undefined && since !== null) {
      const from = this.repeatOne ? since - 1 : since;
      for (const item of this.log.filter((e) => e.room === room && e.meta.event_id > from)) {
        this.send(item.type, item.payload, item.meta);
        replayed += 1;
      }
    }
    const head = this.log.length; // the newest event id: the log's position as the room is joined
    const { complete } = this;
    const ack: SubscribeAck = { ok: true, event_type: room, replayed, complete, head };
    if (!this.noHead) return ack;
    const { head: _, ...older } = ack;
    return older;
  }
}

export class FakeSocket {
  connected = false;
  /** socket.io-client's flag: the server restored the session (rooms kept, missed packets sent). */
  recovered = false;
  readonly sent: { event: string; payload: SubscribeEvent }[] = [];
  /** The connect options the client passed (its `auth` callback gives the current token). */
  options: { auth?: unknown } = {};
  private readonly listeners = new Map<string, Listener[]>();
  private readonly anyListeners: Listener[] = [];

  constructor(private readonly server: FakeServer) {}

  /** The token the next (re)connect would send. */
  authToken(): string {
    let token = "";
    const auth = this.options.auth as (callback: (data: { token: string }) => void) => void;
    auth((data) => (token = data.token));
    return token;
  }

  asSocket(): MindwireSocket {
    return this as unknown as MindwireSocket;
  }

  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  onAny(listener: Listener): this {
    this.anyListeners.push(listener);
    return this;
  }

  timeout(_ms: number): {
    emitWithAck: (event: string, payload: SubscribeEvent) => Promise<unknown>;
  } {
    return {
      emitWithAck: (event, payload) =>
        new Promise((resolve, reject) => {
          if (!this.connected) {
            reject(new Error("not connected"));
            return;
          }
          this.sent.push({ event, payload });
          this.server.handle({ event, payload, resolve, reject });
        }),
    };
  }

  disconnect(): void {
    this.connected = false;
  }

  /** The connection (re)opens: the server forgets the rooms (unless it recovers the session),
   * the client gets `connect`. */
  open(recovered = false): void {
    if (!recovered) this.server.joined.clear();
    this.recovered = recovered;
    this.connected = true;
    for (const listener of this.listeners.get("connect") ?? []) listener();
  }

  /** The network drops: pending acks fail, nothing arrives until `open()`. */
  drop(): void {
    this.connected = false;
    for (const { request } of this.server.held.splice(0)) request.reject(new Error("disconnected"));
    for (const listener of this.listeners.get("disconnect") ?? []) listener("transport close");
  }

  deliver(event: string, ...args: unknown[]): void {
    for (const listener of this.anyListeners) listener(event, ...args);
    for (const listener of this.listeners.get(event) ?? []) listener(...args);
  }
}

/** Let pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
}
