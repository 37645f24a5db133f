// The web chat page served by `confab serve` at `/`: an app built on the browser SDK the way
// an app developer would build one. Signing in asks the server's development token endpoint
// (`confab serve --dev`) for a token, as an app asks its own backend; without it a token can
// be pasted. The page renews the token before it expires, with no reconnect.

import { Client } from "/sdk/confab.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// Token lifetime in seconds; a short one (e.g. ?ttl=30) shows renewal at work.
const ttl = params.get("ttl") ?? "3600";

let client = null;
let name = null;
let active = null; // the open conversation's SID
const rows = new Map(); // SID -> { li, unread, conversation }
const typists = new Map(); // identity -> timer

/** A token from the development endpoint, as an app's backend would mint one. */
async function fetchToken(identity) {
  const res = await fetch("/dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ identity, ttl }),
  });
  const answer = await res.json().catch(() => ({}));
  if (res.status === 404) throw new Error("this server has no development token endpoint (start it with --dev), so paste a token");
  if (!res.ok) throw new Error(answer.message ?? `the token endpoint answered ${res.status}`);
  return answer.token;
}

function showConnection(state) {
  const badge = $("connection");
  badge.dataset.state = state;
  badge.textContent = state;
}

$("signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("signin-error").textContent = "";
  const button = $("signin-button");
  button.disabled = true;
  const pasted = $("token").value.trim();
  try {
    name = $("name").value.trim();
    const token = pasted || (await fetchToken(name));
    // A second try (the server was down, say) replaces the first client, not joins it.
    await client?.shutdown();
    start(token, !pasted);
  } catch (err) {
    $("signin-error").textContent = err.message;
  } finally {
    button.disabled = false;
  }
});

function start(token, renewable) {
  // Warn a third of the lifetime ahead (at most the SDK's 3 minutes): with a short token a
  // fixed lead would ask for a new one at once, every time.
  const tokenLeadMs = Math.min(180_000, (Number(ttl) * 1000) / 3);
  client = new Client(token, { logLevel: params.get("log") ?? "info", tokenLeadMs });
  client.on("connectionStateChanged", showConnection);
  client.on("initialized", () => {
    name = client.user.identity;
    $("me").textContent = name;
    $("signin").hidden = true;
    $("chat").hidden = false;
  });
  client.on("initFailed", () => {
    $("signin-error").textContent = "signing in failed: the token was refused";
  });
  client.on("connectionError", (err) => {
    if (err.terminal && client.state !== "initialized") $("signin-error").textContent = `${err.message} (${err.code})`;
  });
  if (renewable) {
    const mine = client;
    const renew = async (attempt = 0) => {
      if (client !== mine) return;
      try {
        await mine.updateToken(await fetchToken(name));
        document.body.dataset.renewals = String(Number(document.body.dataset.renewals ?? 0) + 1);
      } catch (err) {
        console.warn("token renewal failed", err);
        // The endpoint may be down for a moment: a few more tries, further apart.
        if (attempt < 5) setTimeout(() => renew(attempt + 1), 2000 * (attempt + 1));
      }
    };
    client.on("tokenAboutToExpire", () => renew());
    client.on("tokenExpired", () => renew());
  }
  // Every conversation the user is in arrives here: the first page before `initialized`,
  // the rest in the background, and each one joined later, live.
  client.on("conversationAdded", (c) => addRow(c, unreadOf(c)));
  client.on("conversationUpdated", ({ conversation }) => rows.get(conversation.sid) && rename(conversation));
  client.on("conversationRemoved", (c) => removeRow(c.sid));
  client.on("messageAdded", onMessage);
  client.on("typingStarted", (p) => p.conversation.sid === active && typing(p.identity, true));
  client.on("typingEnded", (p) => p.conversation.sid === active && typing(p.identity, false));
}

/** Messages after the read horizon, by index (all of them without a horizon). */
function unreadOf(c) {
  if (!c.lastMessage) return 0;
  return c.lastMessage.index - (c.lastReadMessageIndex ?? -1);
}

function title(c) {
  return c.friendlyName ?? c.uniqueName ?? c.sid;
}

function addRow(conversation, unread) {
  if (rows.has(conversation.sid)) return;
  const li = document.createElement("li");
  li.dataset.sid = conversation.sid;
  const label = document.createElement("span");
  label.className = "title";
  const badge = document.createElement("span");
  badge.className = "unread";
  li.append(label, badge);
  li.addEventListener("click", () => open(conversation.sid));
  $("conversations").append(li);
  rows.set(conversation.sid, { li, label, badge, unread: 0, conversation });
  rename(conversation);
  setUnread(conversation.sid, unread);
}

function rename(c) {
  rows.get(c.sid).label.textContent = title(c);
  if (c.sid === active) $("room-title").textContent = title(c);
}

function removeRow(sid) {
  rows.get(sid)?.li.remove();
  rows.delete(sid);
  if (sid === active) {
    active = null;
    $("messages").replaceChildren();
    $("composer").hidden = true;
  }
}

function setUnread(sid, n) {
  const row = rows.get(sid);
  if (!row) return;
  row.unread = n;
  row.badge.textContent = n > 0 ? String(n) : "";
}

/** Shows a message of the open conversation once, in index order (a live one may come while
 * the history is loading, and again inside it). */
function render(message) {
  const list = $("messages");
  if (list.querySelector(`li[data-index="${message.index}"]`)) return;
  const li = document.createElement("li");
  li.className = message.author === name ? "message mine" : "message";
  li.dataset.index = message.index;
  const author = document.createElement("span");
  author.className = "author";
  author.textContent = message.author;
  const body = document.createElement("span");
  body.className = "body";
  body.textContent = message.body ?? "";
  li.append(author, body);
  for (const media of message.attachedMedia ?? []) li.append(attachment(media));
  const later = [...list.children].find((x) => Number(x.dataset.index) > message.index);
  list.insertBefore(li, later ?? null);
  list.scrollTop = list.scrollHeight;
}

/** Shows a file: a picture inline, anything else as a link that fetches a fresh temporary
 * URL when followed (one from the first render may have expired by then). */
function attachment(media) {
  const size = media.size < 1024 * 1024 ? `${Math.ceil(media.size / 1024)} KB` : `${(media.size / 1024 / 1024).toFixed(1)} MB`;
  const label = `${media.filename ?? "file"} (${size})`;
  // SVG can carry script: it is offered as a download, never shown.
  if (/^image\/(png|jpeg|gif|webp|avif|bmp)$/.test(media.contentType.split(";")[0])) {
    const img = document.createElement("img");
    img.className = "media";
    img.alt = label;
    img.dataset.sid = media.sid;
    media.getContentTemporaryUrl().then((url) => (img.src = url), () => (img.alt = `${label}: unavailable`));
    return img;
  }
  const a = document.createElement("a");
  a.className = "media";
  a.href = "#";
  a.textContent = label;
  a.dataset.sid = media.sid;
  a.addEventListener("click", async (e) => {
    e.preventDefault();
    let url;
    try {
      url = await media.getContentTemporaryUrl();
    } catch (err) {
      $("open-error").textContent = `${label}: ${err.message}`;
      return;
    }
    if (!url) return;
    // A download under its own name (a browser honours that for this server's own URLs;
    // storage elsewhere sends the file as it was stored).
    const save = document.createElement("a");
    save.href = url;
    save.download = media.filename ?? "";
    save.click();
  });
  return a;
}

function onMessage(message) {
  const sid = message.conversation.sid;
  if (sid === active) {
    render(message);
    typing(message.author, false);
    message.conversation.advanceLastReadMessageIndex(message.index).catch(() => {});
  } else if (message.author !== name) {
    setUnread(sid, (rows.get(sid)?.unread ?? 0) + 1);
  }
}

async function open(sid) {
  active = sid;
  for (const [s, row] of rows) row.li.setAttribute("aria-current", String(s === sid));
  const { conversation } = rows.get(sid);
  $("room-title").textContent = title(conversation);
  $("messages").replaceChildren();
  $("typing").textContent = "";
  typists.clear();
  $("composer").hidden = false;
  $("body").focus();
  const page = await conversation.getMessages(50);
  if (active !== sid) return;
  for (const m of page.items) render(m);
  await conversation.setAllMessagesRead();
  setUnread(sid, 0);
}

$("open-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("open-error").textContent = "";
  const wanted = $("conversation-name").value.trim();
  try {
    let conversation;
    if (e.submitter?.value === "join") {
      conversation = await client.joinConversation(wanted);
    } else {
      conversation = await client.createConversation({ friendlyName: wanted, uniqueName: wanted });
      await conversation.join();
    }
    addRow(conversation, 0);
    $("conversation-name").value = "";
    open(conversation.sid);
  } catch (err) {
    $("open-error").textContent = `${err.message} (${err.code ?? "?"})`;
  }
});

$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("body");
  const body = input.value;
  if (!body || !active) return;
  input.value = "";
  try {
    await rows.get(active).conversation.sendMessage(body);
  } catch (err) {
    input.value = body;
    $("open-error").textContent = `not sent: ${err.message}`;
  }
});

/** Sends `files` as one message (with the typed text, if any), showing the upload's progress. */
let uploading = 0; // sends under way: the progress bar shows while any is

async function sendFiles(files) {
  if (!active || files.length === 0) return;
  const input = $("body");
  const text = input.value;
  const builder = rows.get(active).conversation.prepareMessage();
  if (text) builder.setBody(text);
  const total = files.reduce((n, f) => n + f.size, 0);
  const sentOf = new Map();
  for (const file of files) {
    builder.addMedia({
      contentType: file.type || "application/octet-stream",
      filename: file.name,
      media: file,
      onProgress: (sent) => {
        sentOf.set(file, sent);
        const all = [...sentOf.values()].reduce((n, x) => n + x, 0);
        $("upload-progress").value = total === 0 ? 1 : Math.min(1, all / total);
      },
    });
  }
  $("upload-name").textContent = `sending ${files.map((f) => f.name).join(", ")}`;
  $("upload-progress").value = 0;
  $("upload").hidden = false;
  uploading++;
  try {
    await builder.build().send();
    // What was typed meanwhile stays.
    if (input.value === text) input.value = "";
  } catch (err) {
    $("open-error").textContent = `not sent: ${err.message} (${err.code ?? "?"})`;
  } finally {
    uploading--;
    $("upload").hidden = uploading === 0;
  }
}

$("file").addEventListener("change", (e) => {
  const files = [...e.target.files];
  e.target.value = "";
  sendFiles(files);
});

// Files dropped anywhere on the open conversation are sent to it.
const room = $("room");
room.addEventListener("dragover", (e) => {
  if (!active || !e.dataTransfer?.types.includes("Files")) return;
  e.preventDefault();
  room.classList.add("dropping");
});
room.addEventListener("dragleave", () => room.classList.remove("dropping"));
room.addEventListener("drop", (e) => {
  room.classList.remove("dropping");
  if (!active || !e.dataTransfer?.files.length) return;
  e.preventDefault();
  sendFiles([...e.dataTransfer.files]);
});

$("body").addEventListener("input", () => active && rows.get(active)?.conversation.typing());

function typing(identity, on) {
  if (identity === name) return;
  clearTimeout(typists.get(identity));
  typists.delete(identity);
  // The server ends typing by itself; this only bounds a missed typingEnded.
  if (on) typists.set(identity, setTimeout(() => typing(identity, false), 10_000));
  const who = [...typists.keys()];
  $("typing").textContent = who.length === 0 ? "" : `${who.join(", ")} ${who.length === 1 ? "is" : "are"} typing…`;
}
