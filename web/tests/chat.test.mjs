// Two people chatting through the web page that `confab serve --dev` serves at `/`, each in
// a browser context of their own: sign in by name, create and join, live messages, typing,
// unread counts, the connection state through a server restart, and the token renewed
// before it expires with no reconnect. Screenshots go to target/browser-screenshots/.

import assert from "node:assert/strict";
import { test } from "node:test";
import { deflateSync } from "node:zlib";
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

/** A `size`×`size` PNG of one colour, made here (zlib for the pixels, CRC-32 for the chunks). */
function png(size, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, "ascii");
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, tail]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: size }, () => [r, g, b]).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: size }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header), chunk("IDAT", pixels), chunk("IEND", Buffer.alloc(0))]);
}

/** Whether the picture `sid` has been drawn on `page` (loaded, with its real size). */
const drawn = (page, sid) => page.locator(`#messages img.media[data-sid="${sid}"]`).evaluate((img) => img.complete && img.naturalWidth);

test("a picture and a file through the web page: attached, dropped, shown, and still there after a reload", async () => {
  const alice = await signIn("alice-media", 3600);
  let bob = await signIn("bob-media", 3600);
  try {
    await open(alice.page, "pictures", "create");
    await open(bob.page, "pictures", "join");

    // Alice attaches a picture with the button, with a line of text.
    await alice.page.fill("#body", "look at this");
    await alice.page.setInputFiles("#file", { name: "square.png", mimeType: "image/png", buffer: png(48, [46, 107, 176]) });
    const picture = bob.page.locator("#messages img.media");
    await picture.waitFor();
    const sid = await picture.getAttribute("data-sid");
    await bob.page.waitForFunction((s) => document.querySelector(`img.media[data-sid="${s}"]`)?.naturalWidth === 48, sid);
    assert.equal(await drawn(bob.page, sid), 48);
    assert.deepEqual(await bodies(bob.page), ["look at this"]);

    // Bob drops a text file on the conversation: alice gets a download link.
    await bob.page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(["minutes of the meeting\n"], "notes.txt", { type: "text/plain" }));
      document.getElementById("room").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    const link = alice.page.locator("#messages a.media", { hasText: "notes.txt" });
    await link.waitFor();
    assert.match(await link.textContent(), /^notes\.txt \(1 KB\)$/);
    // Followed, it fetches a fresh URL and the file comes as a download.
    const [download] = await Promise.all([alice.page.waitForEvent("download"), link.click()]);
    assert.equal(download.suggestedFilename(), "notes.txt");
    await screenshot(bob.page, "media-bob");
    await screenshot(alice.page, "media-alice");

    // Bob reloads: signed in again, the picture is still there, drawn.
    await bob.context.close();
    bob = await signIn("bob-media", 3600);
    await bob.page.click('#conversations li:has-text("pictures")');
    await bob.page.locator(`#messages img.media[data-sid="${sid}"]`).waitFor();
    await bob.page.waitForFunction((s) => document.querySelector(`img.media[data-sid="${s}"]`)?.naturalWidth === 48, sid);
    assert.equal(await bob.page.locator("#messages a.media", { hasText: "notes.txt" }).count(), 1);
    await screenshot(bob.page, "media-bob-reloaded");
  } catch (e) {
    e.message += `\nalice:\n${alice.lines.join("\n")}\nbob:\n${bob.lines.join("\n")}`;
    throw e;
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});
