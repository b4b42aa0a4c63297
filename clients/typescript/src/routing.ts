// Which room an incoming event belongs to, and what a room event's `meta` looks like.

import { type EventMeta, roomEventTypes } from "./events.js";

const USER_ROOM = /^user_([0-9]+)$/;

/** Whether an event of `type` with `payload` belongs to `room` (by the generated room table). */
export function carries(room: string, type: string, payload: unknown): boolean {
  if (!(roomEventTypes(room) as readonly string[]).includes(type)) return false;
  const user = USER_ROOM.exec(room);
  if (user === null || typeof payload !== "object" || payload === null) return true;
  const owner = (payload as { user_id?: unknown }).user_id;
  return typeof owner !== "number" || owner === Number(user[1]);
}

export function isMeta(value: unknown): value is EventMeta {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as EventMeta).event_id === "number" &&
    typeof (value as EventMeta).event_type === "string"
  );
}
