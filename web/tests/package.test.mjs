// The npm package as a user gets it: `npm pack` of web/sdk installed into an empty project,
// then used from Node (a script of that project) and from Chromium (a page that imports the
// installed files as they are, with no bundler), against a real server.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { after, before, test } from "node:test";
import { ROOT, serverAndBrowser, withTimeout } from "./harness.mjs";

const env = serverAndBrowser();
let project;
let tarball;

before(() => {
  project = mkdtempSync(join(tmpdir(), "confab-package-"));
  const out = execFileSync("npm", ["pack", join(ROOT, "web/sdk"), "--pack-destination", project, "--json"], { encoding: "utf8" });
  const [packed] = JSON.parse(out);
  tarball = { name: packed.filename, files: packed.files.map((f) => f.path).sort() };
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "porting-app", private: true, type: "module" }));
  // `ws` comes from the npm cache the web tests' own install filled (the registry otherwise).
  execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", join(project, tarball.name)], { cwd: project, stdio: "pipe" });
});

after(() => rmSync(project, { recursive: true, force: true }));

test("the tarball holds the SDK, its declarations and its WebAssembly, and nothing else", () => {
  assert.ok(tarball.files.includes("confab.js"));
  assert.ok(tarball.files.includes("confab.d.ts"));
  assert.ok(tarball.files.includes("wasm/confab_client_wasm_bg.wasm"));
  assert.ok(tarball.files.includes("package.json"));
  assert.deepEqual(tarball.files.filter((f) => !/^(\w+\.js|confab\.d\.ts|package\.json|README\.md|wasm\/confab_client_wasm(_bg\.wasm|\.js))$/.test(f)), []);
});

test("from Node: an app of an empty project imports it by name", async () => {
  writeFileSync(
    join(project, "app.mjs"),
    `import { Client, ConfabError } from "@confab/conversations";
import pkg from "@confab/conversations/package.json" with { type: "json" };
const [url, token] = process.argv.slice(2);
let missing = null;
try { new Client(token); } catch (e) { missing = e instanceof ConfabError ? e.code : String(e); }
const client = await Client.create(token, { url });
const c = await client.createConversation({ friendlyName: "from node" });
await c.join();
const index = await c.sendMessage("hello from node");
const page = await c.getMessages();
console.log(JSON.stringify({ missing, identity: client.user.identity, index, bodies: page.items.map((m) => m.body), version: Client.version === pkg.version && client.version === pkg.version }));
await client.shutdown();
`,
  );
  const token = await env.server.token("node-app");
  const out = await withTimeout(
    new Promise((ok, fail) => {
      try {
        ok(execFileSync("node", ["app.mjs", env.server.url, token], { cwd: project, encoding: "utf8", timeout: 20_000 }));
      } catch (e) {
        fail(new Error(`${e.message}\n${e.stderr}`));
      }
    }),
    "the Node app",
  );
  assert.deepEqual(JSON.parse(out.trim().split("\n").pop()), { missing: 20001, identity: "node-app", index: 0, bodies: ["hello from node"], version: true });
});

test("from Chromium: a page imports the installed files as they are", async () => {
  const types = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };
  writeFileSync(join(project, "index.html"), "<!doctype html><title>porting app</title>");
  const site = createServer((req, res) => {
    const path = normalize(join(project, decodeURIComponent(new URL(req.url, "http://x").pathname)));
    if (!path.startsWith(project)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = readFileSync(path.endsWith("/") ? join(path, "index.html") : path);
      res.writeHead(200, { "Content-Type": types[extname(path)] ?? "text/html" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => site.listen(0, "127.0.0.1", ok));
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${site.address().port}/`);
    const token = await env.server.token("page-app");
    const result = await withTimeout(
      page.evaluate(
        async ({ url, token }) => {
          const { Client } = await import("/node_modules/@confab/conversations/confab.js");
          const client = await Client.create(token, { url });
          const c = await client.createConversation({ friendlyName: "from a page" });
          await c.join();
          const index = await c.sendMessage("hello from a page");
          const page = await c.getMessages();
          await client.shutdown();
          return { identity: client.user.identity, index, bodies: page.items.map((m) => m.body) };
        },
        { url: env.server.url, token },
      ),
      "the page app",
    );
    assert.deepEqual(result, { identity: "page-app", index: 0, bodies: ["hello from a page"] }, errors.join("\n"));
  } finally {
    await context.close();
    await new Promise((ok) => site.close(ok));
  }
});
