// The page's live connection: the typed client of clients/typescript, the rooms the person picked,
// and the reconnect bookkeeping behind the banner.
//
// The typed client resubscribes with `since` after every reconnect and drops repeats by event_id.
// This module counts what that recovered: every event first seen between a reconnect and the
// `subscribed` reply of every room, whose id is above the newest one seen before the drop.

import {
  connect,
  sinceAfterLoad,
  type EventMeta,
  type MindwireClient,
  type Room,
  type RoomEvent,
  type SubscribeAck,
  type UserStatusChangedEvent,
} from "@mindwire/client";

export type ConnectionState = "connecting" | "live" | "lost";
export type RoomState = "joining" | "joined" | "left" | "refused";

export interface RecoverySummary {
  /** Events missed while disconnected and delivered by the replay. */
  recovered: number;
  /** What the server reported as replayed, over every room (repeats included). */
  replayed: number;
  /** Rooms whose replay was incomplete (events already past the retention window). */
  incomplete: Room[];
}

export interface LiveHooks {
  /** A room event seen for the first time; `recovered` when the replay brought it. */
  event(event: RoomEvent, room: Room, recovered: boolean): void;
  /** An event already shown, delivered again through another subscribed room. */
  alsoIn(eventId: number, room: Room): void;
  /** Any `user_status_changed` the socket receives (own room, or `admin`), live or replayed. */
  status(payload: UserStatusChangedEvent, meta: EventMeta): void;
  connection(state: ConnectionState, detail?: string): void;
  recovering(): void;
  recovered(summary: RecoverySummary): void;
  room(room: Room, state: RoomState, detail?: string): void;
  /** A (re)subscription answered `complete: false`: reload that room's data through REST. */
  incomplete(room: Room): void;
  /** The token was refused, or could not be refreshed in time: the person must sign in again. */
  unauthorized(): void;
  /** The client refreshed its access token (REST calls and the next page load use it). */
  tokenRefreshed(token: string): void;
}

const RECOVERY_TIMEOUT_MS = 15_000;

interface Recovery {
  mark: number;
  pending: Set<string>;
  recovered: number;
  replayed: number;
  incomplete: Room[];
  timer: number;
}

export class Live {
  private readonly client: MindwireClient;
  private readonly rooms = new Map<Room, RoomState>();
  private readonly delivered = new Set<number>();
  private highestSeen = 0;
  private lostAfter: number | undefined;
  /** Events recovered by a catch-up that a new drop interrupted (reported with the next one). */
  private carried = 0;
  private recovery: Recovery | undefined;
  private closed = false;

  constructor(
    token: string,
    private readonly hooks: LiveHooks,
    /** The newest event id the page already knows of (where first subscriptions start). */
    baseline: number,
    /** The log position the page's lists were read at, when the server says. */
    private readonly position: number | undefined = undefined,
  ) {
    this.highestSeen = baseline;
    this.client = connect(window.location.origin, {
      token,
      onIncomplete: (room) => {
        this.recovery?.incomplete.push(room);
        hooks.incomplete(room);
      },
      onSubscribeError: (room, error) => {
        this.rooms.delete(room);
        this.recovery?.pending.delete(room);
        hooks.room(room, "refused", `${error.code}: ${error.message}`);
        this.finishRecoveryIfDone();
      },
      onTokenRefreshed: (fresh) => hooks.tokenRefreshed(fresh),
      onTokenError: () => hooks.unauthorized(),
      // A restart should not leave the page waiting long: retry at least every 3 s.
      socketOptions: { reconnectionDelay: 500, reconnectionDelayMax: 3000 },
    });
    const { socket } = this.client;
    hooks.connection("connecting");
    socket.onAny((_event: string, _payload: unknown, meta: unknown) => {
      const id = (meta as EventMeta | undefined)?.event_id;
      if (typeof id === "number") this.highestSeen = Math.max(this.highestSeen, id);
    });
    socket.on("connect", () => this.connected());
    socket.on("disconnect", (reason) => {
      if (this.closed || reason === "io client disconnect") return;
      this.dropRecovery();
      this.lostAfter ??= this.highestSeen;
      hooks.connection("lost", reason);
      // The server ended the session on purpose: socket.io-client will not retry by itself.
      if (reason === "io server disconnect") this.retry(1000);
    });
    socket.on("connect_error", (error) => {
      if (error.message === "unauthorized") {
        hooks.unauthorized();
        return;
      }
      // Refused by the server for another reason: socket.io-client stops; try again later.
      if (!socket.active) this.retry(3000);
    });
    socket.io.on("reconnect_attempt", (attempt) => hooks.connection("lost", `attempt ${attempt}`));
    socket.on("subscribed", ({ event_type, replayed }) => this.resubscribed(event_type, replayed));
    socket.on("user_status_changed", (payload, meta) => hooks.status(payload, meta));
  }

  /** The rooms asked for (joined, or waiting for the server's answer). */
  get subscribed(): Room[] {
    return [...this.rooms.keys()];
  }

  /** The current access token (the client refreshes it before it expires). */
  get token(): string {
    return this.client.token;
  }

  /** Join `room`. Events after the newest id the page knows of are replayed first; with
   * `resume` (the rooms joined as the page loads), after the room's cursor kept in this tab
   * (sessionStorage) if it is older: a reloaded page shows what arrived while it reloaded. */
  async subscribe(room: Room, resume = false): Promise<SubscribeAck | undefined> {
    if (this.rooms.has(room)) return undefined;
    this.rooms.set(room, "joining");
    this.hooks.room(room, "joining");
    const kept = resume ? sinceAfterLoad(this.client, room, this.position) : undefined;
    const from = kept ?? this.highestSeen;
    const since = from > 0 ? { since: from } : {};
    try {
      const ack = await this.client.subscribe(room, (event) => this.deliver(room, event), since);
      this.rooms.set(room, "joined");
      this.hooks.room(room, "joined", `replayed ${ack.replayed}`);
      return ack;
    } catch (error) {
      // Refusals were reported through onSubscribeError; anything else means we left.
      if (!this.closed && this.rooms.get(room) === "joining") {
        this.rooms.delete(room);
        this.hooks.room(room, "left", error instanceof Error ? error.message : String(error));
      }
      return undefined;
    }
  }

  async unsubscribe(room: Room): Promise<void> {
    if (!this.rooms.delete(room)) return;
    this.recovery?.pending.delete(room);
    this.hooks.room(room, "left");
    try {
      await this.client.unsubscribe(room);
    } catch {
      // Not connected or no ack: the server forgets the room with the connection anyway.
    }
    this.finishRecoveryIfDone();
  }

  private retry(delayMs: number): void {
    window.setTimeout(() => {
      if (!this.closed && !this.client.socket.connected) this.client.socket.connect();
    }, delayMs);
  }

  close(): void {
    this.closed = true;
    this.dropRecovery();
    this.client.close();
  }

  private deliver(room: Room, event: RoomEvent): void {
    const id = event.meta.event_id;
    if (this.delivered.has(id)) {
      this.hooks.alsoIn(id, room);
      return;
    }
    this.delivered.add(id);
    const recovered = this.recovery !== undefined && id > this.recovery.mark;
    if (recovered && this.recovery) this.recovery.recovered += 1;
    this.hooks.event(event, room, recovered);
  }

  private connected(): void {
    this.hooks.connection("live");
    if (this.lostAfter === undefined) return;
    const [mark, carried] = [this.lostAfter, this.carried];
    this.lostAfter = undefined;
    this.carried = 0;
    this.recovery = {
      mark,
      pending: new Set(this.rooms.keys()),
      recovered: carried,
      replayed: 0,
      incomplete: [],
      timer: window.setTimeout(() => this.finishRecovery(), RECOVERY_TIMEOUT_MS),
    };
    this.hooks.recovering();
    this.finishRecoveryIfDone();
  }

  /** The `subscribed` reply follows a room's replayed events: once every room has answered,
   * everything missed has arrived. */
  private resubscribed(room: string, replayed: number): void {
    if (this.recovery === undefined || !this.recovery.pending.delete(room)) return;
    this.recovery.replayed += replayed;
    this.finishRecoveryIfDone();
  }

  private finishRecoveryIfDone(): void {
    if (this.recovery !== undefined && this.recovery.pending.size === 0) this.finishRecovery();
  }

  /** The connection dropped again mid catch-up: resume counting from the first drop. */
  private dropRecovery(): void {
    const recovery = this.recovery;
    if (recovery === undefined) return;
    this.recovery = undefined;
    window.clearTimeout(recovery.timer);
    this.lostAfter = recovery.mark;
    this.carried = recovery.recovered;
  }

  private finishRecovery(): void {
    const recovery = this.recovery;
    if (recovery === undefined) return;
    this.recovery = undefined;
    window.clearTimeout(recovery.timer);
    if (this.closed) return;
    const { recovered, replayed, incomplete } = recovery;
    this.hooks.recovered({ recovered, replayed, incomplete });
  }
}
