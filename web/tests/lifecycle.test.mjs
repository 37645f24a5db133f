// The shared lifecycle scenarios (testing/confab-testkit/scenarios/lifecycle.json), run by the browser SDK
// in headless Chromium against a real env.server. The Rust SDK runs the same file
// (crates/confab-client/tests/it/scenarios.rs).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ROOT, WAIT_MS, expiry, recordConsole, resigned, screenshot, serverAndBrowser, withTimeout } from "./harness.mjs";

const { scenarios } = JSON.parse(readFileSync(join(ROOT, "testing/confab-testkit/scenarios/lifecycle.json"), "utf8"));

/** Starts a client in the page; its events go to window.__log as the scenario file names them. */
async function startClient(page, token, options) {
  await page.evaluate(
    async ({ token, options }) => {
      const { Client } = await import("/sdk/confab.js");
      const log = (window.__log = []);
      const client = new Client(token, options);
      window.__client = client;
      client.on("connectionStateChanged", (s) => log.push(`connection:${s}`));
      client.on("stateChanged", (s) => log.push(`state:${s}`));
      client.on("connectionError", (e) => log.push(`error:${e.code}`));
      client.on("tokenAboutToExpire", () => log.push("tokenAboutToExpire"));
      client.on("tokenExpired", () => log.push("tokenExpired"));
      client.on("messageAdded", (m) => log.push(`message:${m.body}`));
    },
    { token, options },
  );
}

const readLog = (page) => page.evaluate(() => [...window.__log]);

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

describe("browser SDK: the shared lifecycle scenarios", () => {
  const env = serverAndBrowser();

  for (const scenario of scenarios) {
    test(scenario.name, async () => {
      const context = await env.browser.newContext();
      const page = await context.newPage();
      const consoleLines = [];
      recordConsole(page, consoleLines);
      await page.goto(env.server.url);
      const identity = `web-${scenario.name}`;
      let cursor = 0;
      let firstExp = null;
      let conversation = null;
      const where = async () => `log: ${JSON.stringify(await readLog(page))}\nconsole:\n${consoleLines.join("\n")}`;
      try {
        for (const step of scenario.steps) {
          if (step.expect) {
            const deadline = Date.now() + WAIT_MS;
            for (;;) {
              const log = await readLog(page);
              const end = matchFrom(log, cursor, step.expect);
              if (end >= 0) {
                cursor = end;
                break;
              }
              const left = deadline - Date.now();
              if (left <= 0) assert.fail(`expected ${JSON.stringify(step.expect)} from ${cursor}\n${await where()}`);
              // Wait for the next event, not for time.
              await page.waitForFunction((n) => window.__log.length > n, log.length, { timeout: left }).catch(() => {});
            }
          } else if (step.exactly) {
            assert.deepEqual(await readLog(page), step.exactly, await where());
          } else if (step.never) {
            const log = (await readLog(page)).slice(cursor);
            for (const e of step.never) assert.ok(!log.includes(e), `${e} must not happen\n${await where()}`);
          } else if (step.once) {
            const log = await readLog(page);
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
                await startClient(page, token, options);
                break;
              }
              case "renew": {
                const token = await env.server.token(identity, step.ttl);
                await withTimeout(page.evaluate((t) => window.__client.updateToken(t).then((c) => c === window.__client), token), "updateToken");
                break;
              }
              case "waitPastFirstExpiry": {
                // Nothing to wait on: this checks that nothing happens until then.
                const until = (firstExp + 2) * 1000 + 500;
                await new Promise((ok) => setTimeout(ok, Math.max(0, until - Date.now())));
                break;
              }
              case "roundTrip":
                await withTimeout(page.evaluate(() => window.__client.getSubscribedConversations(5).then((p) => p.items.length)), "a round trip");
                break;
              case "createConversation":
                conversation = await page.evaluate(async () => {
                  const c = await window.__client.createConversation({ friendlyName: "scenario" });
                  await c.join();
                  return c.sid;
                });
                break;
              case "post":
                await env.server.rest("POST", `/v1/Conversations/${conversation}/Messages`, { Body: step.body, Author: "system" });
                break;
              case "restartServer":
                await env.server.restart();
                break;
              case "offline":
                await context.setOffline(true);
                break;
              case "online":
                await context.setOffline(false);
                break;
              default:
                throw new Error(`unknown step ${JSON.stringify(step)}`);
            }
          }
        }
        await screenshot(page, `lifecycle-${scenario.name}`);
      } finally {
        await page.evaluate(() => window.__client?.shutdown()).catch(() => {});
        await context.close();
      }
    });
  }
});
