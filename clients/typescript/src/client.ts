// A typed Mindwire client that never misses an event that is still retained.
//
// Room events arrive as (payload, meta). The client keeps, per room, the newest event_id it has
// handed over; after every reconnect it subscribes again with `since` so the server replays what
// was missed, drops repeats by event_id, and reports `complete: false` (events already past the
// retention window: reload through REST) to the caller.

import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";

import {
  type ClientToServerAcks,
  type ClientToServerEvents,
  type ErrorAck,
  type EventMeta,
  type Room,
  type RoomEvent,
  roomEventTypes,
  type ServerToClientEvents,
  type SubscribeAck,
  type SubscribeEvent,
} from "./events.js";

/** socket.io-client's `Socket`, typed with the generated event maps. */
export type MindwireSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type SocketFactory = (
  url: string,
  options: Partial<ManagerOptions & SocketOptions>,
) => MindwireSocket;

export interface ConnectOptions {
  /** The access token from `POST /api/auth/token`, or a function that returns the current one. */
  token: string | (() => string);
  /** Called when a (re)subscription answers `complete: false`: reload that room through REST. */
  onIncomplete?: (room: Room) => void;
  /** Called when the server refuses a subscription (the room is then dropped). */
  onSubscribeError?: (room: Room, error: ErrorAck["error"]) => void;
  /** Called when a room handler throws (the client carries on). */
  onHandlerError?: (error: unknown, event: RoomEvent) => void;
  /** How long to wait for a subscription's ack, in ms (default 10000). */
  ackTimeoutMs?: number;
  /** Passed to `io()`; the default transport is WebSocket (needed with several workers). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
  /** Makes the socket (`io` by default); tests pass a fake. */
  createSocket?: SocketFactory;
}

export interface SubscribeOptions {
  /** Resume after this event_id (e.g. one kept from an earlier session). */
  since?: number;
}

export type RoomHandler<R extends Room> = (event: RoomEvent<R>) => void;

export interface ClientStats {
  /** Room events handed to handlers. */
  delivered: number;
  /** Room events dropped because their event_id had been handed over already. */
  duplicates: number;
  /** Events the server reported as replayed, over every (re)subscription. */
  replayed: number;
  /** Subscriptions sent again after a reconnect. */
  resubscriptions: number;
}

export interface MindwireClient {
  readonly socket: MindwireSocket;
  readonly stats: Readonly<ClientStats>;
  /** Subscribe to `room`; resolves with the first ack, rejects if the server refuses. */
  subscribe<R extends Room>(
    room: R,
    handler: RoomHandler<R>,
    options?: SubscribeOptions,
  ): Promise<SubscribeAck>;
  unsubscribe(room: Room): Promise<void>;
  /** The newest event_id handed over for `room` (what the next `since` will be). */
  lastEventId(room: Room): number | undefined;
  close(): void;
}

interface Subscription {
  room: Room;
  handler: (event: RoomEvent) => void;
  /** The newest event_id handed over, counted once the subscription is acknowledged. */
  since: number | undefined;
  /** The newest event_id seen on the socket when the room was subscribed (resume point). */
  floor: number | undefined;
  /** Events that arrived while a (re)subscription was waiting for its ack. */
  pending: number | undefined;
  syncing: boolean;
  /** Bumped by every (re)subscription, so a late ack of an older one is ignored. */
  generation: number;
  sent: boolean;
  first: { resolve: (ack: SubscribeAck) => void; reject: (error: Error) => void } | undefined;
}

const DEFAULT_ACK_TIMEOUT_MS = 10_000;
const SEEN_LIMIT = 10_000;
const USER_ROOM = /^user_([0-9]+)$/;

/** Connect to Mindwire at `url` (e.g. `http://127.0.0.1:8000`) as the token's user. */
export function connect(url: string, options: ConnectOptions): MindwireClient {
  const { token } = options;
  const createSocket = options.createSocket ?? ((u, o) => io(u, o) as MindwireSocket);
  const socket = createSocket(url, {
    transports: ["websocket"],
    ...options.socketOptions,
    // `recover: false`: this client resumes by itself, per room with `since`, so it opts out
    // of Socket.IO's Connection State Recovery (no offset argument, no stored session).
    auth: (callback: (data: object) => void) =>
      callback({ token: typeof token === "function" ? token() : token, recover: false }),
  });
  const ackTimeout = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  const subscriptions = new Map<Room, Subscription>();
  const seen = new Set<number>();
  let newestSeen: number | undefined;
  const stats: ClientStats = { delivered: 0, duplicates: 0, replayed: 0, resubscriptions: 0 };

  socket.on("connect", () => {
    for (const subscription of subscriptions.values()) void sync(subscription);
  });
  socket.onAny((event: string, payload: unknown, meta: unknown) => {
    if (isMeta(meta)) onRoomEvent(event, payload, meta);
  });

  function onRoomEvent(type: string, payload: unknown, meta: EventMeta): void {
    const id = meta.event_id;
    newestSeen = Math.max(newestSeen ?? id, id);
    const targets = [...subscriptions.values()].filter((s) => carries(s.room, type, payload));
    if (targets.length === 0) return;
    if (seen.has(id)) {
      stats.duplicates += 1;
      return;
    }
    seen.add(id);
    const event = { type, payload, meta } as RoomEvent;
    for (const subscription of targets) {
      if (subscription.syncing) subscription.pending = Math.max(subscription.pending ?? id, id);
      else subscription.since = Math.max(subscription.since ?? id, id);
      stats.delivered += 1;
      try {
        subscription.handler(event);
      } catch (error) {
        if (options.onHandlerError) options.onHandlerError(error, event);
        else console.error(`mindwire: the handler of ${subscription.room} failed`, error);
      }
    }
    if (seen.size > SEEN_LIMIT) forgetOldIds();
  }

  /** Ids no future replay can repeat: at or below every room's `since`. */
  function forgetOldIds(): void {
    const resumePoints = [...subscriptions.values()].map(resumeFrom);
    const floor = Math.min(...resumePoints.map((point) => point ?? 0));
    for (const id of seen) if (id <= floor) seen.delete(id);
  }

  async function sync(subscription: Subscription): Promise<void> {
    const generation = ++subscription.generation;
    const request: SubscribeEvent = { event_type: subscription.room };
    if (subscription.sent) {
      request.since = resumeFrom(subscription) ?? 0;
      stats.resubscriptions += 1;
    } else if (subscription.since !== undefined) {
      request.since = subscription.since;
    }
    subscription.sent = true;
    subscription.syncing = true;
    let ack: ClientToServerAcks["subscribe_event"];
    try {
      ack = await socket.timeout(ackTimeout).emitWithAck("subscribe_event", request);
    } catch {
      // No ack (timeout or the connection dropped): the next `connect` subscribes again.
      if (generation === subscription.generation && socket.connected) void sync(subscription);
      return;
    }
    const current = subscriptions.get(subscription.room) === subscription;
    if (current && generation === subscription.generation) acknowledged(subscription, ack);
  }

  function acknowledged(subscription: Subscription, ack: SubscribeAck | ErrorAck): void {
    const { room, first } = subscription;
    subscription.first = undefined;
    if (!ack.ok) {
      subscriptions.delete(room);
      options.onSubscribeError?.(room, ack.error);
      first?.reject(new Error(`subscribe ${room}: ${ack.error.code}: ${ack.error.message}`));
      return;
    }
    subscription.syncing = false;
    if (subscription.pending !== undefined) {
      subscription.since = Math.max(subscription.since ?? 0, subscription.pending);
      subscription.pending = undefined;
    }
    subscription.floor ??= newestSeen;
    stats.replayed += ack.replayed;
    if (!ack.complete) options.onIncomplete?.(room);
    first?.resolve(ack);
  }

  return {
    socket,
    stats,
    subscribe<R extends Room>(room: R, handler: RoomHandler<R>, opts?: SubscribeOptions) {
      if (subscriptions.has(room)) {
        return Promise.reject(new Error(`already subscribed to ${room}`));
      }
      return new Promise<SubscribeAck>((resolve, reject) => {
        const subscription: Subscription = {
          room,
          handler: handler as (event: RoomEvent) => void,
          since: opts?.since,
          floor: newestSeen,
          pending: undefined,
          syncing: false,
          generation: 0,
          sent: false,
          first: { resolve, reject },
        };
        subscriptions.set(room, subscription);
        if (socket.connected) void sync(subscription);
      });
    },
    async unsubscribe(room: Room) {
      const subscription = subscriptions.get(room);
      if (subscription === undefined) return;
      subscriptions.delete(room);
      subscription.first?.reject(new Error(`unsubscribed from ${room}`));
      if (socket.connected) {
        await socket.timeout(ackTimeout).emitWithAck("unsubscribe_event", { event_type: room });
      }
    },
    lastEventId(room: Room) {
      const subscription = subscriptions.get(room);
      return subscription === undefined ? undefined : resumeFrom(subscription);
    },
    close() {
      for (const subscription of subscriptions.values()) {
        subscription.first?.reject(new Error("the client was closed"));
      }
      subscriptions.clear();
      socket.disconnect();
    },
  };
}

/** Where a room resumes: its newest handed-over event_id, else the socket's when subscribed. */
function resumeFrom(subscription: Subscription): number | undefined {
  return subscription.since ?? subscription.floor;
}

/** Whether an event of `type` with `payload` belongs to `room` (by the generated room table). */
export function carries(room: string, type: string, payload: unknown): boolean {
  if (!(roomEventTypes(room) as readonly string[]).includes(type)) return false;
  const user = USER_ROOM.exec(room);
  if (user === null || typeof payload !== "object" || payload === null) return true;
  const owner = (payload as { user_id?: unknown }).user_id;
  return typeof owner !== "number" || owner === Number(user[1]);
}

function isMeta(value: unknown): value is EventMeta {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as EventMeta).event_id === "number" &&
    typeof (value as EventMeta).event_type === "string"
  );
}
