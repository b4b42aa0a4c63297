// The client's public types: connect options, the client's methods and its counters.

import type { ManagerOptions, Socket, SocketOptions } from "socket.io-client";

import type {
  ClientToServerEvents,
  ErrorAck,
  Room,
  RoomEvent,
  ServerToClientEvents,
  SubscribeAck,
} from "./events.js";
import type { CursorStore } from "./cursors.js";
import type { TokenSource } from "./tokens.js";

/** socket.io-client's `Socket`, typed with the generated event maps. */
export type MindwireSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type SocketFactory = (
  url: string,
  options: Partial<ManagerOptions & SocketOptions>,
) => MindwireSocket;

export interface ConnectOptions {
  /** The access token from `POST /api/auth/token`, or a function that returns the current one. */
  token: string | (() => string);
  /** Gives a new token for the current one before it expires, and on `token_expired`
   * (default: `POST /api/auth/refresh`); `false`: never refresh. */
  refreshToken?: TokenSource | false;
  /** Refresh this many seconds before the token's `exp` (default 60, at most half its
   * lifetime). */
  refreshAheadSeconds?: number;
  /** Called with every new token, e.g. to keep it for the next page load. */
  onTokenRefreshed?: (token: string) => void;
  /** Called when no new token could be had in time: the user must sign in again. */
  onTokenError?: (error: unknown) => void;
  /** Where each room's cursor is kept (default: sessionStorage in a browser, else memory). */
  cursors?: CursorStore;
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
  /** Resume after this event_id (default: the room's stored cursor, if any). */
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
  /** The current access token (it changes with every refresh): use it for REST calls too. */
  readonly token: string;
  /** The cursor kept for `room` from an earlier page load, if any. */
  storedCursor(room: Room): number | undefined;
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
