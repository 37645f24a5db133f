// What the browser tests share: a real `confab serve --dev` (the binary, a temp data
// directory, SQLite), headless Chromium from Debian driven by Playwright, REST calls as an
// app backend makes them, and waiting on conditions with a timeout (never a bare sleep).

import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** How long any wait lasts before the test fails. */
export const WAIT_MS = 20_000;

/** Where the test run saves its screenshots. */
export const SCREENSHOTS = process.env.CONFAB_SCREENSHOTS ?? join(ROOT, "target", "browser-screenshots");

/** The same fixed credentials as the Rust testkit's test_credentials(). */
export const CREDENTIALS = {
  accountSid: `AC${"0a".repeat(16)}`,
  authToken: "test-auth-token-0123456789",
  apiKeySid: `SK${"0b".repeat(16)}`,
  apiKeySecret: "test-api-key-secret-0123456789",
};

function binary() {
  const bin = process.env.CONFAB_BIN ?? join(ROOT, "target", "debug", "confab");
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: run cargo build -p confab first (or set CONFAB_BIN)`);
  return bin;
}

/** The Chromium to drive: CONFAB_CHROMIUM, else Debian's. */
export function chromiumPath() {
  return process.env.CONFAB_CHROMIUM ?? "/usr/bin/chromium";
}

/** Launches headless Chromium. */
export function launch() {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // The CI machine runs as root, where Chromium's sandbox cannot start.
    args: ["--no-sandbox"],
  });
}

/** A running `confab serve --dev` on 127.0.0.1 with a token skew of 1 s. */
export class Server {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "confab-web-"));
    this.port = 0;
    this.proc = null;
    this.log = [];
  }

  static async start() {
    const s = new Server();
    await s.#spawn();
    return s;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  #spawn() {
    const env = {
      ...process.env,
      CONFAB_ACCOUNT_SID: CREDENTIALS.accountSid,
      CONFAB_AUTH_TOKEN: CREDENTIALS.authToken,
      CONFAB_API_KEY_SID: CREDENTIALS.apiKeySid,
      CONFAB_API_KEY_SECRET: CREDENTIALS.apiKeySecret,
    };
    const args = ["serve", "--dev", "--listen", `127.0.0.1:${this.port}`, "--data-dir", this.dir, "--token-skew-secs", "1", "--log", "warn"];
    const proc = spawn(binary(), args, { env, stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    proc.stderr.on("data", (d) => this.log.push(String(d)));
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`the server did not start:\n${this.log.join("")}`)), WAIT_MS);
      let out = "";
      proc.stdout.on("data", (d) => {
        out += d;
        const m = out.match(/confab listening on http:\/\/127\.0\.0\.1:(\d+)/);
        if (m) {
          clearTimeout(timer);
          this.port = Number(m[1]);
          ok();
        }
      });
      proc.on("exit", (code) => {
        clearTimeout(timer);
        fail(new Error(`the server exited (${code}):\n${this.log.join("")}`));
      });
    });
  }

  /** Stops the server (SIGTERM: a clean shutdown) and waits for it to exit. */
  async stop() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    proc.removeAllListeners("exit");
    const exited = new Promise((ok) => proc.once("exit", ok));
    proc.kill("SIGTERM");
    await withTimeout(exited, "the server to exit");
  }

  /** Stops it and starts it again on the same port and data. */
  async restart() {
    await this.stop();
    await this.#spawn();
  }

  async close() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A token from the server's development endpoint. */
  async token(identity, ttl = 3600) {
    const res = await fetch(`${this.url}/dev/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ identity, ttl: String(ttl) }),
    });
    if (res.status !== 201) throw new Error(`/dev/token answered ${res.status}: ${await res.text()}`);
    return (await res.json()).token;
  }

  /** A REST call as the app backend (basic auth with the account SID and auth token). */
  async rest(method, path, form) {
    const auth = Buffer.from(`${CREDENTIALS.accountSid}:${CREDENTIALS.authToken}`).toString("base64");
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { Authorization: `Basic ${auth}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: form ? new URLSearchParams(form) : undefined,
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  }
}

/** Registers hooks that start a server and (unless `browser` is false) a browser before the
 * tests of the file (or of the `describe` it is called in) and close them after; the object
 * returned holds them. */
export function serverAndBrowser({ browser = true } = {}) {
  const env = { server: null, browser: null };
  before(async () => {
    env.server = await Server.start();
    if (browser) env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}

/** The app backend's credentials and the conversation admin role, for a scenario to make its
 * user an admin over REST. */
export async function adminRole(server) {
  const roles = await server.rest("GET", "/v1/Roles");
  const role = roles.roles.find((r) => r.friendly_name === "conversation admin");
  const auth = `Basic ${Buffer.from(`${CREDENTIALS.accountSid}:${CREDENTIALS.authToken}`).toString("base64")}`;
  return { auth, role: role.sid };
}

/** The same token signed with another secret: its signature cannot match (20107). */
export function resigned(token, secret = "not-the-secret") {
  const [h, p] = token.split(".");
  const sig = createHmac("sha256", secret).update(`${h}.${p}`).digest("base64url");
  return `${h}.${p}.${sig}`;
}

/** The `exp` of a token, in unix seconds. */
export function expiry(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).exp;
}

/** Resolves `p`, or fails naming what did not happen within WAIT_MS. */
export async function withTimeout(p, what, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Saves a screenshot of `page` under SCREENSHOTS; returns its path. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The browser's console, kept for a failing test's message. */
export function recordConsole(page, into) {
  page.on("console", (m) => into.push(`[${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => into.push(`[pageerror] ${e.message}`));
}

export { ROOT };
