// Staying signed in: the client swaps its access token for a new one before it expires, and when
// the server says `token_expired`, without the password. The new token goes to the live socket
// (`refresh_token`) and is the one every later reconnect sends.

/** Gives a new access token for the current one (default: `POST /api/auth/refresh`). */
export type TokenSource = (current: string) => Promise<string>;

export interface TokenKeeperOptions {
  /** The token to start with (a function is read at every use until the first refresh). */
  initial: string | (() => string);
  /** Where new tokens come from; `false` turns refreshing off. */
  source: TokenSource | false;
  /** Refresh this long before `exp` (capped at half the token's lifetime). */
  aheadMs: number;
  /** Hands a new token to the live socket; false: the server refused it (reported). */
  apply: (token: string) => Promise<boolean>;
  /** Called with every new token (e.g. to keep it for the next page load). */
  onRefreshed?: ((token: string) => void) | undefined;
  /** Called when no new token could be had before the current one ran out. */
  onError?: ((error: unknown) => void) | undefined;
}

interface Claims {
  sub?: unknown;
  exp?: unknown;
  iat?: unknown;
}

const RETRY_MS = 2_000;

/** The claims of a JWT, unverified (the server verifies; the client only reads times and ids). */
export function tokenClaims(token: string): Claims {
  const part = token.split(".")[1];
  if (part === undefined) return {};
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const parsed: unknown = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")));
    return typeof parsed === "object" && parsed !== null ? (parsed as Claims) : {};
  } catch {
    return {};
  }
}

/** `POST {url}/api/auth/refresh` with the current token as the bearer. */
export function restRefresh(url: string): TokenSource {
  return async (current) => {
    const response = await fetch(new URL("/api/auth/refresh", url), {
      method: "POST",
      headers: { Authorization: `Bearer ${current}`, Accept: "application/json" },
    });
    if (!response.ok) throw new Error(`POST /api/auth/refresh: HTTP ${response.status}`);
    return ((await response.json()) as { access_token: string }).access_token;
  };
}

/** Holds the current token and refreshes it on time; one refresh runs at a time. */
export class TokenKeeper {
  private refreshed: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: TokenKeeperOptions) {
    this.schedule();
  }

  /** The token to send now (at connect, and by the caller's REST calls). */
  get current(): string {
    if (this.refreshed !== undefined) return this.refreshed;
    const { initial } = this.options;
    return typeof initial === "function" ? initial() : initial;
  }

  /** Refresh now (the server said `token_expired`, or the caller asks). */
  refresh(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private async run(): Promise<void> {
    const { source } = this.options;
    if (source === false || this.stopped) return;
    let token: string;
    try {
      token = await source(this.current);
    } catch (error) {
      if (!this.stopped) this.failed(error);
      return;
    }
    if (this.stopped) return;
    this.refreshed = token;
    this.options.onRefreshed?.(token);
    if (!(await this.options.apply(token))) {
      this.options.onError?.(new Error("the server refused the new token (refresh_token)"));
    }
    this.schedule();
  }

  /** Try again while the current token still has time left; else report the failure. */
  private failed(error: unknown): void {
    const left = msUntilExpiry(this.current);
    if (left !== undefined && left > RETRY_MS) this.arm(RETRY_MS);
    else this.options.onError?.(error);
  }

  private schedule(): void {
    if (this.options.source === false) return;
    const claims = tokenClaims(this.current);
    if (typeof claims.exp !== "number") return;
    const lifetimeMs = typeof claims.iat === "number" ? (claims.exp - claims.iat) * 1000 : Infinity;
    const ahead = Math.min(this.options.aheadMs, lifetimeMs / 2);
    this.arm(Math.max(0, claims.exp * 1000 - Date.now() - ahead));
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), delayMs);
  }
}

function msUntilExpiry(token: string): number | undefined {
  const { exp } = tokenClaims(token);
  return typeof exp === "number" ? exp * 1000 - Date.now() : undefined;
}
