// A typed Mindwire client that never misses an event that is still retained.
//
// Room events arrive as (payload, meta). The client keeps, per room, the newest event_id it has
// handed over; after every reconnect it subscribes again with `since` so the server replays what
// was missed, drops repeats by event_id, and reports `complete: false` (events already past the
// retention window: reload through REST) to the caller.

import { io } from "socket.io-client";

import type {
  ClientToServerAcks,
  ErrorAck,
  EventMeta,
  Room,
  RoomEvent,
  SubscribeAck,
  SubscribeEvent,
} from "./events.js";
import { defaultCursorStore } from "./cursors.js";
import { carries, isMeta } from "./routing.js";
import { restRefresh, TokenKeeper } from "./tokens.js";
import type {
  ClientStats,
  ConnectOptions,
  MindwireClient,
  MindwireSocket,
  RoomHandler,
  SubscribeOptions,
} from "./types.js";

export { carries } from "./routing.js";
export type * from "./types.js";

interface Subscription {
  room: Room;
  handler: (event: RoomEvent) => void;
  /** The newest event_id handed over, counted once the subscription is acknowledged. */
  since: number | undefined;
  /** Whether the first request carries `since` (else the ack's `head` is the cursor). */
  resumes: boolean;
  /** The newest event_id seen on the socket when the room was subscribed (resume point). */
  floor: number | undefined;
  /** Events that arrived while a (re)subscription was waiting for its ack. */
  pending: number | undefined;
  /** Events the socket received before the room was subscribed, newer than its `since`, in id
   * order: handed over in their place among the replayed ones, the rest at the ack. */
  early: RoomEvent[];
  /** Some events the socket got before the room was subscribed were no longer kept. */
  incomplete: boolean;
  syncing: boolean;
  /** The `since` of the subscription on its way: what the caller already has. */
  asked: number | undefined;
  /** Bumped by every (re)subscription, so a late ack of an older one is ignored. */
  generation: number;
  sent: boolean;
  first: { resolve: (ack: SubscribeAck) => void; reject: (error: Error) => void } | undefined;
}

const DEFAULT_ACK_TIMEOUT_MS = 10_000;
const DEFAULT_REFRESH_AHEAD_SECONDS = 60;
const SEEN_LIMIT = 10_000;
/** Room events no subscription carried, kept for a room subscribed a moment later. */
const UNCLAIMED_LIMIT = 1_000;

/** Connect to Mindwire at `url` (e.g. `http://127.0.0.1:8000`) as the token's user. */
export function connect(url: string, options: ConnectOptions): MindwireClient {
  const createSocket = options.createSocket ?? ((u, o) => io(u, o) as MindwireSocket);
  const ackTimeout = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  const tokens = new TokenKeeper({
    initial: options.token,
    source: options.refreshToken ?? restRefresh(url),
    aheadMs: (options.refreshAheadSeconds ?? DEFAULT_REFRESH_AHEAD_SECONDS) * 1000,
    apply: sendToken,
    onRefreshed: options.onTokenRefreshed,
    onError: options.onTokenError,
  });
  // A function: every reconnect sends the newest token.
  const socket = createSocket(url, {
    transports: ["websocket"],
    ...options.socketOptions,
    // `recover: false`: this client resumes by itself, per room with `since`, so it opts out
    // of Socket.IO's Connection State Recovery (no offset argument, no stored session).
    auth: (callback: (data: object) => void) =>
      callback({ token: tokens.current, recover: false }),
  });
  const cursors = options.cursors ?? defaultCursorStore(url, tokens.current);
  const subscriptions = new Map<Room, Subscription>();
  const seen = new Set<number>();
  let newestSeen: number | undefined;
  // The server sends a socket each event once, whichever of its rooms carries it, and a replay
  // skips what the socket already has: an event that came through `user_{id}` before its room
  // was subscribed is not replayed. So such events wait here (the newest UNCLAIMED_LIMIT).
  const unclaimed: RoomEvent[] = [];
  let unclaimedDroppedThrough = 0;
  const stats: ClientStats = { delivered: 0, duplicates: 0, replayed: 0, resubscriptions: 0 };

  socket.on("connect", () => {
    for (const subscription of subscriptions.values()) void sync(subscription);
  });
  // With connection state recovery, events carry one more argument (the offset): ignored.
  socket.onAny((event: string, payload: unknown, meta: unknown) => {
    if (isMeta(meta)) onRoomEvent(event, payload, meta);
  });
  socket.on("error", (error) => {
    if (error.code === "token_expired") void tokens.refresh();
  });

  /** Hand a new token to the live socket; a closed one sends it at its next connect. */
  async function sendToken(token: string): Promise<boolean> {
    if (!socket.connected) return true;
    try {
      const ack = await socket.timeout(ackTimeout).emitWithAck("refresh_token", { token });
      return ack.ok;
    } catch {
      return true; // no ack: the connection dropped, and the reconnect sends the new token
    }
  }

  /** The room's new cursor: kept in the subscription and in the store. */
  function advance(subscription: Subscription, id: number): void {
    subscription.since = Math.max(subscription.since ?? id, id);
    cursors.save(subscription.room, subscription.since);
  }

  function onRoomEvent(type: string, payload: unknown, meta: EventMeta): void {
    const id = meta.event_id;
    newestSeen = Math.max(newestSeen ?? id, id);
    const event = { type, payload, meta } as RoomEvent;
    const targets = [...subscriptions.values()].filter((s) => carries(s.room, type, payload));
    if (targets.length === 0) {
      if (!seen.has(id)) keepUnclaimed(event);
      return;
    }
    if (seen.has(id)) {
      stats.duplicates += 1;
      return;
    }
    seen.add(id);
    for (const subscription of targets) {
      // A live copy the server sent before it took the subscription in, at or below the
      // `since` asked for: the caller has it already (the list it loaded, say).
      if (subscription.syncing && subscription.asked !== undefined && id <= subscription.asked) {
        continue;
      }
      handOverEarly(subscription, id);
      handOver(subscription, event);
    }
    if (seen.size > SEEN_LIMIT) forgetOldIds();
  }

  function handOver(subscription: Subscription, event: RoomEvent): void {
    const id = event.meta.event_id;
    if (subscription.syncing) subscription.pending = Math.max(subscription.pending ?? id, id);
    else advance(subscription, id);
    stats.delivered += 1;
    try {
      subscription.handler(event);
    } catch (error) {
      if (options.onHandlerError) options.onHandlerError(error, event);
      else console.error(`mindwire: the handler of ${subscription.room} failed`, error);
    }
  }

  function keepUnclaimed(event: RoomEvent): void {
    unclaimed.push(event);
    if (unclaimed.length > UNCLAIMED_LIMIT) {
      const dropped = unclaimed.shift() as RoomEvent;
      unclaimedDroppedThrough = Math.max(unclaimedDroppedThrough, dropped.meta.event_id);
    }
  }

  /** The kept events `room` carries after `since`; false when some may have been dropped. */
  function claimEarly(room: Room, since: number): { events: RoomEvent[]; whole: boolean } {
    const events = unclaimed
      .filter((e) => e.meta.event_id > since && carries(room, e.type, e.payload))
      .sort((a, b) => a.meta.event_id - b.meta.event_id);
    for (const event of events) seen.add(event.meta.event_id);
    return { events, whole: unclaimedDroppedThrough <= since };
  }

  /** Hand over the early events older than `before` (all of them when it is undefined). */
  function handOverEarly(subscription: Subscription, before?: number): void {
    while (subscription.early.length > 0) {
      const next = subscription.early[0] as RoomEvent;
      if (before !== undefined && next.meta.event_id >= before) return;
      subscription.early.shift();
      handOver(subscription, next);
    }
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
    } else if (subscription.resumes && subscription.since !== undefined) {
      request.since = subscription.since;
    }
    subscription.sent = true;
    subscription.syncing = true;
    subscription.asked = request.since ?? undefined;
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
    handOverEarly(subscription);
    subscription.syncing = false;
    if (subscription.pending !== undefined) advance(subscription, subscription.pending);
    subscription.pending = undefined;
    // Subscribed with no cursor: the log's head when the room was joined is where to resume
    // (servers before gap-free snapshots send none).
    const head: unknown = ack.head;
    if (!subscription.resumes && typeof head === "number") advance(subscription, head);
    subscription.resumes = true;
    subscription.floor ??= newestSeen;
    stats.replayed += ack.replayed;
    if (!ack.complete || subscription.incomplete) options.onIncomplete?.(room);
    subscription.incomplete = false;
    first?.resolve(ack);
  }

  return {
    socket,
    stats,
    get token() {
      return tokens.current;
    },
    storedCursor: (room: Room) => cursors.load(room),
    subscribe<R extends Room>(room: R, handler: RoomHandler<R>, opts?: SubscribeOptions) {
      if (subscriptions.has(room)) {
        return Promise.reject(new Error(`already subscribed to ${room}`));
      }
      return new Promise<SubscribeAck>((resolve, reject) => {
        const since = opts?.since ?? cursors.load(room);
        const early = since === undefined ? { events: [], whole: true } : claimEarly(room, since);
        const subscription: Subscription = {
          room,
          handler: handler as (event: RoomEvent) => void,
          since,
          resumes: since !== undefined,
          floor: newestSeen,
          pending: undefined,
          early: early.events,
          incomplete: !early.whole,
          syncing: false,
          asked: undefined,
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
      tokens.stop();
      socket.disconnect();
    },
  };
}

/** Where a room resumes: its newest handed-over event_id, else the socket's when subscribed. */
function resumeFrom(subscription: Subscription): number | undefined {
  return subscription.since ?? subscription.floor;
}

