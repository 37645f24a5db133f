// The SDK in a page of its own server: the default `url` (the page's host), no token in any
// URL, `logLevel` decides what reaches the console, `once`, and shutdown.

import assert from "node:assert/strict";
import { test } from "node:test";
import { recordConsole, serverAndBrowser } from "./harness.mjs";

const env = serverAndBrowser();

test("no token in a URL, a silent console, pages from an anchor, once, shutdown", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const sockets = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  const lines = [];
  recordConsole(page, lines);
  await page.goto(env.server.url);
  const token = await env.server.token("paula");
  const result = await page.evaluate(async (token) => {
    const { Client } = await import("/sdk/confab.js");
    const client = new Client(token, { logLevel: "silent" });
    await new Promise((ok, fail) => client.once("stateChanged", (s) => (s === "initialized" ? ok() : fail(new Error(s)))));
    const quiet = new Client(token);
    const c = await client.createConversation({ friendlyName: "paging" });
    await c.join();
    for (let i = 0; i < 5; i++) await c.sendMessage(`m${i}`);
    const back = await c.getMessages(2, 3, "backwards");
    const older = await back.prevPage();
    const forwards = await c.getMessages(2, 1, "forward");
    const newest = await c.getMessages(2);
    let calls = 0;
    const count = () => calls++;
    const last = new Promise((ok) => c.on("messageAdded", (m) => m.body === "y" && ok()));
    client.on("messageAdded", count);
    client.once("messageAdded", count);
    await c.sendMessage("x");
    await c.sendMessage("y");
    await last;
    await client.shutdown();
    await quiet.shutdown();
    const late = await client.createConversation().then(() => null, (e) => e.code);
    return {
      back: back.items.map((m) => m.index),
      older: older.items.map((m) => m.index),
      forwards: forwards.items.map((m) => m.index),
      newest: newest.items.map((m) => m.index),
      calls,
      state: client.connectionState,
      late,
    };
  }, token);
  assert.deepEqual(result.back, [2, 3]);
  assert.deepEqual(result.older, [0, 1]);
  assert.deepEqual(result.forwards, [1, 2]);
  assert.deepEqual(result.newest, [3, 4]);
  // `on` heard x and y, `once` only x.
  assert.equal(result.calls, 3);
  assert.equal(result.state, "disconnected");
  assert.equal(result.late, 20503, "a call after shutdown is refused");
  const realtime = `ws://127.0.0.1:${env.server.port}/v1/realtime`;
  assert.deepEqual(sockets, [realtime, realtime]);
  assert.ok(!sockets.some((u) => u.includes(token.split(".")[2])));
  assert.deepEqual(lines.filter((l) => l.includes("[confab]")), [], "logLevel silent (the default too) writes nothing");
  await context.close();
});
