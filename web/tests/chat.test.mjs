// Two people chatting through the web page that `confab serve --dev` serves at `/`, each in
// a browser context of their own: sign in by name, create and join, live messages, typing,
// unread counts, the connection state through a server restart, and the token renewed
// before it expires with no reconnect. Screenshots go to target/browser-screenshots/.

import assert from "node:assert/strict";
import { test } from "node:test";
import { WAIT_MS, recordConsole, screenshot, serverAndBrowser } from "./harness.mjs";

const env = serverAndBrowser();

/** A person at the chat page, signed in under `name` with tokens of `ttl` seconds. */
async function signIn(name, ttl) {
  const context = await env.browser.newContext({ viewport: { width: 1000, height: 640 } });
  const page = await context.newPage();
  const lines = [];
  recordConsole(page, lines);
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${env.server.url}/?ttl=${ttl}&log=debug`);
  await page.locator("#chat").waitFor({ state: "hidden" });
  await page.fill("#name", name);
  await page.click("#signin-button");
  await page.locator('#connection[data-state="connected"]').waitFor();
  await page.locator("#chat").waitFor({ state: "visible" });
  await page.locator("#signin").waitFor({ state: "hidden" });
  assert.equal(await page.textContent("#me"), name);
  return { page, context, lines };
}

async function open(page, name, how) {
  await page.fill("#conversation-name", name);
  await page.click(how === "join" ? "#join" : "#create");
  await page.locator("#room-title", { hasText: name }).waitFor();
}

async function send(page, body) {
  await page.fill("#body", body);
  await page.click("#send");
}

const bodies = (page) => page.locator("#messages .message .body").allTextContents();

test("two pages chat through the web page", async () => {
  // Alice's tokens live 12 s: her page must renew them while the test runs.
  const alice = await signIn("alice", 12);
  const bob = await signIn("bob", 3600);
  try {
    await open(alice.page, "general", "create");
    await open(bob.page, "general", "join");

    // Typing shows on the other page.
    await alice.page.locator("#body").pressSequentially("hel");
    await bob.page.locator("#typing", { hasText: "alice is typing" }).waitFor();

    // Live messages, both ways, each shown once.
    await send(alice.page, "hello bob");
    await bob.page.locator("#messages .body", { hasText: "hello bob" }).waitFor();
    await send(bob.page, "hi alice");
    await alice.page.locator("#messages .body", { hasText: "hi alice" }).waitFor();
    await bob.page.locator("#typing:empty").waitFor();
    assert.deepEqual(await bodies(alice.page), ["hello bob", "hi alice"]);
    assert.deepEqual(await bodies(bob.page), ["hello bob", "hi alice"]);
    await screenshot(alice.page, "chat-alice");
    await screenshot(bob.page, "chat-bob");

    // Unread counts: bob writes in a second conversation while alice looks at the first.
    await open(bob.page, "random", "create");
    await open(alice.page, "random", "join");
    await alice.page.click('#conversations li:has-text("general")');
    await alice.page.locator("#room-title", { hasText: "general" }).waitFor();
    await send(bob.page, "one");
    await send(bob.page, "two");
    const badge = alice.page.locator('#conversations li:has-text("random") .unread');
    await badge.filter({ hasText: "2" }).waitFor();
    await screenshot(alice.page, "chat-alice-unread");
    await alice.page.click('#conversations li:has-text("random")');
    await alice.page.locator("#messages .body", { hasText: "two" }).waitFor();
    assert.equal(await badge.textContent(), "");
    assert.deepEqual(await bodies(alice.page), ["one", "two"]);

    // The token was renewed before it expired, and the connection never dropped for it.
    await alice.page.locator("body[data-renewals]").waitFor({ state: "attached" });
    assert.equal(await alice.page.getAttribute("#connection", "data-state"), "connected");
    const states = alice.lines.filter((l) => l.includes("connection state"));
    assert.deepEqual(states, ["[debug] [confab] connection state connecting", "[debug] [confab] connection state connected"], alice.lines.join("\n"));

    // The connection state is shown through a server restart, and the chat goes on.
    await env.server.stop();
    await alice.page.locator('#connection[data-state="connecting"]').waitFor();
    await screenshot(alice.page, "chat-alice-reconnecting");
    await env.server.restart();
    await alice.page.locator('#connection[data-state="connected"]').waitFor();
    await bob.page.locator('#connection[data-state="connected"]').waitFor();
    await send(bob.page, "still here");
    await alice.page.locator("#messages .body", { hasText: "still here" }).waitFor();
    assert.deepEqual(await bodies(alice.page), ["one", "two", "still here"]);
    await screenshot(alice.page, "chat-alice-after-restart");
  } catch (e) {
    e.message += `\nalice's console:\n${alice.lines.join("\n")}\nbob's console:\n${bob.lines.join("\n")}`;
    throw e;
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test("the page is served with its security headers, and the token endpoint refuses an empty name", async () => {
  const res = await fetch(env.server.url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/html/);
  assert.match(res.headers.get("content-security-policy"), /script-src 'self' 'wasm-unsafe-eval'/);
  const wasm = await fetch(`${env.server.url}/sdk/wasm/confab_client_wasm_bg.wasm`);
  assert.equal(wasm.headers.get("content-type"), "application/wasm");
  const bad = await fetch(`${env.server.url}/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "identity=",
  });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).code, 20001);
});
