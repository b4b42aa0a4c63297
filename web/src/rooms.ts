// The room picker: one checkbox per room the person may join, remembered per user in
// localStorage, plus (for admins) a field to watch another user's `user_{id}` room.

import type { Room } from "@mindwire/client";

import { byId, h } from "./dom.js";
import type { RoomState } from "./live.js";

const DESCRIPTIONS: Record<string, string> = {
  memory_logs: "memory log changes",
  mental_notes: "mental note changes",
  notifications: "notifications to everyone",
  admin: "everyone's status and notifications to admins",
};

export interface RoomPickerHooks {
  subscribe(room: Room): void;
  unsubscribe(room: Room): void;
}

export class RoomPicker {
  private readonly list = byId("room-list", HTMLUListElement);
  private readonly watchForm = byId("watch-user-form", HTMLFormElement);
  private readonly storageKey: string;
  private readonly available: Room[];

  constructor(
    private readonly userId: number,
    isAdmin: boolean,
    private readonly hooks: RoomPickerHooks,
  ) {
    this.storageKey = `mindwire.rooms.${userId}`;
    this.available = ["memory_logs", "mental_notes", "notifications", `user_${userId}`];
    if (isAdmin) this.available.push("admin");
    for (const room of this.available) this.addRow(room);
    this.watchForm.hidden = !isAdmin;
    this.watchForm.onsubmit = (event) => {
      event.preventDefault();
      const input = byId("watch-user-id", HTMLInputElement);
      const room: Room = `user_${Number(input.value)}`;
      if (!this.watchForm.reportValidity()) return;
      input.value = "";
      this.addRow(room);
      this.checkbox(room)?.click();
    };
  }

  /** The rooms to join at start: the stored choice, else every room offered. */
  initial(): Room[] {
    const stored = localStorage.getItem(this.storageKey);
    if (stored === null) return [...this.available];
    try {
      const rooms = JSON.parse(stored) as Room[];
      for (const room of rooms) this.addRow(room);
      return rooms;
    } catch {
      return [...this.available];
    }
  }

  /** Reflect what the server said about `room`. */
  show(room: Room, state: RoomState, detail?: string): void {
    this.addRow(room);
    const box = this.checkbox(room);
    const note = this.list.querySelector<HTMLElement>(`[data-room="${room}"] .room-state`);
    if (!box || !note) return;
    box.checked = state === "joining" || state === "joined";
    note.dataset["state"] = state;
    note.textContent = {
      joining: "joining…",
      joined: "subscribed",
      refused: `refused (${detail ?? "no reason given"})`,
      left: "",
    }[state];
    this.save();
  }

  private addRow(room: Room): void {
    if (this.list.querySelector(`[data-room="${room}"]`)) return;
    const id = `room-${room}`;
    const box = h("input", { type: "checkbox", id, name: "room", value: room });
    box.onchange = () => (box.checked ? this.hooks.subscribe(room) : this.hooks.unsubscribe(room));
    const own = room === `user_${this.userId}`;
    const description =
      DESCRIPTIONS[room] ?? (own ? "everything about you" : "everything about this user");
    this.list.append(
      h(
        "li",
        { "data-room": room },
        box,
        h(
          "label",
          { for: id },
          h("code", {}, room),
          " ",
          h("span", { class: "muted" }, description),
        ),
        h("span", { class: "room-state" }),
      ),
    );
  }

  private checkbox(room: Room): HTMLInputElement | null {
    return this.list.querySelector<HTMLInputElement>(`[data-room="${room}"] input`);
  }

  private save(): void {
    const rooms = [...this.list.querySelectorAll<HTMLInputElement>("input:checked")].map(
      (box) => box.value,
    );
    localStorage.setItem(this.storageKey, JSON.stringify(rooms));
  }
}
