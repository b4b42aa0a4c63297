// The live event list: one row per event_id (type, time, id, the rooms it came through, payload),
// newest id first, capped so a busy room cannot grow the page without end.

import type { Room, RoomEvent } from "@mindwire/client";

import { h, plural, timeElement } from "./dom.js";

const MAX_ROWS = 300;

export class Feed {
  private readonly rows = new Map<number, HTMLLIElement>();

  constructor(
    private readonly list: HTMLOListElement,
    private readonly count: HTMLElement,
    clear: HTMLButtonElement,
  ) {
    clear.onclick = () => this.clear();
    this.updateCount();
  }

  add(event: RoomEvent, room: Room, recovered: boolean): void {
    const { event_id: id, emitted_at: emittedAt } = event.meta;
    if (this.rows.has(id)) {
      this.alsoIn(id, room);
      return;
    }
    const row = h(
      "li",
      {
        class: "event",
        "data-event-id": String(id),
        "data-event-type": event.type,
        "data-recovered": recovered ? "true" : undefined,
      },
      h(
        "div",
        { class: "event-head" },
        h("span", { class: "event-type" }, event.type),
        h("span", { class: "event-id" }, `#${id}`),
        timeElement(emittedAt),
        h("span", { class: "event-rooms", "data-rooms": room }, room),
        recovered ? h("span", { class: "badge" }, "recovered") : null,
      ),
      h("pre", { class: "payload" }, JSON.stringify(event.payload)),
    );
    this.insertInOrder(id, row);
    this.rows.set(id, row);
    while (this.rows.size > MAX_ROWS) {
      const oldest = Math.min(...this.rows.keys());
      this.rows.get(oldest)?.remove();
      this.rows.delete(oldest);
    }
    this.updateCount();
  }

  /** The same event came through another subscribed room: list that room too. */
  alsoIn(id: number, room: Room): void {
    const rooms = this.rows.get(id)?.querySelector<HTMLElement>(".event-rooms");
    if (!rooms) return;
    const names = (rooms.dataset["rooms"] ?? "").split(" ").filter(Boolean);
    if (names.includes(room)) return;
    names.push(room);
    rooms.dataset["rooms"] = names.join(" ");
    rooms.textContent = names.join(", ");
  }

  clear(): void {
    this.rows.clear();
    this.list.replaceChildren();
    this.updateCount();
  }

  /** Rows are kept newest id first; replayed events can be older than live ones shown. */
  private insertInOrder(id: number, row: HTMLLIElement): void {
    for (const existing of this.list.children) {
      if (Number((existing as HTMLElement).dataset["eventId"]) < id) {
        existing.before(row);
        return;
      }
    }
    this.list.append(row);
  }

  private updateCount(): void {
    this.count.textContent = `(${plural(this.rows.size, "event")})`;
  }
}
