// A real Mindwire for the end-to-end test: `mindwire migrate` then `mindwire serve` on a free
// port with a SQLite file in a temporary folder, and the few REST calls the test makes.

import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** `MINDWIRE_BIN`, or the project's own venv two folders up. */
export const MINDWIRE_BIN =
  process.env.MINDWIRE_BIN ?? join(PACKAGE_ROOT, "..", "..", ".venv", "bin", "mindwire");

export const mindwireAvailable = (): boolean => existsSync(MINDWIRE_BIN);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export async function waitFor(what: string, ready: () => boolean | Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export class MindwireServer {
  private child: ChildProcess | undefined;
  private output = "";
  port = 0;

  constructor(
    private readonly folder: string,
    /** More settings, e.g. `{ACCESS_TOKEN_TTL_SECONDS: "4"}`. */
    private readonly settings: Record<string, string> = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.REDIS_URL;
    return {
      ...env,
      DATABASE_URL: `sqlite+aiosqlite:///${join(this.folder, "mindwire.db")}`,
      SECRET_KEY: "e2e-secret-key-that-is-long-enough-for-hs256",
      LOG_LEVEL: "WARNING",
      EVENT_RETENTION_SECONDS: "3600",
      ...this.settings,
    };
  }

  async migrate(): Promise<void> {
    await promisify(execFile)(MINDWIRE_BIN, ["migrate"], { env: this.env(), timeout: 60_000 });
  }

  /** Start (or restart, on the same port) and wait until `/health` answers. */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const args = ["serve", "--host", "127.0.0.1", "--port", String(this.port)];
    const child = spawn(MINDWIRE_BIN, args, { env: this.env(), stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    child.stdout?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    await waitFor("mindwire serve to answer /health", async () => {
      if (child.exitCode !== null) throw new Error(`mindwire serve exited:\n${this.output}`);
      try {
        return (await fetch(`${this.url}/health`)).ok;
      } catch {
        return false;
      }
    });
  }

  /** Kill the process at once (SIGKILL: no graceful shutdown, like a crash). */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }

  get log(): string {
    return this.output;
  }
}

/** The REST calls the test needs, as one signed-in user. */
export class Api {
  token = "";

  constructor(private readonly url: string) {}

  async signUp(email: string, password: string): Promise<string> {
    await this.call("POST", "/api/auth/register", { email, password }, 201);
    const response = await fetch(`${this.url}/api/auth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username: email, password }),
    });
    if (!response.ok) throw new Error(`token: HTTP ${response.status}`);
    this.token = ((await response.json()) as { access_token: string }).access_token;
    return this.token;
  }

  async call<T = { id: number }>(method: string, path: string, body?: unknown, expect = 200) {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status !== expect) {
      throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`);
    }
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}

/** A migrated, started server in a temporary folder of its own, and a way to clean it up. */
export interface E2ERun {
  server: MindwireServer;
  api: Api;
  /** Stop the server and delete its folder. */
  stop(): Promise<void>;
}

/**
 * Start an end-to-end run, or skip the test when there is no `mindwire` to run (a failure
 * instead when `MINDWIRE_E2E_REQUIRED` is set, as `make test` sets it).
 */
export async function startE2E(
  t: TestContext,
  name: string,
  settings: Record<string, string> = {},
): Promise<E2ERun | undefined> {
  if (!mindwireAvailable()) {
    const reason = `no mindwire at ${MINDWIRE_BIN} (set MINDWIRE_BIN)`;
    if (process.env.MINDWIRE_E2E_REQUIRED) assert.fail(reason);
    t.skip(reason);
    return undefined;
  }
  const folder = await mkdtemp(join(tmpdir(), `mindwire-${name}-`));
  const server = new MindwireServer(folder, settings);
  const stop = async () => {
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  };
  try {
    await server.migrate();
    await server.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return { server, api: new Api(server.url), stop };
}
