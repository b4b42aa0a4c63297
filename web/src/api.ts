// The REST API, as the page uses it. Item and status payloads reuse the types
// generated from the Python schemas (clients/typescript/src/events.ts): REST answers and event
// payloads are the same models.

import type {
  MemoryLogEvent,
  MentalNoteEvent,
  NotificationEvent,
  UserStatusChangedEvent,
} from "@mindwire/client";

export type UserStatus = UserStatusChangedEvent["status"];
export type MemoryLog = MemoryLogEvent;
export type MentalNote = MentalNoteEvent;
export type StatusPublic = UserStatusChangedEvent;

export interface User {
  id: number;
  email: string;
  display_name: string | null;
  is_admin: boolean;
  created_at: string;
}

export interface Presence {
  id: number;
  email: string;
  display_name: string | null;
  status: UserStatus;
  status_changed_at: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  /** The event-log position the list was read at (servers with gap-free snapshots). */
  position?: number;
}

export interface LoggedEvent {
  event_id: number;
  event_type: string;
  data: unknown;
  emitted_at: string;
}

export interface NotificationRequest {
  message: string;
  level: NotificationEvent["level"];
  audience: NotificationEvent["audience"];
  user_id?: number;
}

/** A REST call that answered with an error status; `message` is readable by a person. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

interface RequestOptions {
  token?: string | undefined;
  json?: unknown;
  form?: Record<string, string>;
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: string | undefined;
  if (options.token) headers["Authorization"] = `Bearer ${options.token}`;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(options.form).toString();
  }
  let response: Response;
  try {
    const init: RequestInit = body === undefined ? { method, headers } : { method, headers, body };
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "The server cannot be reached. Check the connection and try again.");
  }
  if (response.status === 204) return undefined as T;
  const payload: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, describeError(response, payload));
  return payload as T;
}

/** FastAPI's `{"detail": …}`: a string, or a list of validation errors. */
function describeError(response: Response, payload: unknown): string {
  const detail = (payload as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((item: { loc?: unknown[]; msg?: string }) => {
        const where = (item.loc ?? []).filter((part) => part !== "body").join(".");
        return where ? `${where}: ${item.msg ?? "invalid"}` : (item.msg ?? "invalid");
      })
      .join("; ");
  }
  if (response.status === 429) {
    return `Too many attempts; try again in ${response.headers.get("Retry-After") ?? "a few"} s.`;
  }
  return `The server answered ${response.status} ${response.statusText}.`;
}

export const api = {
  register: (email: string, password: string, displayName: string) =>
    request<User>("POST", "/api/auth/register", {
      json: { email, password, display_name: displayName || null },
    }),
  signIn: (email: string, password: string) =>
    request<{ access_token: string; expires_in: number }>("POST", "/api/auth/token", {
      form: { username: email, password },
    }),
  me: (token: string) => request<User>("GET", "/api/users/me", { token }),
  setStatus: (token: string, status: UserStatus) =>
    request<StatusPublic>("PUT", "/api/users/me/status", { token, json: { status } }),
  online: (token: string) => request<Presence[]>("GET", "/api/users/online", { token }),
  events: (token: string, room: string, after: number, limit: number) =>
    request<{ items: LoggedEvent[]; position?: number }>(
      "GET",
      `/api/events?${new URLSearchParams({ room, after: String(after), limit: String(limit) })}`,
      { token },
    ),
  notify: (token: string, notification: NotificationRequest) =>
    request<{ event_id: number; audience: string }>("POST", "/api/notifications", {
      token,
      json: notification,
    }),
  list: <T>(token: string, path: string) => request<Page<T>>("GET", `${path}?limit=100`, { token }),
  create: <T>(token: string, path: string, data: Record<string, string>) =>
    request<T>("POST", path, { token, json: data }),
  update: <T>(token: string, path: string, id: number, data: Record<string, string>) =>
    request<T>("PATCH", `${path}/${id}`, { token, json: data }),
  remove: (token: string, path: string, id: number) =>
    request<void>("DELETE", `${path}/${id}`, { token }),
};
