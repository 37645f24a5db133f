// The shared lifecycle scenarios (testing/confab-testkit/scenarios/lifecycle.json), run by the
// JavaScript SDK in headless Chromium and in Node against a real server. The Rust SDK runs the
// same file (crates/confab-client/tests/it/scenarios.rs).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ROOT, WAIT_MS, expiry, recordConsole, resigned, screenshot, serverAndBrowser, withTimeout } from "./harness.mjs";
import { Cutter, NODE_SDK } from "./runtimes.mjs";

const { scenarios } = JSON.parse(readFileSync(join(ROOT, "testing/confab-testkit/scenarios/lifecycle.json"), "utf8"));

/** Wires a client's events into `log` as the scenario file names them. */
function record(client, log) {
  client.on("connectionStateChanged", (s) => log.push(`connection:${s}`));
  client.on("stateChanged", (s) => log.push(`state:${s}`));
  client.on("connectionError", (e) => log.push(`error:${e.code}`));
  client.on("tokenAboutToExpire", () => log.push("tokenAboutToExpire"));
  client.on("tokenExpired", () => log.push("tokenExpired"));
  client.on("messageAdded", (m) => log.push(`message:${m.body}`));
}

/** A client in a page of headless Chromium; offline is the browser's own emulation. */
class PageClient {
  constructor(env) {
    this.env = env;
    this.console = [];
  }

  async open() {
    this.context = await this.env.browser.newContext();
    // An init script runs before the page's own and is not held to its CSP.
    await this.context.addInitScript(`globalThis.__record = ${record};`);
    this.page = await this.context.newPage();
    recordConsole(this.page, this.console);
    await this.page.goto(this.env.server.url);
  }

  async start(token, options) {
    await this.page.evaluate(
      async ({ token, options }) => {
        const { Client } = await import("/sdk/confab.js");
        const log = (window.__log = []);
        const client = new Client(token, options);
        window.__client = client;
        globalThis.__record(client, log);
      },
      { token, options },
    );
  }

  log() {
    return this.page.evaluate(() => [...window.__log]);
  }

  async grown(n, ms) {
    await this.page.waitForFunction((n) => window.__log.length > n, n, { timeout: ms }).catch(() => {});
  }

  renew(token) {
    return this.page.evaluate((t) => window.__client.updateToken(t).then((c) => c === window.__client), token);
  }

  roundTrip() {
    return this.page.evaluate(() => window.__client.getSubscribedConversations(5).then((p) => p.items.length));
  }

  createConversation() {
    return this.page.evaluate(async () => {
      const c = await window.__client.createConversation({ friendlyName: "scenario" });
      await c.join();
      return c.sid;
    });
  }

  offline() {
    return this.context.setOffline(true);
  }

  online() {
    return this.context.setOffline(false);
  }

  async close() {
    await this.page.evaluate(() => window.__client?.shutdown()).catch(() => {});
    await this.context.close();
  }

  where() {
    return `console:\n${this.console.join("\n")}`;
  }
}

/** A client in this Node process, through a relay that can cut the network (Node has no
 * offline switch: coming back online is the relay letting connections through again and
 * the app calling reconnect(), as the Rust SDK's scenarios do). */
class NodeClient {
  constructor(env) {
    this.env = env;
    this.entries = [];
    this.waiters = [];
  }

  async open() {
    this.cutter = await Cutter.start(this.env.server.port);
  }

  async start(token, options) {
    const { Client } = await import(NODE_SDK);
    const log = {
      push: (e) => {
        this.entries.push(e);
        for (const w of this.waiters.splice(0)) w();
      },
    };
    this.client = new Client(token, { ...options, url: this.cutter.url });
    record(this.client, log);
  }

  async log() {
    return [...this.entries];
  }

  async grown(n, ms) {
    if (this.entries.length > n) return;
    let timer;
    await new Promise((ok) => {
      timer = setTimeout(ok, ms);
      this.waiters.push(ok);
    });
    clearTimeout(timer);
  }

  async renew(token) {
    return (await this.client.updateToken(token)) === this.client;
  }

  async roundTrip() {
    return (await this.client.getSubscribedConversations(5)).items.length;
  }

  async createConversation() {
    const c = await this.client.createConversation({ friendlyName: "scenario" });
    await c.join();
    return c.sid;
  }

  offline() {
    this.cutter.cut();
  }

  online() {
    this.cutter.restore();
    this.client.reconnect();
  }

  async close() {
    await this.client?.shutdown();
    await this.cutter.close();
  }

  where() {
    return "";
  }
}

/** Index after the last of `want` matched in order from `from`, or -1. */
function matchFrom(log, from, want) {
  let i = from;
  for (const w of want) {
    while (i < log.length && log[i] !== w) i++;
    if (i >= log.length) return -1;
    i++;
  }
  return i;
}

for (const Runtime of [PageClient, NodeClient]) {
  describe(`JS SDK in ${Runtime === PageClient ? "Chromium" : "Node"}: the shared lifecycle scenarios`, () => {
    const env = serverAndBrowser({ browser: Runtime === PageClient });

    for (const scenario of scenarios) {
      test(scenario.name, async () => {
        const client = new Runtime(env);
        await client.open();
        const identity = `js-${Runtime === PageClient ? "page" : "node"}-${scenario.name}`;
        let cursor = 0;
        let firstExp = null;
        let conversation = null;
        const where = async () => `log: ${JSON.stringify(await client.log())}\n${client.where()}`;
        try {
          for (const step of scenario.steps) {
            if (step.expect) {
              const deadline = Date.now() + WAIT_MS;
              for (;;) {
                const log = await client.log();
                const end = matchFrom(log, cursor, step.expect);
                if (end >= 0) {
                  cursor = end;
                  break;
                }
                const left = deadline - Date.now();
                if (left <= 0) assert.fail(`expected ${JSON.stringify(step.expect)} from ${cursor}\n${await where()}`);
                // Wait for the next event, not for time.
                await client.grown(log.length, left);
              }
            } else if (step.exactly) {
              assert.deepEqual(await client.log(), step.exactly, await where());
            } else if (step.never) {
              const log = (await client.log()).slice(cursor);
              for (const e of step.never) assert.ok(!log.includes(e), `${e} must not happen\n${await where()}`);
            } else if (step.once) {
              const log = await client.log();
              for (const e of step.once) {
                assert.equal(log.filter((x) => x === e).length, 1, `${e} exactly once\n${await where()}`);
              }
            } else {
              switch (step.do) {
                case "start": {
                  let token = await env.server.token(identity, step.ttl);
                  if (step.wrongSecret) token = resigned(token);
                  firstExp = expiry(token);
                  const options = { logLevel: "debug" };
                  if (step.tokenLeadMs !== undefined) options.tokenLeadMs = step.tokenLeadMs;
                  await client.start(token, options);
                  break;
                }
                case "renew": {
                  const token = await env.server.token(identity, step.ttl);
                  assert.equal(await withTimeout(client.renew(token), "updateToken"), true);
                  break;
                }
                case "waitPastFirstExpiry": {
                  // Nothing to wait on: this checks that nothing happens until then.
                  const until = (firstExp + 2) * 1000 + 500;
                  await new Promise((ok) => setTimeout(ok, Math.max(0, until - Date.now())));
                  break;
                }
                case "roundTrip":
                  await withTimeout(client.roundTrip(), "a round trip");
                  break;
                case "createConversation":
                  conversation = await withTimeout(client.createConversation(), "createConversation");
                  break;
                case "post":
                  await env.server.rest("POST", `/v1/Conversations/${conversation}/Messages`, { Body: step.body, Author: "system" });
                  break;
                case "restartServer":
                  await env.server.restart();
                  break;
                case "offline":
                  await client.offline();
                  break;
                case "online":
                  await client.online();
                  break;
                default:
                  throw new Error(`unknown step ${JSON.stringify(step)}`);
              }
            }
          }
          if (client.page) await screenshot(client.page, `lifecycle-${scenario.name}`);
        } finally {
          await client.close();
        }
      });
    }
  });
}
