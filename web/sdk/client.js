// The client: it owns the WebSocket, the timer and the network events, feeds them to the
// WebAssembly core (confab-client-core, the same Rust code the Rust SDK drives), and turns
// what the core says into the entity objects and their events. Every decision about the link
// (states, token deadlines, backoff, heartbeats, requests and their op_ids, resume cursors,
// exactly-once delivery) is the core's. See docs/BROWSER.md.

import { Core } from "./wasm/confab_client_wasm.js";
import { EventEmitter } from "./emitter.js";
import { ConfabError, INVALID, UNSUPPORTED } from "./errors.js";
import { Conversation } from "./conversation.js";
import { Method } from "./methods.js";
import { Paginator } from "./paginator.js";
import { User } from "./user.js";
import { Media, temporaryUrls } from "./media.js";
import { inBrowser, loadWasm, now, randomU32, realtimeUrl, webSocketClass } from "./platform.js";

/** This SDK's version (the package's). */
export const VERSION = "0.1.0";

const SUBPROTOCOL = "confab.v1.json";
const REALTIME_PATH = "/v1/realtime";
const LEVELS = ["trace", "debug", "info", "warn", "error", "silent"];
/** Users the client keeps up to date at once; past it the longest-subscribed goes (the
 * reference's `userInfosToSubscribe` default). */
const USERS_KEPT = 100;
/** Conversations the user left whose late events are dropped without asking the server. */
const GONE_KEPT = 1000;

/** A frame fit for the log: access tokens never reach it. */
function redacted(frame) {
  return frame.replace(/("token":")[^"]*"/, '$1<redacted>"');
}

/** The claims of an access token (unverified: the server verifies it), or `{}`. */
function claims(token) {
  try {
    const part = String(token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

/** The conversation an event of a conversation stream is about. */
function conversationOf(type, d) {
  if (type === "conversationUpdated" || type === "conversationAdded") return d.sid;
  return d.conversation_sid ?? null;
}

/**
 * A Confab client: the reference SDK's `Client`. Returns at once and connects in the
 * background; `initialized` (or `initFailed`) says when it is ready, and every change
 * arrives as events on it and on the objects it hands out, exactly once and in order across
 * reconnects.
 */
export class Client extends EventEmitter {
  static conversationAdded = "conversationAdded";
  static conversationJoined = "conversationJoined";
  static conversationLeft = "conversationLeft";
  static conversationRemoved = "conversationRemoved";
  static conversationUpdated = "conversationUpdated";
  static participantJoined = "participantJoined";
  static participantLeft = "participantLeft";
  static participantUpdated = "participantUpdated";
  static messageAdded = "messageAdded";
  static messageRemoved = "messageRemoved";
  static messageUpdated = "messageUpdated";
  static tokenAboutToExpire = "tokenAboutToExpire";
  static tokenExpired = "tokenExpired";
  static typingEnded = "typingEnded";
  static typingStarted = "typingStarted";
  static userSubscribed = "userSubscribed";
  static userUnsubscribed = "userUnsubscribed";
  static userUpdated = "userUpdated";
  static stateChanged = "stateChanged";
  static initialized = "initialized";
  static initFailed = "initFailed";
  static connectionStateChanged = "connectionStateChanged";
  static connectionError = "connectionError";
  static version = VERSION;

  /** A client, resolved once it is initialized (rejected if initialization fails). */
  static create(token, options) {
    const client = new Client(token, options);
    return new Promise((resolve, reject) => {
      client.onceWithReplay("stateChanged", (state) => {
        if (state === "initialized") resolve(client);
        else reject(new ConfabError(client._lastError?.code ?? 20503, client._lastError?.message ?? "initialization failed"));
      });
    });
  }

  /**
   * @param {string} token an access token from the app's backend (it goes in the first
   *   frame, never in a URL)
   * @param {object} [options] the reference's `logLevel` (`silent` by default), and
   *   Confab's: `url` (the server; default: the page's own, required outside a browser),
   *   `tokenProvider` (called for a new token before the token expires), `tokenLeadMs`, `reconnectionWindowMs` (`null`: forever), `requestTimeoutMs`,
   *   `connectTimeoutMs`, `watchCap`. The reference's other options are accepted and
   *   ignored.
   */
  constructor(token, options = {}) {
    super();
    options = options ?? {};
    const url = realtimeUrl(options.url, REALTIME_PATH);
    if (url === null) {
      throw new ConfabError(INVALID, "options.url is required outside a browser: the Confab server's address, e.g. https://chat.example.com");
    }
    this._url = url;
    /** The server's HTTP origin, for the media service. */
    this._httpBase = url.slice(0, -REALTIME_PATH.length).replace(/^ws/, "http");
    this._logLevel = LEVELS.indexOf(options.logLevel ?? "silent");
    if (this._logLevel < 0) throw new ConfabError(INVALID, `unknown logLevel ${options.logLevel}: one of ${LEVELS.join(", ")}`);
    const config = {};
    if ("reconnectionWindowMs" in options) config.windowMs = options.reconnectionWindowMs;
    for (const k of ["tokenLeadMs", "requestTimeoutMs", "connectTimeoutMs", "watchCap"]) {
      if (k in options) config[k] = options[k];
    }
    /** This SDK's version. */
    this.version = VERSION;
    /** `connecting` | `connected` | `disconnecting` | `disconnected` | `denied`. */
    this.connectionState = "connecting";
    /** `initialized` | `failed` once decided; undefined before. */
    this.state = undefined;
    this._token = token;
    if (options.tokenProvider !== undefined && typeof options.tokenProvider !== "function") {
      throw new ConfabError(INVALID, "options.tokenProvider must be a function returning a token (or a promise of one)");
    }
    this._tokenProvider = options.tokenProvider ?? null;
    this._renewing = false;
    const c = claims(token);
    this._identity = c.grants?.identity ?? null;
    this._accountSid = c.sub ?? null;
    this._serviceSid = c.grants?.chat?.service_sid ?? null;
    this._core = null;
    this._ws = null;
    this._timer = null;
    this._pending = new Map();
    this._queue = [];
    this._dispatching = false;
    this._held = false;
    this._conversations = new Map();
    this._goneSids = new Set();
    this._users = new Map();
    this._self = new User(this, this._identity);
    this._selfOk = false;
    this._selfAsk = null;
    this._lastError = null;
    this._shutdown = null;
    this._onOnline = () => this._input(() => this._core.network_online(now()), "the network is back");
    this._onOffline = () => this._offline();
    if (inBrowser) {
      window.addEventListener("online", this._onOnline);
      window.addEventListener("offline", this._onOffline);
    }
    this._ready = Promise.all([loadWasm(), webSocketClass()]).then(
      ([, socket]) => {
        this._WebSocket = socket;
        this._core = new Core(token, JSON.stringify(config), randomU32(), randomU32(), now());
        // Asked for with the first page, so `client.user` is filled before `initialized`.
        this._loadSelf();
        this._pump();
      },
      (e) => {
        this._log("error", "the client could not start", e);
        this.state = "failed";
        this._lastError = { terminal: true, code: 20500, message: `the client could not start: ${e}` };
        this.emit("stateChanged", "failed");
        this.emit("initFailed", { error: this._lastError });
        throw new ConfabError(20500, this._lastError.message);
      },
    );
    // A failed start is reported as an event; `await` on a method reports it again.
    this._ready.catch(() => {});
  }

  /** Reads the user's own profile into `client.user`. */
  _loadSelf() {
    this._selfAsk = this._internal(Method.userGet, {})
      .then(
        (d) => {
          this._self._update({ ...d, is_online: true });
          this._selfOk = true;
        },
        (e) => this._log("debug", "the user's own profile did not load", e),
      )
      .finally(() => {
        this._selfAsk = null;
      });
    return this._selfAsk;
  }

  /** The client's own user (its profile fills in before `initialized`). */
  get user() {
    return this._self;
  }

  /** Whether users' `isOnline` is kept: always, in Confab. */
  get reachabilityEnabled() {
    return true;
  }

  /** The access token in use. */
  get token() {
    return this._token;
  }

  _log(level, ...args) {
    if (LEVELS.indexOf(level) < this._logLevel) return;
    const sink = { trace: "debug", debug: "debug", info: "info", warn: "warn", error: "error" }[level];
    console[sink]("[confab]", ...args);
  }

  // ---- the core ----

  /** Runs an input on the core, then does what it asks. */
  _input(f, why) {
    if (!this._core) return;
    if (why) this._log("debug", why);
    f();
    this._pump();
  }

  /** Drains the core: socket actions at once, the timer from this latest drain, answers to
   * the SDK's own requests at once, and everything else queued, so that events reach the app
   * in order even when a listener calls back into the client. */
  _pump() {
    const out = JSON.parse(this._core.drain());
    clearTimeout(this._timer);
    this._timer = null;
    if (out.timeout !== null) {
      this._timer = setTimeout(() => this._input(() => this._core.timeout(now())), Math.max(0, out.timeout - now()));
    }
    for (const t of out.transmits) this._transmit(t);
    for (const o of out.outputs) {
      // The SDK's own requests are answered at once: events may be waiting for them.
      if (o.response !== undefined && this._pending.get(o.response)?.internal) this._answer(o);
      else this._queue.push(o);
    }
    this._dispatch();
  }

  _dispatch() {
    if (this._dispatching) return;
    this._dispatching = true;
    try {
      while (this._queue.length > 0 && !this._held) this._output(this._queue.shift());
    } finally {
      this._dispatching = false;
    }
  }

  /** Puts `o` back at the head of the queue until `promise` settles: what the app hears
   * next needs what it brings. */
  _await(o, promise) {
    this._queue.unshift(o);
    this._held = true;
    promise
      .catch(() => {})
      .finally(() => {
        this._held = false;
        this._dispatch();
      });
  }

  _transmit(t) {
    if (t.connect) {
      this._drop();
      this._log("debug", "connecting to", this._url);
      let ws;
      try {
        ws = new this._WebSocket(this._url, SUBPROTOCOL);
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
      ws.onerror = () => {
        // Followed by onclose, which reports it.
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
      if (ws && ws.readyState === 1) {
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
      ws.onerror = () => {};
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

  _answer(o) {
    const p = this._pending.get(o.response);
    if (!p) return;
    this._pending.delete(o.response);
    if (o.error) p.reject(new ConfabError(o.error.code, o.error.message));
    else p.resolve(o.ok);
  }

  // ---- what the core says ----

  _output(o) {
    if (o.response !== undefined) {
      this._answer(o);
      return;
    }
    const { event, data } = o;
    switch (event) {
      case "stateChanged":
        if (data === "initialized" && !this._selfOk && !o.selfAsked) {
          o.selfAsked = true;
          this._await(o, this._selfAsk ?? this._loadSelf());
          return;
        }
        this.state = data;
        this._log("debug", "client state", data);
        this.emit("stateChanged", data);
        if (data === "initialized") this.emit("initialized");
        else this.emit("initFailed", { error: this._lastError ?? { terminal: true, message: "initialization failed" } });
        return;
      case "connectionStateChanged":
        this.connectionState = data;
        this._self.isOnline = data === "connected";
        this._log("debug", "connection state", data);
        this.emit("connectionStateChanged", data);
        if (data === "disconnected" && this._shutdown) this._finishShutdown();
        return;
      case "connectionError":
        this._lastError = data;
        this._log("warn", "connection error", data.code, data.message);
        this.emit("connectionError", data);
        return;
      case "tokenAboutToExpire":
        this._log("info", event);
        this.emit("tokenAboutToExpire", data.remainingMs);
        this._renew();
        return;
      case "tokenExpired":
        this._log("info", event);
        this.emit("tokenExpired");
        this._renew();
        return;
      case "conversationListed":
        this._listed(data);
        return;
      case "conversationJoined":
        this._joined(o, data);
        return;
      case "conversationLeft":
      case "conversationRemoved": {
        const conversation = this._conversations.get(data.conversation_sid);
        if (conversation) this._leave(conversation);
        return;
      }
      case "conversationReset": {
        const conversation = this._conversations.get(data.conversation);
        // Events were missed: what they changed is read again.
        conversation?._summary().catch(() => {});
        return;
      }
      case "userUpdated": {
        const user = this._users.get(data.identity);
        if (user) this._userChanged(user, user._update(data));
        return;
      }
      default:
        this._conversationEvent(o, event, data);
    }
  }

  /** A conversation of the user's listing (the first page, then the rest in the background). */
  _listed(s) {
    const sid = s.conversation.sid;
    const known = this._conversations.get(sid);
    const conversation = known ?? new Conversation(this, sid);
    const fresh = !known || known.status !== "joined";
    const reasons = conversation._applySummary(s);
    this._conversations.set(sid, conversation);
    this._goneSids.delete(sid);
    if (fresh) this.emit("conversationAdded", conversation);
    else conversation._updated(reasons);
  }

  /** The user became a participant: the conversation's summary is read first, so the
   * object comes complete (read horizon, last message, notification level). */
  _joined(o, m) {
    if (o.summary === undefined) {
      o.summary = null;
      this._await(
        o,
        this._internal(Method.conversationSummary, { conversation: m.conversation_sid }).then((s) => {
          o.summary = s;
        }),
      );
      return;
    }
    const sid = m.conversation_sid;
    const known = this._conversations.get(sid);
    const conversation = known ?? new Conversation(this, sid);
    const fresh = !known || known.status !== "joined";
    let reasons;
    if (o.summary) reasons = conversation._applySummary(o.summary);
    else {
      reasons = m.conversation ? conversation._apply(m.conversation) : [];
      reasons.push(...conversation._setStatus("joined"));
    }
    this._conversations.set(sid, conversation);
    this._goneSids.delete(sid);
    if (fresh) {
      this.emit("conversationAdded", conversation);
      this.emit("conversationJoined", conversation);
      if (known) conversation._updated(reasons);
    } else {
      conversation._updated(reasons);
    }
  }

  /** The user is no longer a participant (it left, was removed, or the conversation was
   * deleted). @internal */
  _leave(conversation) {
    if (this._conversations.get(conversation.sid) !== conversation) return;
    this._conversations.delete(conversation.sid);
    this._goneSids.add(conversation.sid);
    if (this._goneSids.size > GONE_KEPT) this._goneSids.delete(this._goneSids.values().next().value);
    const was = conversation.status;
    conversation._updated(conversation._setStatus("notParticipating"));
    if (was === "joined") this.emit("conversationLeft", conversation);
    this.emit("conversationRemoved", conversation);
    conversation.emit("removed", conversation);
  }

  /** An event of a conversation stream; one the client has not listed yet is read first. */
  _conversationEvent(o, type, d) {
    const sid = conversationOf(type, d);
    if (!sid || this._goneSids.has(sid)) return;
    const conversation = this._conversations.get(sid);
    if (conversation) {
      if (type === "conversationAdded") conversation._updated(conversation._apply(d));
      else conversation._event(type, d);
      return;
    }
    if (o.missing) return; // Read and refused: the user is not in it.
    o.missing = true;
    this._await(
      o,
      this._internal(Method.conversationSummary, { conversation: sid }).then((s) => {
        if (!this._conversations.has(sid)) this._listed(s);
      }),
    );
  }

  /** A user's `updated` and the client's `userUpdated`, if anything changed. @internal */
  _userChanged(user, reasons) {
    if (reasons.length === 0) return;
    const payload = { user, updateReasons: reasons };
    user.emit("updated", payload);
    this.emit("userUpdated", payload);
  }

  /** @internal */
  _unsubscribeUser(user) {
    if (this._users.get(user.identity) !== user) return;
    this._users.delete(user.identity);
    user.isSubscribed = false;
    user.emit("userUnsubscribed", user);
    this.emit("userUnsubscribed", user);
  }

  /** A participant as the REST API gives it (what the reference's `Conversation.add`
   * resolves with). @internal */
  _restParticipant(conversation, p) {
    const base = this._url.replace(/^ws/, "http").slice(0, -REALTIME_PATH.length);
    const url = `${base}/v1/Conversations/${conversation.sid}/Participants/${p.sid}`;
    return {
      account_sid: this._accountSid,
      chat_service_sid: this._serviceSid,
      conversation_sid: conversation.sid,
      role_sid: p.roleSid,
      sid: p.sid,
      attributes: p._attributesText,
      date_created: p.dateCreated?.toISOString() ?? null,
      date_updated: p.dateUpdated?.toISOString() ?? null,
      identity: p.identity,
      messaging_binding: null,
      url,
      links: { conversation: `${base}/v1/Conversations/${conversation.sid}` },
    };
  }

  // ---- requests ----

  _send(method, params, internal) {
    return new Promise((resolve, reject) => {
      let id;
      try {
        id = this._core.request(method, JSON.stringify(params), now());
      } catch (e) {
        reject(new ConfabError(INVALID, String(e)));
        return;
      }
      this._log("debug", "request", method);
      this._pending.set(id, { resolve, reject, internal });
      this._pump();
    });
  }

  /** A request of the SDK's own, answered ahead of the queue. */
  _internal(method, params) {
    return this._send(method, params, true);
  }

  /**
   * Calls a realtime method (docs/PROTOCOL.md) and resolves with its answer; rejects with a
   * ConfabError. Mutations carry an op_id, so a resend after a lost link never acts twice.
   * Confab's own: the reference has no such call.
   */
  async request(method, params = {}) {
    await this._ready;
    return this._send(method, params, false);
  }

  // ---- the reference's API ----

  /** Creates a conversation; the user is not a participant until it calls `join()`. */
  async createConversation(options = {}) {
    const { friendlyName, uniqueName, attributes } = options ?? {};
    const d = await this.request(Method.conversationCreate, { friendlyName, uniqueName, attributes });
    const conversation = this._conversations.get(d.sid) ?? new Conversation(this, d.sid);
    conversation._apply(d);
    this._conversations.set(d.sid, conversation);
    return conversation;
  }

  /** A conversation the user is in, read whole (as the listing gives it) in one request. */
  async _conversation(key) {
    const s = await this.request(Method.conversationSummary, { conversation: key });
    this._listed(s);
    return this._conversations.get(s.conversation.sid);
  }

  /** A conversation the user is in, by SID. */
  async getConversationBySid(conversationSid) {
    return this._conversations.get(conversationSid) ?? this._conversation(conversationSid);
  }

  /** A conversation by SID without joining it. Confab shows a conversation only to its
   * participants, so for any other this rejects with 20403. */
  async peekConversationBySid(conversationSid) {
    return this.getConversationBySid(conversationSid);
  }

  /** A conversation the user is in, by unique name. */
  async getConversationByUniqueName(uniqueName) {
    for (const c of this._conversations.values()) if (c.uniqueName === uniqueName) return c;
    return this._conversation(uniqueName);
  }

  /** Joins a conversation the user is not in, by SID or unique name, and resolves with it
   * (Confab's own: a user cannot read a conversation before it is a participant, so the
   * reference's `getConversationByUniqueName(name)` then `join()` does not reach it). */
  async joinConversation(conversation) {
    await this.request(Method.conversationJoin, { conversation });
    return this._conversation(conversation);
  }

  /** The user's conversations, most recently active first, `pageSize` (1 to 50, 50 by
   * default) at a time. */
  async getSubscribedConversations(pageSize = 50) {
    return this._conversationPage({ pageSize, order: "recent" });
  }

  async _conversationPage(params) {
    const page = await this.request(Method.conversationsList, params);
    const items = page.items.map((s) => {
      this._listed(s);
      return this._conversations.get(s.conversation.sid);
    });
    const next = page.next_page_token ? () => this._conversationPage({ ...params, pageToken: page.next_page_token }) : null;
    return new Paginator(items, next, null);
  }

  /** A user: the client's own, or one who shares a conversation with it (else 20404). The
   * client then keeps it up to date (`updated`) until it is unsubscribed. */
  async getUser(identity) {
    if (identity === this._identity) return this._self;
    const known = this._users.get(identity);
    if (known) return known;
    const d = await this.request(Method.userGet, { identity });
    const user = this._users.get(d.identity) ?? new User(this, d.identity);
    user._update(d);
    if (!user.isSubscribed) {
      user.isSubscribed = true;
      this._users.set(d.identity, user);
      user.emit("userSubscribed", user);
      this.emit("userSubscribed", user);
      if (this._users.size > USERS_KEPT) this._unsubscribeUser(this._users.values().next().value);
    }
    return user;
  }

  /** The users the client keeps up to date. */
  async getSubscribedUsers() {
    return [this._self, ...this._users.values()];
  }

  /** @internal */
  _typing(conversation) {
    if (this._core) this._input(() => this._core.typing(conversation, now()));
  }

  /**
   * Takes a new token (same identity): renewed in place on a live connection (no reconnect,
   * no lost event); on a disconnected, denied or failed client it starts a new connection.
   * Resolves to the client.
   */
  async updateToken(token) {
    await this._ready;
    return new Promise((resolve, reject) => {
      let id;
      try {
        id = this._core.update_token(token, now());
      } catch (e) {
        let err = { code: INVALID, message: String(e) };
        try {
          err = JSON.parse(e);
        } catch {
          // Not the core's JSON: keep the text.
        }
        reject(new ConfabError(err.code, err.message));
        return;
      }
      this._token = token;
      this._log("debug", "token update");
      if (id === undefined) {
        resolve(this);
      } else {
        this._pending.set(id, { resolve: () => resolve(this), reject });
      }
      this._pump();
    });
  }

  // ---- media ----

  /** The media service as the server's `welcome` told it (`service_url`, `set_url`, limits),
   * or null before the first `welcome`. */
  _mediaServiceNow() {
    const text = this._core?.media_service();
    return text ? JSON.parse(text) : null;
  }

  /** The media service, once the client has been connected. */
  async _mediaService() {
    await this._ready;
    let service = this._mediaServiceNow();
    if (!service && this.connectionState === "connecting") {
      // Until the link is up (or given up on): the media service is the server's to name.
      await new Promise((ok) => {
        const f = (state) => {
          if (state === "connecting") return;
          this.off("connectionStateChanged", f);
          ok();
        };
        this.on("connectionStateChanged", f);
      });
      service = this._mediaServiceNow();
    }
    if (!service && this.connectionState !== "connected") {
      throw new ConfabError(20503, `the client is ${this.connectionState}: media needs the server`);
    }
    if (!service) throw new ConfabError(UNSUPPORTED, "this server has no media service");
    return service;
  }

  /** Temporary content URLs of media by SID: a Map of SID to URL. @internal */
  _temporaryUrls(sids) {
    return temporaryUrls(this, sids);
  }

  /** Temporary content URLs (a few minutes each) of the media `mediaSids` name, at once. */
  getTemporaryContentUrlsForMediaSids(mediaSids) {
    return this._temporaryUrls([...mediaSids]);
  }

  /** Temporary content URLs (a few minutes each) of `contentSet`, at once. */
  getTemporaryContentUrlsForMedia(contentSet) {
    return this._temporaryUrls(contentSet.map((m) => m.sid));
  }

  /** A Media object of a message's media list item. @internal */
  _media(d) {
    return new Media(this, d);
  }

  /** Asks `options.tokenProvider` (Confab's own) for a new token and takes it; a failed try
   * is logged, and the next warning or the expiry tries again. */
  _renew() {
    const provider = this._tokenProvider;
    if (!provider || this._renewing || this._shutdown) return;
    this._renewing = true;
    Promise.resolve()
      .then(() => provider())
      .then((token) => this.updateToken(token))
      .catch((e) => this._log("warn", "the token provider did not give a usable token", e))
      .finally(() => {
        this._renewing = false;
      });
  }

  /** Tries again now with a fresh reconnection window (Confab's own). */
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
      if (inBrowser) {
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

