// Where the client keeps each room's cursor (the newest event_id handed over), so a reloaded page
// subscribes with `since` and resumes where the last one stopped.

import { tokenClaims } from "./tokens.js";

/** The part of Web Storage (`sessionStorage`, `localStorage`) the store uses. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** A room's cursor, kept between page loads (or not). */
export interface CursorStore {
  load(room: string): number | undefined;
  save(room: string, eventId: number): void;
}

/** Forgets everything with the process: the default where there is no sessionStorage (Node). */
export class MemoryCursorStore implements CursorStore {
  private readonly cursors = new Map<string, number>();

  load(room: string): number | undefined {
    return this.cursors.get(room);
  }

  save(room: string, eventId: number): void {
    this.cursors.set(room, eventId);
  }
}

/** Web Storage (sessionStorage by default: per tab, kept across reloads) under `prefix`. */
export class StorageCursorStore implements CursorStore {
  constructor(
    private readonly storage: KeyValueStorage,
    private readonly prefix: string,
  ) {}

  load(room: string): number | undefined {
    const value = Number(this.storage.getItem(this.prefix + room) ?? Number.NaN);
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }

  save(room: string, eventId: number): void {
    try {
      this.storage.setItem(this.prefix + room, String(eventId));
    } catch {
      // Storage full or refused (private mode): the cursor lives on in the client anyway.
    }
  }
}

/** The key prefix of one user on one server, so two of either in one tab never mix. */
export function cursorPrefix(url: string, token: string): string {
  const { sub } = tokenClaims(token);
  const origin = new URL(url).origin;
  return `mindwire.cursor|${origin}|${typeof sub === "string" ? sub : "?"}|`;
}

/** sessionStorage in a browser, memory elsewhere. */
export function defaultCursorStore(url: string, token: string): CursorStore {
  const storage = (globalThis as { sessionStorage?: KeyValueStorage }).sessionStorage;
  return storage === undefined
    ? new MemoryCursorStore()
    : new StorageCursorStore(storage, cursorPrefix(url, token));
}
