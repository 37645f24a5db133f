// The Confab browser SDK.
//
//   import { Client } from "/sdk/confab.js";
//   const client = new Client(token, { logLevel: "debug" });
//   client.on("stateChanged", (state) => { if (state === "initialized") { /* use it */ } });
//
// Every decision (states, token deadlines, backoff, heartbeats, requests and their op_ids,
// resume cursors, exactly-once delivery) is made by confab-client-core, the same Rust code
// the Rust SDK drives, compiled to WebAssembly (wasm/). This file only moves bytes and time:
// it owns the WebSocket, the timer and the page's online/offline events, feeds them to the
// core, and turns what the core says into events and promises. See docs/BROWSER.md.

import initWasm, { Core } from "./wasm/confab_client_wasm.js";
import { Method } from "./methods.js";

const SUBPROTOCOL = "confab.v1.json";
const REALTIME_PATH = "/v1/realtime";
const LEVELS = ["trace", "debug", "info", "warn", "error", "silent"];

let wasmLoading = null;

/** Loads the WebAssembly core once per page (every client shares it). */
function loadWasm() {
  if (!wasmLoading) wasmLoading = initWasm();
  return wasmLoading;
}

/** The core's clock: monotonic, in unix milliseconds (a stepped wall clock cannot fire
 * every timer at once). */
function now() {
  return performance.timeOrigin + performance.now();
}

function randomU32() {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** A frame fit for the log: access tokens never reach it. */
function redacted(frame) {
  return frame.replace(/("token":")[^"]*"/, '$1<redacted>"');
}

function parseAttributes(text) {
  if (typeof text !== "string") return text ?? {};
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toDate(ms) {
  return ms == null ? null : new Date(ms);
}

/** snake_case wire fields as camelCase, one level deep (the plain payloads: typing, read
 * horizons, memberships). */
function camel(obj) {
  if (obj === null || typeof obj !== "object") return obj;
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    out[k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())] = v;
  }
  return out;
}

/** The object under `key`, updated from `data`, or a new one made and kept. */
function upsert(map, key, data, make) {
  let o = map.get(key);
  if (o) o._apply(data);
  else {
    o = make();
    map.set(key, o);
  }
  return o;
}

/** A refused call, with the server's (or the client's) numeric code. */
export class ConfabError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "ConfabError";
    /** The numeric code (docs/PROTOCOL.md), e.g. 20404. */
    this.code = code;
  }
}

/** on / off / once, the way the browser's own objects and Twilio's SDK do it. */
class Emitter {
  #listeners = new Map();

  /** Calls `listener` for every `event`. Returns this. */
  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, []);
    this.#listeners.get(event).push({ listener, once: false });
    return this;
  }

  /** Calls `listener` for the next `event` only. Returns this. */
  once(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, []);
    this.#listeners.get(event).push({ listener, once: true });
    return this;
  }

  /** Stops calling `listener` for `event` (every listener of it without one). */
  off(event, listener) {
    if (listener === undefined) {
      this.#listeners.delete(event);
      return this;
    }
    const list = this.#listeners.get(event);
    if (list) {
      const i = list.findIndex((l) => l.listener === listener);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  /** @internal */
  _emit(event, ...args) {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) return;
    for (const l of [...list]) {
      if (l.once) {
        // This very entry: the same function may also be registered with `on`.
        const i = list.indexOf(l);
        if (i >= 0) list.splice(i, 1);
      }
      try {
        l.listener(...args);
      } catch (e) {
        // One app listener that throws must not stop the client or the other listeners.
        console.error(`[confab] a "${event}" listener threw`, e);
      }
    }
  }
}

/** One page of a listing, with the way to the next. */
export class Paginator {
  constructor(items, next) {
    /** The items of this page. */
    this.items = items;
    this.hasNextPage = next !== null;
    this._next = next;
  }

  /** The next page (an empty last page when there is none). */
  async nextPage() {
    return this._next ? this._next() : new Paginator([], null);
  }
}

/** A user: the client's own, or one that shares a conversation with it. */
export class User {
  constructor(client, data) {
    this._client = client;
    this._apply(data);
  }

  /** @internal */
  _apply(d) {
    this.identity = d.identity;
    this.friendlyName = d.friendly_name ?? null;
    this.attributes = parseAttributes(d.attributes);
    if ("is_online" in d) this.isOnline = d.is_online;
  }

  /** Changes this user's friendly name (only the client's own user). */
  updateFriendlyName(name) {
    return this._client.updateUser({ friendlyName: name });
  }

  /** Changes this user's attributes (only the client's own user). */
  updateAttributes(attributes) {
    return this._client.updateUser({ attributes });
  }
}

/** A participant of a conversation. */
export class Participant {
  constructor(conversation, data) {
    this.conversation = conversation;
    this.sid = data.sid;
    this.conversationSid = data.conversation_sid;
    this.identity = data.identity ?? null;
    this.attributes = parseAttributes(data.attributes);
    this.roleSid = data.role_sid ?? null;
    this.lastReadMessageIndex = data.last_read_message_index ?? null;
    this.lastReadTimestamp = data.last_read_timestamp ?? null;
    this.notificationLevel = data.notification_level ?? "default";
    this.dateCreated = toDate(data.date_created);
    this.dateUpdated = toDate(data.date_updated);
  }

  /** Replaces the participant's attributes. */
  updateAttributes(attributes) {
    return this.conversation.updateParticipantAttributes(this.sid, attributes);
  }

  /** Removes the participant from the conversation. */
  remove() {
    return this.conversation.removeParticipant(this.sid);
  }
}

/** A message of a conversation. */
export class Message {
  constructor(conversation, data) {
    this.conversation = conversation;
    this.sid = data.sid;
    this.conversationSid = data.conversation_sid;
    this.index = data.index;
    this.author = data.author;
    this.body = data.body ?? null;
    this.attributes = parseAttributes(data.attributes);
    this.participantSid = data.participant_sid ?? null;
    this.dateCreated = toDate(data.date_created);
    this.dateUpdated = toDate(data.date_updated);
  }

  /** Changes the body (the author's own message, or with the permission). */
  updateBody(body) {
    return this.conversation.updateMessageBody(this.sid, body);
  }

  /** Replaces the attributes. */
  updateAttributes(attributes) {
    return this.conversation.updateMessageAttributes(this.sid, attributes);
  }

  /** Removes the message. */
  remove() {
    return this.conversation.removeMessage(this.sid);
  }
}

/** A conversation: its fields, every operation on it, and its own events (the client's
 * conversation events for it: `messageAdded`, `typingStarted`, ...). The client keeps one
 * object per conversation and updates it in place. */
export class Conversation extends Emitter {
  constructor(client, data) {
    super();
    this._client = client;
    this.sid = data.sid;
    this._apply(data);
  }

  /** @internal */
  _apply(d) {
    this.chatServiceSid = d.chat_service_sid;
    this.friendlyName = d.friendly_name ?? null;
    this.uniqueName = d.unique_name ?? null;
    this.attributes = parseAttributes(d.attributes);
    this.state = d.state;
    this.createdBy = d.created_by ?? null;
    this.dateCreated = toDate(d.date_created);
    this.dateUpdated = toDate(d.date_updated);
  }

  _call(method, params = {}) {
    return this._client.request(method, { conversation: this.sid, ...params });
  }

  /** Joins as the client's identity. */
  async join() {
    return new Participant(this, await this._call(Method.conversationJoin));
  }

  /** Leaves. */
  async leave() {
    return new Participant(this, await this._call(Method.conversationLeave));
  }

  /** Deletes the conversation (with the permission). */
  async delete() {
    await this._call(Method.conversationDelete);
  }

  async _update(params) {
    return this._client._conversation(await this._call(Method.conversationUpdate, params));
  }

  /** Changes the friendly name. */
  updateFriendlyName(name) {
    return this._update({ friendlyName: name });
  }

  /** Changes the unique name. */
  updateUniqueName(name) {
    return this._update({ uniqueName: name });
  }

  /** Replaces the attributes. */
  updateAttributes(attributes) {
    return this._update({ attributes });
  }

  /** `default` or `muted`, for the client's user. */
  async setNotificationLevel(level) {
    return this._client._summary(await this._call(Method.conversationSetNotificationLevel, { level }));
  }

  /** The conversation as the user sees it: counts and read state. */
  async getSummary() {
    return this._client._summary(await this._call(Method.conversationSummary));
  }

  /** Messages the conversation holds. */
  async getMessagesCount() {
    return (await this.getSummary()).messagesCount;
  }

  /** Participants it has. */
  async getParticipantsCount() {
    return (await this.getSummary()).participantsCount;
  }

  /** Messages after the user's read horizon; `null` until the user has set one. */
  async getUnreadMessagesCount() {
    return (await this.getSummary()).unreadMessagesCount;
  }

  /** Adds a chat participant by identity. */
  async addParticipant(identity, attributes) {
    return new Participant(this, await this._call(Method.participantAdd, { identity, attributes }));
  }

  /** A participant by SID or identity. */
  async getParticipant(participant) {
    return new Participant(this, await this._call(Method.participantGet, { participant }));
  }

  /** Every participant. */
  async getParticipants() {
    let page = await this._client._page(Method.participantList, { conversation: this.sid, pageSize: 100 }, (p) => new Participant(this, p));
    const all = [...page.items];
    while (page.hasNextPage) {
      page = await page.nextPage();
      all.push(...page.items);
    }
    return all;
  }

  /** Replaces a participant's attributes. */
  async updateParticipantAttributes(participant, attributes) {
    return new Participant(this, await this._call(Method.participantUpdate, { participant, attributes }));
  }

  /** Removes a participant. */
  async removeParticipant(participant) {
    return new Participant(this, await this._call(Method.participantRemove, { participant }));
  }

  /** Sends a message; resolves with it once committed (the sender gets its `messageAdded`
   * too, once). */
  async sendMessage(body, attributes) {
    return new Message(this, await this._call(Method.messageSend, { body, attributes }));
  }

  /** A page of messages: by default the newest `pageSize` (newest first); from `anchor`
   * (an index) `backwards` (older, newest first) or `forwards` (newer, oldest first). */
  getMessages(pageSize = 30, anchor, direction = "backwards") {
    const forwards = direction === "forwards";
    const params = { conversation: this.sid, pageSize };
    // The server takes an anchor with a direction, and no anchor with an order.
    if (anchor !== undefined && anchor !== null) {
      params.anchor = anchor;
      params.direction = forwards ? "forwards" : "backwards";
    } else {
      params.order = forwards ? "asc" : "desc";
    }
    return this._client._page(Method.messageList, params, (m) => new Message(this, m));
  }

  /** A message by SID. */
  async getMessage(message) {
    return new Message(this, await this._call(Method.messageGet, { message }));
  }

  /** Changes a message's body. */
  async updateMessageBody(message, body) {
    return new Message(this, await this._call(Method.messageUpdate, { message, body }));
  }

  /** Replaces a message's attributes. */
  async updateMessageAttributes(message, attributes) {
    return new Message(this, await this._call(Method.messageUpdate, { message, attributes }));
  }

  /** Removes a message. */
  async removeMessage(message) {
    return new Message(this, await this._call(Method.messageRemove, { message }));
  }

  /** Tells the other participants the user is typing (call it on keystrokes). */
  typing() {
    this._client.typing(this.sid);
  }

  async _read(method, index) {
    const r = await this._call(method, index === undefined ? {} : { index });
    return r.unread_messages_count ?? null;
  }

  /** Sets the read horizon to `index`; resolves with the unread count it leaves. */
  setLastRead(index) {
    return this._read(Method.conversationSetLastRead, index);
  }

  /** Moves the read horizon forward to `index`, never back. */
  advanceLastRead(index) {
    return this._read(Method.conversationAdvanceLastRead, index);
  }

  /** Marks every message read. */
  setAllRead() {
    return this._read(Method.conversationSetAllRead);
  }

  /** Clears the read horizon. */
  setAllUnread() {
    return this._read(Method.conversationSetAllUnread);
  }
}

/** Conversation events the client also hands to the conversation object. */
const CONVERSATION_EVENTS = new Set([
  "conversationUpdated", "conversationJoined", "conversationLeft", "conversationRemoved",
  "conversationReset", "messageAdded", "messageUpdated", "messageRemoved",
  "participantJoined", "participantUpdated", "participantLeft", "typingStarted",
  "typingEnded", "readHorizon",
]);

/**
 * A Confab client. Returns at once and connects in the background; what happens arrives as
 * events (the Rust SDK's, same names): `stateChanged` (`initialized` | `failed`),
 * `connectionStateChanged`, `connectionError`, `tokenAboutToExpire`, `tokenExpired`, and the
 * conversation events, each exactly once and in order across reconnects.
 */
export class Client extends Emitter {
  /**
   * @param {string} token an access token from the app's backend (it goes in the first
   *   frame, never in a URL)
   * @param {object} [options] `url` (default: this page's server), `logLevel` (`trace` |
   *   `debug` | `info` | `warn` (default) | `error` | `silent`), `tokenLeadMs`,
   *   `reconnectionWindowMs` (`null`: forever), `requestTimeoutMs`, `connectTimeoutMs`,
   *   `watchCap`
   */
  constructor(token, options = {}) {
    super();
    const page = typeof location !== "undefined" ? location : null;
    const base = options.url ?? (page ? `${page.protocol === "https:" ? "wss:" : "ws:"}//${page.host}` : "");
    this._url = base.replace(/^http/, "ws").replace(/\/+$/, "") + REALTIME_PATH;
    this._logLevel = LEVELS.indexOf(options.logLevel ?? "warn");
    if (this._logLevel < 0) throw new ConfabError(20001, `unknown logLevel ${options.logLevel}`);
    const config = {};
    if ("reconnectionWindowMs" in options) config.windowMs = options.reconnectionWindowMs;
    for (const k of ["tokenLeadMs", "requestTimeoutMs", "connectTimeoutMs", "watchCap"]) {
      if (k in options) config[k] = options[k];
    }
    /** `connecting` | `connected` | `disconnecting` | `disconnected` | `denied`. */
    this.connectionState = "connecting";
    /** `initialized` | `failed` once decided; `undefined` before. */
    this.state = undefined;
    this._core = null;
    this._ws = null;
    this._timer = null;
    this._pending = new Map();
    this._queue = [];
    this._dispatching = false;
    this._conversations = new Map();
    this._users = new Map();
    this._shutdown = null;
    this._onOnline = () => this._input(() => this._core.network_online(now()), "the network is back");
    this._onOffline = () => this._offline();
    if (typeof window !== "undefined") {
      window.addEventListener("online", this._onOnline);
      window.addEventListener("offline", this._onOffline);
    }
    this._ready = loadWasm().then(
      () => {
        this._core = new Core(token, JSON.stringify(config), randomU32(), randomU32(), now());
        this._pump();
      },
      (e) => {
        this._log("error", "the WebAssembly core did not load", e);
        this.state = "failed";
        this._emit("stateChanged", "failed");
        throw new ConfabError(20500, `the WebAssembly core did not load: ${e}`);
      },
    );
    // A failed load is reported as an event; `await` on a method reports it again.
    this._ready.catch(() => {});
  }

  /** The token's identity. */
  get identity() {
    return this._core?.identity() ?? null;
  }

  _log(level, ...args) {
    if (LEVELS.indexOf(level) < this._logLevel) return;
    const sink = { trace: "debug", debug: "debug", info: "info", warn: "warn", error: "error" }[level];
    console[sink]("[confab]", ...args);
  }

  /** Runs an input on the core, then does what it asks. */
  _input(f, why) {
    if (!this._core) return;
    if (why) this._log("debug", why);
    f();
    this._pump();
  }

  /** Drains the core: socket actions at once, the timer from this latest drain, and the
   * outputs queued so that events reach the app in order even when a listener calls back
   * into the client. */
  _pump() {
    const out = JSON.parse(this._core.drain());
    clearTimeout(this._timer);
    this._timer = null;
    if (out.timeout !== null) {
      this._timer = setTimeout(
        () => this._input(() => this._core.timeout(now())),
        Math.max(0, out.timeout - now()),
      );
    }
    for (const t of out.transmits) this._transmit(t);
    this._queue.push(...out.outputs);
    if (this._dispatching) return;
    this._dispatching = true;
    try {
      while (this._queue.length > 0) this._output(this._queue.shift());
    } finally {
      this._dispatching = false;
    }
  }

  _transmit(t) {
    if (t.connect) {
      this._drop();
      this._log("debug", "connecting to", this._url);
      let ws;
      try {
        ws = new WebSocket(this._url, SUBPROTOCOL);
      } catch (e) {
        this._log("warn", "cannot open a WebSocket", e);
        queueMicrotask(() => this._input(() => this._core.closed(now(), undefined)));
        return;
      }
      this._ws = ws;
      ws.onopen = () => {
        if (this._ws !== ws) return;
        this._log("info", "connected");
        this._input(() => this._core.connected(now()));
      };
      ws.onmessage = (m) => {
        if (this._ws !== ws || typeof m.data !== "string") return;
        if (this._logLevel === 0) this._log("trace", "received", m.data);
        this._input(() => this._core.frame(m.data, now()));
      };
      ws.onclose = (c) => {
        if (this._ws !== ws) return;
        this._ws = null;
        this._log("info", "connection closed", c.code, c.reason);
        this._input(() => this._core.closed(now(), c.code));
      };
    } else if (t.send !== undefined) {
      if (this._logLevel === 0) this._log("trace", "sending", redacted(t.send));
      const ws = this._ws;
      if (ws && ws.readyState === WebSocket.OPEN) {
        ws.send(t.send);
      } else if (!ws) {
        // No socket under the core: the link is as good as lost.
        queueMicrotask(() => this._input(() => this._core.closed(now(), undefined)));
      }
      // A closing socket: the frame is lost with it, and its onclose reports the close code
      // (a missed 4429 must still back off), as the Rust driver's reader does.
    } else if (t.close) {
      this._drop();
    }
  }

  /** Closes the socket and forgets it (its end is not reported). */
  _drop() {
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(1000);
      } catch {
        // Already closing.
      }
    }
  }

  /** The page went offline: a socket on a dead network may take a heartbeat to notice, so
   * count the link as lost now; `online` retries at once. */
  _offline() {
    if (!this._core || !this._ws) return;
    this._log("info", "the network is gone");
    this._drop();
    this._input(() => this._core.closed(now(), undefined));
  }

  _output(o) {
    if (o.response !== undefined) {
      const p = this._pending.get(o.response);
      if (!p) return;
      this._pending.delete(o.response);
      if (o.error) p.reject(new ConfabError(o.error.code, o.error.message));
      else p.resolve(o.ok);
      return;
    }
    const { event, data } = o;
    let payload = data;
    let sid = null;
    switch (event) {
      case "stateChanged":
        this.state = data;
        this._log("debug", "client state", data);
        break;
      case "connectionStateChanged":
        this.connectionState = data;
        this._log("debug", "connection state", data);
        if (data === "disconnected" && this._shutdown) this._finishShutdown();
        break;
      case "connectionError":
        this._log("warn", "connection error", data.code, data.message);
        break;
      case "tokenAboutToExpire":
        payload = data.remainingMs;
        break;
      case "tokenExpired":
        payload = undefined;
        break;
      case "conversationAdded":
      case "conversationUpdated":
        payload = this._conversation(data);
        sid = payload.sid;
        break;
      case "conversationJoined":
      case "conversationLeft":
      case "conversationRemoved": {
        payload = camel(data);
        sid = payload.conversationSid;
        if (data.conversation) payload.conversation = this._conversation(data.conversation);
        break;
      }
      case "conversationReset":
        sid = data.conversation;
        break;
      case "messageAdded":
      case "messageUpdated":
      case "messageRemoved":
        sid = data.conversation_sid;
        payload = new Message(this._conversationFor(sid), data);
        break;
      case "participantJoined":
      case "participantUpdated":
      case "participantLeft":
        sid = data.conversation_sid;
        payload = new Participant(this._conversationFor(sid), data);
        break;
      case "userUpdated":
        payload = this._user(data);
        break;
      default:
        payload = camel(data);
        sid = payload?.conversationSid ?? null;
    }
    this._emit(event, payload);
    if (sid && CONVERSATION_EVENTS.has(event)) this._conversations.get(sid)?._emit(event, payload);
    if (event === "conversationLeft" || event === "conversationRemoved") this._conversations.delete(sid);
    if (event === "tokenAboutToExpire" || event === "tokenExpired") this._log("info", event);
  }

  /** The client's one object for a conversation, updated in place. @internal */
  _conversation(data) {
    return upsert(this._conversations, data.sid, data, () => new Conversation(this, data));
  }

  _conversationFor(sid) {
    return this._conversations.get(sid) ?? new Conversation(this, { sid });
  }

  /** The client's one object for a user, updated in place. */
  _user(data) {
    return upsert(this._users, data.identity, data, () => new User(this, data));
  }

  /** @internal */
  _summary(s) {
    const conversation = this._conversation(s.conversation);
    return {
      conversation,
      participant: new Participant(conversation, s.participant),
      lastMessageIndex: s.last_message_index ?? null,
      unreadMessagesCount: s.unread_messages_count ?? null,
      notificationLevel: s.notification_level,
      messagesCount: s.messages_count,
      participantsCount: s.participants_count,
      lastActivity: toDate(s.last_activity),
    };
  }

  /** A listing as a Paginator. @internal */
  async _page(method, params, wrap) {
    const page = await this.request(method, params);
    const token = page.next_page_token ?? null;
    const next = token
      ? () => {
          const p = { ...params, pageToken: token };
          // The anchor was for the first page; the token carries on from there.
          delete p.anchor;
          return this._page(method, p, wrap);
        }
      : null;
    return new Paginator(page.items.map(wrap), next);
  }

  /**
   * Calls a realtime method (docs/PROTOCOL.md) and resolves with its answer; rejects with a
   * ConfabError. Mutations carry an op_id, so a resend after a lost link never acts twice.
   */
  async request(method, params = {}) {
    await this._ready;
    return new Promise((resolve, reject) => {
      let id;
      try {
        id = this._core.request(method, JSON.stringify(params), now());
      } catch (e) {
        reject(new ConfabError(20001, String(e)));
        return;
      }
      this._log("debug", "request", method);
      this._pending.set(id, { resolve, reject });
      this._pump();
    });
  }

  /** Creates a conversation (join it to take part). */
  async createConversation({ friendlyName, uniqueName, attributes } = {}) {
    return this._conversation(await this.request(Method.conversationCreate, { friendlyName, uniqueName, attributes }));
  }

  /** A conversation by SID or unique name (the user must be a participant). */
  async getConversation(sidOrUniqueName) {
    return this._conversation(await this.request(Method.conversationGet, { conversation: sidOrUniqueName }));
  }

  /** The conversation objects the client holds: the first page at initialization, then
   * every conversation it hears of. */
  get conversations() {
    return [...this._conversations.values()];
  }

  /** The user's conversations, most recently active first, as summaries (conversation,
   * participant, counts, unread), `pageSize` (1 to 50) at a time. */
  getSubscribedConversations(pageSize = 50) {
    return this._page(Method.conversationsList, { pageSize, order: "recent" }, (s) => this._summary(s));
  }

  /** A user (the client's own, or one sharing a conversation with it) with `isOnline`; the
   * client then keeps it up to date from `userUpdated`. */
  async getUser(identity) {
    return this._user(await this.request(Method.userGet, { identity }));
  }

  /** The users the client has looked up or heard from. */
  getSubscribedUsers() {
    return [...this._users.values()];
  }

  /** Joins a conversation (SID or unique name) as the client's identity. */
  async join(conversation) {
    return new Participant(this._conversationFor(conversation), await this.request(Method.conversationJoin, { conversation }));
  }

  /** Sends a text message to a conversation. */
  async sendMessage(conversation, body, attributes) {
    return new Message(this._conversationFor(conversation), await this.request(Method.messageSend, { conversation, body, attributes }));
  }

  /** Changes the user's own friendly name and attributes. */
  async updateUser({ friendlyName, attributes } = {}) {
    return this._user(await this.request(Method.userUpdate, { friendlyName, attributes }));
  }

  /** The typing signal for a conversation; dropped while offline. */
  typing(conversation) {
    if (this._core) this._input(() => this._core.typing(conversation, now()));
  }

  /**
   * Takes a new token (same identity): renewed in place on a live connection (no
   * reconnect, no lost event); on a disconnected, denied or failed client it starts a new
   * connection. Resolves to the client.
   */
  async updateToken(token) {
    await this._ready;
    return new Promise((resolve, reject) => {
      let id;
      try {
        id = this._core.update_token(token, now());
      } catch (e) {
        let err = { code: 20001, message: String(e) };
        try {
          err = JSON.parse(e);
        } catch {
          // Not the core's JSON: keep the text.
        }
        reject(new ConfabError(err.code, err.message));
        return;
      }
      this._log("debug", "token update");
      if (id === undefined) {
        resolve(this);
      } else {
        this._pending.set(id, { resolve: () => resolve(this), reject });
      }
      this._pump();
    });
  }

  /** Tries again now with a fresh reconnection window. */
  reconnect() {
    this._input(() => this._core.reconnect(now()), "reconnect asked");
  }

  /** Disconnects for good (`disconnecting`, then `disconnected`); pending requests fail.
   * Resolves once the client has stopped. */
  async shutdown() {
    await this._ready.catch(() => {});
    if (!this._core) return;
    if (!this._shutdown) {
      this._shutdown = new Promise((resolve) => {
        this._shutdownDone = resolve;
      });
      if (typeof window !== "undefined") {
        window.removeEventListener("online", this._onOnline);
        window.removeEventListener("offline", this._onOffline);
      }
      this._input(() => this._core.shutdown(), "shutdown");
      if (this.connectionState === "disconnected") this._finishShutdown();
    }
    return this._shutdown;
  }

  _finishShutdown() {
    clearTimeout(this._timer);
    this._timer = null;
    this._drop();
    this._shutdownDone?.();
  }
}
