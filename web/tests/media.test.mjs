// Media through the JavaScript SDK, in headless Chromium and in Node against a real server:
// files sent as FormData and as SendMediaOptions (prepareMessage().addMedia), received with
// their type, categories and content behind temporary URLs, the limits, and what a fresh
// client reads back. Each scenario is a self-contained function (Playwright ships it into
// the page as text).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { adminRole, serverAndBrowser } from "./harness.mjs";
import { NODE_SDK, NodeRuntime, PageRuntime } from "./runtimes.mjs";

/** Alice sends files three ways; Bob receives them and reads their content. */
async function sendAndReceive({ sdkUrl, url, tokens, admin }) {
  const { Client, Media, Message } = await import(sdkUrl);
  const { next, room } = globalThis.__scenario;
  const { alice, bob, c, bc } = await room(Client, url, tokens, admin, "media");
  const read = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());

  // 1. FormData holding a file, as the reference's apps send a picture.
  const picture = new Uint8Array(3000).map((_, i) => i % 251);
  const form = new FormData();
  form.append("file", new Blob([picture], { type: "image/png" }), "picture.png");
  let got = next(bc, "messageAdded");
  const first = await c.sendMessage(form);
  const m1 = await got;
  const url1 = await m1.attachedMedia[0].getContentTemporaryUrl();
  const bytes1 = await read(url1);

  // 2. The builder: a body and two files (a string and bytes), progress reported.
  const progress = [];
  got = next(bc, "messageAdded");
  const second = await c
    .prepareMessage()
    .setBody("two files")
    .setAttributes({ kind: "report" })
    .addMedia({ contentType: "text/plain", filename: "notes.txt", media: "minutes\n", onProgress: (sent, total) => progress.push([sent, total]) })
    .addMedia({ contentType: "application/octet-stream", filename: "data.bin", media: new Uint8Array([1, 2, 3]) })
    .build()
    .send();
  const m2 = await got;
  const urls = await m2.getTemporaryContentUrlsForAttachedMedia();
  const notes = new TextDecoder().decode(await read(urls.get(m2.attachedMedia[0].sid)));
  const viaClient = await bob.getTemporaryContentUrlsForMediaSids([m2.attachedMedia[1].sid]);
  const data = [...(await read(viaClient.get(m2.attachedMedia[1].sid)))];

  // 3. An email-style body as media of category body.
  got = next(bc, "messageAdded");
  await c
    .prepareMessage()
    .setBody("see the email")
    .setEmailBody("text/html", { media: "<p>first</p>" })
    .setEmailBody("text/html", { contentType: "text/html", media: "<p>hi</p>" })
    .build()
    .send();
  const m3 = await got;

  // Refused before anything is uploaded: too many files; not a file at all.
  const builder = c.prepareMessage();
  for (let i = 0; i <= c.limits.mediaAttachmentsCountLimit; i++) builder.addMedia({ contentType: "text/plain", media: "x" });
  let tooMany = null;
  try {
    builder.build();
  } catch (e) {
    tooMany = e.code;
  }
  let wrongType = null;
  try {
    c.prepareMessage().setEmailBody("image/png", { contentType: "image/png", media: "x" }).build();
  } catch (e) {
    wrongType = e.code;
  }
  const notAFile = await c.sendMessage(new FormData()).then(() => null, (e) => e.code);

  // A text message has no attachments: an empty list, as in the reference.
  got = next(bc, "messageAdded");
  await c.sendMessage("plain");
  const m4 = await got;

  // A fresh client of Bob's reads the same media from history.
  const later = await Client.create(tokens.bob, { url });
  const lc = await later.getConversationBySid(c.sid);
  const page = await lc.getMessages();
  const history = page.items.map((m) => ({ type: m.type, media: m.attachedMedia?.map((x) => x.filename) ?? null }));
  const again = await read(await page.items[0].attachedMedia[0].getContentTemporaryUrl());

  const out = {
    indexes: [first, second],
    m1: {
      isMessage: m1 instanceof Message,
      type: m1.type,
      body: m1.body,
      isMedia: m1.attachedMedia[0] instanceof Media,
      legacy: m1.media === m1.attachedMedia[0],
      media: { filename: m1.media.filename, contentType: m1.media.contentType, size: m1.media.size, category: m1.media.category, sidPrefix: m1.media.sid.slice(0, 2) },
      bytesSame: bytes1.length === picture.length && bytes1.every((b, i) => b === picture[i]),
    },
    m2: {
      type: m2.type,
      body: m2.body,
      attributes: m2.attributes,
      names: m2.attachedMedia.map((m) => m.filename),
      notes,
      data,
      urlCount: urls.size,
      byCategory: m2.getMediaByCategories(["media"]).length,
      noBody: m2.getMediaByCategories(["body"]).length,
      progressEnds: progress.at(-1),
    },
    m3: {
      type: m3.type,
      email: m3.getEmailBody("text/html")?.contentType ?? null,
      emailSize: m3.getEmailBody("text/html")?.size ?? null,
      plain: m3.getEmailBody(),
      bodies: m3.getMediaByCategories(["body"]).length,
      attached: m3.attachedMedia.length,
      legacy: m3.media,
    },
    textMessage: { type: m4.type, attached: Array.isArray(m4.attachedMedia) ? m4.attachedMedia.length : "not an array", legacy: m4.media },
    limits: c.limits,
    tooMany,
    wrongType,
    notAFile,
    history,
    againSame: again.length === picture.length,
  };
  await Promise.all([alice.shutdown(), bob.shutdown(), later.shutdown()]);
  return out;
}


for (const Runtime of [PageRuntime, NodeRuntime]) {
  describe(`JS SDK in ${Runtime.name}: media`, () => {
    const env = serverAndBrowser({ browser: Runtime === PageRuntime });

    test("files sent as FormData and SendMediaOptions are received, read, and read again from history", async () => {
      const rt = new Runtime(env);
      await rt.open();
      const tokens = {};
      for (const who of ["alice", "bob"]) tokens[who] = await env.server.token(`${who}-media-${Runtime.name}`);
      let r;
      try {
        r = await rt.run(sendAndReceive, { tokens, admin: await adminRole(env.server) });
      } catch (e) {
        e.message += `\n${rt.where()}`;
        throw e;
      } finally {
        await rt.close();
      }
      assert.deepEqual(r.indexes, [0, 1]);
      assert.deepEqual(r.m1, {
        isMessage: true,
        type: "media",
        body: null,
        isMedia: true,
        legacy: true,
        media: { filename: "picture.png", contentType: "image/png", size: 3000, category: "media", sidPrefix: "ME" },
        bytesSame: true,
      });
      assert.deepEqual(r.m2, {
        type: "media",
        body: "two files",
        attributes: { kind: "report" },
        names: ["notes.txt", "data.bin"],
        notes: "minutes\n",
        data: [1, 2, 3],
        urlCount: 2,
        byCategory: 2,
        noBody: 0,
        progressEnds: [8, 8],
      });
      assert.deepEqual(r.m3, { type: "media", email: "text/html", emailSize: 9, plain: null, bodies: 1, attached: 0, legacy: null });
      assert.deepEqual(r.textMessage, { type: "text", attached: 0, legacy: null });
      assert.deepEqual(r.limits, {
        mediaAttachmentsCountLimit: 10,
        mediaAttachmentSizeLimitInMb: 100,
        mediaAttachmentsTotalSizeLimitInMb: 100,
        emailHistoriesAllowedContentTypes: ["text/plain", "text/html"],
        emailBodiesAllowedContentTypes: ["text/plain", "text/html"],
      });
      assert.equal(r.tooMany, 20001);
      assert.equal(r.wrongType, 20001);
      assert.equal(r.notAFile, 20001);
      assert.deepEqual(r.history, [
        { type: "media", media: ["picture.png"] },
        { type: "media", media: ["notes.txt", "data.bin"] },
        { type: "media", media: [] },
        { type: "text", media: [] },
      ]);
      assert.equal(r.againSame, true);
    });
  });
}

/** A relay in front of the server that answers the first `failures` uploads with `status`
 * (as a busy media service would) and passes everything else through, WebSockets included. */
async function flakyRelay(target, failures, status) {
  const { createServer, request } = await import("node:http");
  const { connect } = await import("node:net");
  const upstream = new URL(target);
  let refused = 0;
  let posted = 0;
  const server = createServer((req, res) => {
    const upload = req.method === "POST" && /\/Media(\?|$)/.test(req.url);
    if (upload) posted++;
    if (upload && refused < failures) {
      refused++;
      req.resume();
      res.writeHead(status, { "Content-Type": "application/json", Connection: "close" });
      res.end(JSON.stringify({ code: 20503, message: "busy", status }));
      return;
    }
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    req.pipe(out);
  });
  server.on("upgrade", (req, socket, head) => {
    const up = connect(Number(upstream.port), upstream.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`), "", ""];
      up.write(lines.join("\r\n"));
      up.write(head);
      up.pipe(socket).pipe(up);
    });
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}`, refused: () => refused, posted: () => posted, close: () => server.close() };
}

describe("JS SDK in node: uploads are retried", () => {
  const env = serverAndBrowser({ browser: false });

  test("503 and 429 from the media service are tried again with backoff; a 400 is not", async () => {
    const { Client } = await import(NODE_SDK);
    const relay = await flakyRelay(env.server.url, 3, 503);
    const client = await Client.create(await env.server.token("retried"), { url: relay.url });
    try {
      const c = await client.createConversation();
      await c.join();
      const index = await c.sendMessage({ contentType: "text/plain", filename: "a.txt", media: "third time lucky" });
      assert.equal(relay.refused(), 3, "three refusals, then the upload went through");
      const [m] = (await c.getMessages()).items;
      assert.equal(m.index, index);
      assert.equal(m.attachedMedia[0].filename, "a.txt");
      // A refusal that is the request's own fault is not tried again.
      const bad = await c.sendMessage({ contentType: "image/png, text/html", media: "x" }).then(() => null, (e) => e.code);
      assert.equal(bad, 20001);
      assert.equal(relay.posted(), 5, "four tries of the first upload, one of the refused one");
    } finally {
      await client.shutdown();
      relay.close();
    }
  });

  test("past five tries the error comes back", async () => {
    const { Client } = await import(NODE_SDK);
    const relay = await flakyRelay(env.server.url, 100, 429);
    const client = await Client.create(await env.server.token("refused"), { url: relay.url });
    try {
      const c = await client.createConversation();
      await c.join();
      const code = await c.sendMessage({ contentType: "text/plain", media: "never" }).then(() => null, (e) => e.code);
      assert.equal(code, 20503);
      assert.equal(relay.refused(), 5);
      assert.equal((await c.getMessages()).items.length, 0, "no message without its file");
    } finally {
      await client.shutdown();
      relay.close();
    }
  });
});
