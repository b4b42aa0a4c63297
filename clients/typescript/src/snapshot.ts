// Gap-free snapshots: a REST list says at which log position it was read (`position`, also the
// `X-Log-Position` header). Subscribing with `since = position` then replays exactly the events
// the list does not reflect yet, so no change falls between the list and the live events.

import type { Room, SubscribeAck } from "./events.js";
import type { MindwireClient, RoomHandler } from "./types.js";

/** A REST list body: `position` is the log position it was read at. */
export interface Snapshot {
  position: number;
}

/** Where `room` starts after a list read at `position`: its stored cursor when that is older (the
 * events between are delivered again, which an idempotent list applies harmlessly, and a reloaded
 * page shows what arrived while it reloaded), else `position`. Without a position: the cursor. */
export function sinceAfterLoad(
  client: MindwireClient,
  room: Room,
  position: number | undefined,
): number | undefined {
  const stored = client.storedCursor(room);
  if (position === undefined) return stored;
  return Math.min(stored ?? position, position);
}

/** Load a list through REST, then subscribe to `room` from the position it was read at. */
export async function loadThenSubscribe<R extends Room, L extends Snapshot>(
  client: MindwireClient,
  room: R,
  load: () => Promise<L>,
  handler: RoomHandler<R>,
): Promise<{ list: L; ack: SubscribeAck }> {
  const list = await load();
  const since = sinceAfterLoad(client, room, list.position);
  const ack = await client.subscribe(room, handler, since === undefined ? {} : { since });
  return { list, ack };
}
