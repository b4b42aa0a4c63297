// The dashboard at `/`: sign in or register, then a session that wires the panels to the live
// connection. Signing out reloads the page, so every session starts from a clean one.

import type { Room, RoomEvent } from "@mindwire/client";

import { ApiError, api, type MemoryLog, type MentalNote, type User } from "./api.js";
import { byId, field, h, plural, say, timeElement } from "./dom.js";
import { Feed } from "./feed.js";
import { ItemsPanel } from "./items.js";
import { Live, type ConnectionState, type LiveHooks, type RecoverySummary } from "./live.js";
import { NotificationForm, OnlineUsers, OwnStatus } from "./people.js";
import { RoomPicker } from "./rooms.js";

const TOKEN_KEY = "mindwire.token";
const FLASH_KEY = "mindwire.flash";

class Banner {
  private readonly banner = byId("banner", HTMLDivElement);
  private readonly text = byId("banner-text", HTMLParagraphElement);

  constructor() {
    byId("banner-close", HTMLButtonElement).onclick = () => this.hide();
  }

  show(state: string, message: string): void {
    this.banner.dataset["state"] = state;
    this.text.textContent = message;
  }

  hide(): void {
    this.banner.dataset["state"] = "";
    this.text.textContent = "";
  }
}

const banner = new Banner();

const CONNECTION_LABELS = {
  idle: "Not connected",
  connecting: "Connecting…",
  live: "Live",
  lost: "Reconnecting…",
} as const;

function showConnection(state: ConnectionState | "idle"): void {
  const pill = byId("connection", HTMLParagraphElement);
  pill.dataset["state"] = state;
  pill.textContent = CONNECTION_LABELS[state];
}

function signOut(message?: string): void {
  localStorage.removeItem(TOKEN_KEY);
  if (message) sessionStorage.setItem(FLASH_KEY, message);
  window.location.reload();
}

class Session implements LiveHooks {
  private readonly logs: ItemsPanel<MemoryLog>;
  private readonly notes: ItemsPanel<MentalNote>;
  private readonly ownStatus: OwnStatus;
  private readonly online: OnlineUsers | undefined;
  private readonly feed: Feed;
  private readonly rooms: RoomPicker;
  private live: Live | undefined;

  constructor(
    private token: string,
    private readonly user: User,
  ) {
    const getToken = (): string => this.token;
    const expired = (): void => this.unauthorized();
    this.logs = new ItemsPanel<MemoryLog>(
      {
        noun: "memory log",
        path: "/api/memory-logs",
        fields: [
          { name: "content", label: "Content", multiline: true, required: true, maxLength: 10000 },
        ],
        render: (log) => [h("p", { class: "content" }, log.content)],
      },
      {
        form: byId("log-form", HTMLFormElement),
        list: byId("logs-list", HTMLUListElement),
        count: byId("logs-count", HTMLElement),
        error: byId("logs-error", HTMLElement),
      },
      getToken,
      user.id,
      expired,
    );
    this.notes = new ItemsPanel<MentalNote>(
      {
        noun: "mental note",
        path: "/api/mental-notes",
        fields: [
          { name: "title", label: "Title", multiline: false, required: true, maxLength: 200 },
          { name: "content", label: "Note", multiline: true, required: false, maxLength: 10000 },
        ],
        render: (note) => [
          h("h3", { class: "title" }, note.title),
          h("p", { class: "content" }, note.content),
        ],
      },
      {
        form: byId("note-form", HTMLFormElement),
        list: byId("notes-list", HTMLUListElement),
        count: byId("notes-count", HTMLElement),
        error: byId("notes-error", HTMLElement),
      },
      getToken,
      user.id,
      expired,
    );
    this.ownStatus = new OwnStatus(getToken, user.id, expired);
    this.feed = new Feed(
      byId("feed", HTMLOListElement),
      byId("feed-count", HTMLElement),
      byId("feed-clear", HTMLButtonElement),
    );
    this.rooms = new RoomPicker(user.id, user.is_admin, {
      subscribe: (room) => void this.live?.subscribe(room),
      unsubscribe: (room) => void this.live?.unsubscribe(room),
    });
    byId("admin-panel", HTMLElement).hidden = !user.is_admin;
    if (user.is_admin) {
      this.online = new OnlineUsers(getToken, expired);
      new NotificationForm(getToken, expired);
    }
  }

  async start(): Promise<void> {
    const [status, logsAt, notesAt] = await Promise.all([
      this.ownStatus.load(),
      this.logs.load(),
      this.notes.load(),
      this.online?.refresh(),
    ]);
    // The rooms start where the lists were read, so no change falls in between (section 6).
    const positions = [status.position, logsAt, notesAt];
    const read = positions.every((at) => at !== undefined) ? Math.min(...positions) : undefined;
    this.live = new Live(this.token, this, status.newest, read);
    await Promise.all(this.rooms.initial().map((room) => this.live?.subscribe(room, true)));
  }

  // -- LiveHooks --------------------------------------------------------------------------------

  event(event: RoomEvent, room: Room, recovered: boolean): void {
    this.feed.add(event, room, recovered);
    switch (event.type) {
      case "memory_log_created":
      case "memory_log_updated":
        this.logs.upsert(event.payload);
        break;
      case "memory_log_deleted":
        if (event.payload.user_id === this.user.id) this.logs.remove(event.payload.id);
        break;
      case "mental_note_created":
      case "mental_note_updated":
        this.notes.upsert(event.payload);
        break;
      case "mental_note_deleted":
        if (event.payload.user_id === this.user.id) this.notes.remove(event.payload.id);
        break;
      case "notification": {
        const { level, message, audience, created_at: createdAt } = event.payload;
        const notice = byId("last-notification", HTMLParagraphElement);
        notice.dataset["level"] = level;
        notice.replaceChildren(
          `Notification (${level}, to ${audience}) `,
          timeElement(createdAt),
          `: ${message}`,
        );
        notice.hidden = false;
        break;
      }
      case "user_status_changed":
        break; // handled by status(), which sees every one the socket receives
    }
  }

  alsoIn(eventId: number, room: Room): void {
    this.feed.alsoIn(eventId, room);
  }

  status(payload: Parameters<LiveHooks["status"]>[0]): void {
    this.ownStatus.apply(payload);
    this.online?.apply(payload);
  }

  connection(state: ConnectionState, detail?: string): void {
    showConnection(state);
    if (state === "lost") {
      const attempt = detail?.startsWith("attempt") ? ` (${detail})` : "";
      banner.show("lost", `Connection lost. Reconnecting…${attempt}`);
    }
  }

  recovering(): void {
    banner.show("recovering", "Reconnected. Catching up on missed events…");
  }

  recovered({ recovered, incomplete }: RecoverySummary): void {
    const parts = [
      recovered === 0
        ? "Reconnected. No events were missed."
        : `Reconnected. Recovered ${plural(recovered, "missed event")}.`,
    ];
    if (incomplete.length > 0) {
      const rooms = incomplete.join(", ");
      parts.push(`Some older events had expired (${rooms}); the lists were reloaded.`);
    }
    banner.show("recovered", parts.join(" "));
    const rooms = this.live?.subscribed ?? [];
    const own: Room = `user_${this.user.id}`;
    if (!rooms.includes("memory_logs") && !rooms.includes(own)) void this.logs.load();
    if (!rooms.includes("mental_notes") && !rooms.includes(own)) void this.notes.load();
    void this.online?.refresh();
  }

  room(room: Room, state: Parameters<LiveHooks["room"]>[1], detail?: string): void {
    this.rooms.show(room, state, detail);
    if (this.online) this.online.live = this.live?.subscribed.includes("admin") ?? false;
  }

  incomplete(room: Room): void {
    if (room === "memory_logs" || room.startsWith("user_")) void this.logs.load();
    if (room === "mental_notes" || room.startsWith("user_")) void this.notes.load();
  }

  tokenRefreshed(token: string): void {
    this.token = token;
    localStorage.setItem(TOKEN_KEY, token);
  }

  unauthorized(): void {
    this.live?.close();
    signOut("Your session has expired or was refused. Please sign in again.");
  }
}

// -- signing in ---------------------------------------------------------------------------------

async function begin(token: string): Promise<void> {
  const user = await api.me(token);
  localStorage.setItem(TOKEN_KEY, token);
  byId("auth", HTMLElement).hidden = true;
  byId("app", HTMLDivElement).hidden = false;
  byId("whoami", HTMLDivElement).hidden = false;
  byId("whoami-name", HTMLSpanElement).textContent =
    `${user.display_name ?? user.email}${user.is_admin ? " (admin)" : ""}`;
  document.title = `Mindwire: ${user.display_name ?? user.email}`;
  // The form that had the focus is gone: start keyboard users at the top of the dashboard.
  byId("main", HTMLElement).focus();
  await new Session(token, user).start();
}

function showSignIn(): void {
  showConnection("idle");
  byId("auth", HTMLElement).hidden = false;
  byId("app", HTMLDivElement).hidden = true;
  byId("whoami", HTMLDivElement).hidden = true;
  const error = byId("auth-error", HTMLParagraphElement);
  const flash = sessionStorage.getItem(FLASH_KEY);
  sessionStorage.removeItem(FLASH_KEY);
  if (flash) say(error, flash);

  const signInForm = byId("sign-in-form", HTMLFormElement);
  signInForm.onsubmit = (event) => {
    event.preventDefault();
    if (!signInForm.reportValidity()) return;
    void attempt(error, async () => {
      const email = field(signInForm, "email");
      const { access_token: token } = await api.signIn(email, field(signInForm, "password"));
      await begin(token);
    });
  };
  const registerForm = byId("register-form", HTMLFormElement);
  registerForm.onsubmit = (event) => {
    event.preventDefault();
    if (!registerForm.reportValidity()) return;
    const email = field(registerForm, "email");
    const password = field(registerForm, "password");
    void attempt(error, async () => {
      await api.register(email, password, field(registerForm, "display_name"));
      const { access_token: token } = await api.signIn(email, password);
      await begin(token);
    });
  };
  byId("sign-in-email", HTMLInputElement).focus();
}

async function attempt(error: HTMLElement, action: () => Promise<void>): Promise<void> {
  say(error, "");
  try {
    await action();
  } catch (failure) {
    const message =
      failure instanceof ApiError && failure.status === 401
        ? "Incorrect email or password."
        : failure instanceof ApiError && failure.status === 409
          ? "An account with this email already exists: sign in instead."
          : failure instanceof Error
            ? failure.message
            : String(failure);
    say(error, message);
  }
}

async function boot(): Promise<void> {
  byId("sign-out", HTMLButtonElement).onclick = () => signOut();
  const token = localStorage.getItem(TOKEN_KEY);
  if (token === null) {
    showSignIn();
    return;
  }
  try {
    await begin(token);
  } catch (failure) {
    localStorage.removeItem(TOKEN_KEY);
    showSignIn();
    if (!(failure instanceof ApiError && failure.status === 401)) {
      const message = failure instanceof Error ? failure.message : String(failure);
      say(byId("auth-error", HTMLParagraphElement), message);
    }
  }
}

void boot();
