// Twilio's own helper library (the `twilio` npm package), unchanged, against a Confab server:
// an app backend ported off the reference keeps its code. Its requests are sent to the test
// server by a RequestClient that swaps the reference's host for the server's address (the
// one thing a porting team changes). A file is uploaded to the media service with the REST
// credentials (the helper library has no upload call, as with the reference), attached with
// `mediaSid`, and read back through the message's `media`.

import assert from "node:assert/strict";
import { test } from "node:test";
import twilio from "twilio";
import { CREDENTIALS, serverAndBrowser } from "./harness.mjs";

const env = serverAndBrowser({ browser: false });

/** Sends the helper library's requests to `base` instead of the reference's hosts. */
class ToConfab extends twilio.RequestClient {
  constructor(base) {
    super();
    this.base = base;
  }

  request(opts) {
    const u = new URL(opts.uri);
    return super.request({ ...opts, uri: `${this.base}${u.pathname}${u.search}` });
  }
}

const basic = `Basic ${Buffer.from(`${CREDENTIALS.accountSid}:${CREDENTIALS.authToken}`).toString("base64")}`;

test("the helper library creates a message with an uploaded MediaSid and reads its media back", async () => {
  const client = twilio(CREDENTIALS.accountSid, CREDENTIALS.authToken, { httpClient: new ToConfab(env.server.url) });
  const service = (await client.conversations.v1.configuration().fetch()).defaultChatServiceSid;

  // Upload, as a backend does against the reference's media service.
  const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
  const up = await fetch(`${env.server.url}/media/v1/Services/${service}/Media?Filename=chart.png`, {
    method: "POST",
    headers: { Authorization: basic, "Content-Type": "image/png" },
    body: bytes,
  });
  assert.equal(up.status, 201);
  const media = await up.json();

  const conversation = await client.conversations.v1.services(service).conversations.create({ friendlyName: "helper media" });
  const message = await client.conversations.v1.services(service).conversations(conversation.sid).messages.create({ author: "reports", mediaSid: media.sid });
  assert.equal(message.author, "reports");
  assert.equal(message.body, null);
  assert.deepEqual(message.media, [{ sid: media.sid, category: "media", content_type: "image/png", filename: "chart.png", size: 5000 }]);

  // Read back: fetched, listed, and through the account's default service.
  const fetched = await client.conversations.v1.services(service).conversations(conversation.sid).messages(message.sid).fetch();
  assert.deepEqual(fetched.media, message.media);
  const listed = await client.conversations.v1.conversations(conversation.sid).messages.list();
  assert.deepEqual(
    listed.map((m) => m.media?.[0]?.sid),
    [media.sid],
  );

  // The media record names its message, and its content is the file.
  const record = await (await fetch(`${env.server.url}/media/v1/Services/${service}/Media/${media.sid}`, { headers: { Authorization: basic } })).json();
  assert.equal(record.message_sid, message.sid);
  assert.equal(record.channel_sid, conversation.sid);
  const content = Buffer.from(await (await fetch(record.links.content_direct_temporary)).arrayBuffer());
  assert.ok(content.equals(bytes));

  // An upload cannot be attached twice, and the refusal comes back as the library's error.
  await assert.rejects(
    client.conversations.v1.conversations(conversation.sid).messages.create({ mediaSid: media.sid }),
    (e) => e.status === 400 && e.code === 20001,
  );
  // Deleted through the library, the message takes its media with it.
  await client.conversations.v1.conversations(conversation.sid).messages(message.sid).remove();
  const gone = await fetch(`${env.server.url}/media/v1/Services/${service}/Media/${media.sid}`, { headers: { Authorization: basic } });
  assert.equal(gone.status, 404);
});
