// Presence: the signed-in person's own status (shown and set), and for admins who is online,
// kept live by `user_status_changed` from the `admin` room, and the notification form.

import type { EventMeta, UserStatusChangedEvent } from "@mindwire/client";

import { ApiError, api, type NotificationRequest, type Presence, type UserStatus } from "./api.js";
import { byId, field, h, say, timeElement } from "./dom.js";

/** How many pages of the person's own room are read to find their current status. */
const STATUS_PAGES = 10;
const PAGE_SIZE = 1000;

export class OwnStatus {
  private readonly value = byId("my-status", HTMLElement);
  private readonly since = byId("my-status-since", HTMLElement);
  private readonly form = byId("status-form", HTMLFormElement);
  private readonly select = byId("status-select", HTMLSelectElement);
  private readonly error = byId("status-error", HTMLElement);
  private changedAt = 0;

  constructor(
    private readonly token: () => string,
    private readonly userId: number,
    private readonly onUnauthorized: () => void,
  ) {
    this.form.onsubmit = (event) => {
      event.preventDefault();
      void this.set(this.select.value as UserStatus);
    };
    this.show(undefined);
  }

  /** Find the newest `user_status_changed` of the person's own room; returns the newest
   * event id of that room (where the page's subscriptions start), and the log position the
   * last page was read at (when the server says). */
  async load(): Promise<{ newest: number; position: number | undefined }> {
    let after = 0;
    let position: number | undefined;
    let latest: UserStatusChangedEvent | undefined;
    try {
      for (let page = 0; page < STATUS_PAGES; page += 1) {
        const room = `user_${this.userId}`;
        const answer = await api.events(this.token(), room, after, PAGE_SIZE);
        const { items } = answer;
        position = answer.position;
        for (const item of items) {
          after = Math.max(after, item.event_id);
          if (item.event_type === "user_status_changed") {
            latest = item.data as UserStatusChangedEvent;
          }
        }
        if (items.length < PAGE_SIZE) break;
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.onUnauthorized();
      else say(this.error, error instanceof Error ? error.message : String(error));
    }
    if (latest) this.apply(latest);
    return { newest: after, position };
  }

  /** A status change seen on the socket (anyone's when subscribed to `admin`). */
  apply(payload: UserStatusChangedEvent, _meta?: EventMeta): void {
    if (payload.user_id !== this.userId) return;
    const changedAt = Date.parse(payload.changed_at);
    if (changedAt < this.changedAt) return;
    this.changedAt = changedAt;
    this.show(payload);
  }

  private async set(status: UserStatus): Promise<void> {
    try {
      this.apply(await api.setStatus(this.token(), status));
      say(this.error, "");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.onUnauthorized();
      else say(this.error, error instanceof Error ? error.message : String(error));
    }
  }

  private show(payload: UserStatusChangedEvent | undefined): void {
    const status = payload?.status ?? "unknown";
    this.value.textContent = status;
    this.value.dataset["status"] = status;
    this.since.replaceChildren(...(payload ? ["since ", timeElement(payload.changed_at)] : []));
    if (payload) this.select.value = payload.status;
  }
}

export class OnlineUsers {
  private readonly list = byId("online-list", HTMLUListElement);
  private readonly hint = byId("online-hint", HTMLElement);
  private readonly users = new Map<number, Presence>();
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly token: () => string,
    private readonly onUnauthorized: () => void,
  ) {
    byId("online-refresh", HTMLButtonElement).onclick = () => void this.refresh();
  }

  /** Whether the `admin` room (which carries everyone's status changes) is subscribed. */
  set live(live: boolean) {
    this.hint.textContent = live
      ? "Updates live through the admin room."
      : "Subscribe to the admin room for live updates, or press Refresh.";
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  apply(payload: UserStatusChangedEvent): void {
    const known = this.users.get(payload.user_id);
    if (known === undefined) {
      // Someone the list has not met: their name comes from the REST list.
      if (payload.status !== "offline") void this.refresh();
      return;
    }
    if (Date.parse(payload.changed_at) < Date.parse(known.status_changed_at)) return;
    if (payload.status === "offline") this.users.delete(payload.user_id);
    else {
      const { status, changed_at: changedAt } = payload;
      this.users.set(known.id, { ...known, status, status_changed_at: changedAt });
    }
    this.render();
  }

  private async load(): Promise<void> {
    try {
      const users = await api.online(this.token());
      this.users.clear();
      for (const user of users) this.users.set(user.id, user);
      this.render();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.onUnauthorized();
      else this.hint.textContent = error instanceof Error ? error.message : String(error);
    }
  }

  private render(): void {
    const users = [...this.users.values()].sort((a, b) => a.email.localeCompare(b.email));
    this.list.replaceChildren(
      ...users.map((user) =>
        h(
          "li",
          { "data-user-id": String(user.id), "data-status": user.status },
          h(
            "span",
            { class: "name" },
            user.display_name ? `${user.display_name} ` : "",
            h("span", { class: "muted" }, `${user.email} · id ${user.id}`),
          ),
          " ",
          h("span", { class: "status", "data-status": user.status }, user.status),
          " ",
          h("span", { class: "muted" }, "since ", timeElement(user.status_changed_at)),
        ),
      ),
    );
    if (users.length === 0) this.list.append(h("li", { class: "muted" }, "No one is online."));
  }
}

export class NotificationForm {
  private readonly form = byId("notify-form", HTMLFormElement);
  private readonly audience = byId("notify-audience", HTMLSelectElement);
  private readonly user = byId("notify-user", HTMLInputElement);
  private readonly result = byId("notify-result", HTMLElement);
  private readonly error = byId("notify-error", HTMLElement);

  constructor(
    private readonly token: () => string,
    private readonly onUnauthorized: () => void,
  ) {
    this.audience.onchange = () => {
      const toUser = this.audience.value === "user";
      this.user.disabled = !toUser;
      this.user.required = toUser;
    };
    this.form.onsubmit = (event) => {
      event.preventDefault();
      void this.send();
    };
  }

  private async send(): Promise<void> {
    if (!this.form.reportValidity()) return;
    const request: NotificationRequest = {
      message: field(this.form, "message"),
      level: field(this.form, "level") as NotificationRequest["level"],
      audience: field(this.form, "audience") as NotificationRequest["audience"],
    };
    if (request.audience === "user") request.user_id = Number(this.user.value);
    try {
      const accepted = await api.notify(this.token(), request);
      say(this.error, "");
      say(this.result, `Sent to ${accepted.audience} (event #${accepted.event_id}).`);
      byId("notify-message", HTMLTextAreaElement).value = "";
    } catch (error) {
      say(this.result, "");
      if (error instanceof ApiError && error.status === 401) this.onUnauthorized();
      else say(this.error, error instanceof Error ? error.message : String(error));
    }
  }
}
