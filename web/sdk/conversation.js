import { EventEmitter } from "./emitter.js";
import { ConfabError, INVALID, UNSUPPORTED, refuse } from "./errors.js";
import { Message } from "./message.js";
import { MessageBuilder } from "./builder.js";
import { Method } from "./methods.js";
import { Paginator } from "./paginator.js";
import { Participant } from "./participant.js";
import { prepareUploads, upload } from "./media.js";
import { changes, takeAttributes, toDate } from "./util.js";

/** Messages whose objects the app no longer holds leave the conversation's map: the map
 * keeps one object per message without keeping every message ever seen. */
const forgotten = new FinalizationRegistry(({ map, sid, ref }) => {
  if (map.get(sid) === ref) map.delete(sid);
});

/** Limits when the server has not told its own yet (the media service's defaults). */
const DEFAULT_MEDIA = { attachments_count_limit: 10, attachment_size_limit: 100 * 1024 * 1024, attachments_total_size_limit: 100 * 1024 * 1024 };
const MB = 1024 * 1024;

/** A conversation. The client keeps one object per conversation and updates it in place;
 * it emits its own events (`updated` with `{conversation, updateReasons}`, `removed`,
 * `messageAdded`, `participantJoined`, `typingStarted`, ...), which the client emits too. */
export class Conversation extends EventEmitter {
  static participantJoined = "participantJoined";
  static participantLeft = "participantLeft";
  static participantUpdated = "participantUpdated";
  static messageAdded = "messageAdded";
  static messageRemoved = "messageRemoved";
  static messageUpdated = "messageUpdated";
  static typingEnded = "typingEnded";
  static typingStarted = "typingStarted";
  static updated = "updated";
  static removed = "removed";

  /** @internal */
  constructor(client, sid) {
    super();
    this._client = client;
    /** Its SID (`CH…`). */
    this.sid = sid;
    /** `joined` while the client's user is a participant, else `notParticipating`. */
    this.status = "notParticipating";
    this.uniqueName = null;
    this.friendlyName = null;
    this.attributes = {};
    this.createdBy = null;
    this.dateCreated = null;
    this.dateUpdated = null;
    /** The user's read horizon: the index of the last message read, or null. */
    this.lastReadMessageIndex = null;
    /** The newest message: `{index, dateCreated}`, or undefined without messages. */
    this.lastMessage = undefined;
    /** The user's notification level here: `default` or `muted`. */
    this.notificationLevel = "default";
    /** Its messaging bindings (set by the app backend), or `{}`. */
    this.bindings = {};
    /** `{current, dateUpdated}`: `active`, `inactive` or `closed`. */
    this.state = undefined;
    /** Participants the client knows, by SID. */
    this._participants = new Map();
    this._messages = new Map();
    this._attributesText = "{}";
  }

  // ---- applying what the server says ----

  /** Applies a Conversation (snake_case); returns the reasons. @internal */
  _apply(d) {
    const next = {
      uniqueName: d.unique_name ?? null,
      friendlyName: d.friendly_name ?? null,
      createdBy: d.created_by ?? null,
      dateCreated: toDate(d.date_created),
      dateUpdated: toDate(d.date_updated),
    };
    const reasons = changes(this, next);
    Object.assign(this, next);
    if (takeAttributes(this, d.attributes)) reasons.push("attributes");
    if (d.state !== undefined) {
      const current = d.state === "initializing" ? "active" : d.state;
      if (this.state?.current !== current) {
        if (this.state !== undefined) reasons.push("state");
        this.state = { current, dateUpdated: this.dateUpdated };
      }
    }
    if (d.bindings !== undefined) {
      const bindings = d.bindings ?? {};
      if (JSON.stringify(bindings) !== JSON.stringify(this.bindings)) {
        this.bindings = bindings;
        reasons.push("bindings");
      }
    }
    return reasons;
  }

  /** Applies a `conversations.list` item (the conversation as one of the user's); returns
   * the reasons. @internal */
  _applySummary(s) {
    const reasons = this._apply(s.conversation);
    reasons.push(...this._setStatus("joined"));
    if (s.participant) {
      this._participant(s.participant);
      reasons.push(...this._setRead(s.participant.last_read_message_index ?? null));
    }
    if (s.notification_level && s.notification_level !== this.notificationLevel) {
      this.notificationLevel = s.notification_level;
      reasons.push("notificationLevel");
    }
    if (s.last_message_index !== null && s.last_message_index !== undefined) {
      reasons.push(...this._setLast(s.last_message_index, toDate(s.last_activity)));
    }
    this._counts = { messages: s.messages_count, participants: s.participants_count, unread: s.unread_messages_count ?? null };
    return reasons;
  }

  /** @internal */
  _setStatus(status) {
    if (this.status === status) return [];
    this.status = status;
    return ["status"];
  }

  _setRead(index) {
    if (this.lastReadMessageIndex === index) return [];
    this.lastReadMessageIndex = index;
    return ["lastReadMessageIndex"];
  }

  _setLast(index, dateCreated) {
    if (this.lastMessage && this.lastMessage.index > index) return [];
    if (this.lastMessage?.index === index && (this.lastMessage.dateCreated?.getTime() ?? null) === (dateCreated?.getTime() ?? null)) return [];
    this.lastMessage = { index, dateCreated: dateCreated ?? undefined };
    return ["lastMessage"];
  }

  /** Emits `updated` here and `conversationUpdated` on the client, if anything changed. @internal */
  _updated(reasons) {
    if (reasons.length === 0) return;
    const payload = { conversation: this, updateReasons: [...new Set(reasons)] };
    this.emit("updated", payload);
    this._client.emit("conversationUpdated", payload);
  }

  /** Emits `event` here and on the client. */
  _both(event, payload) {
    this.emit(event, payload);
    this._client.emit(event, payload);
  }

  /** The one object of a participant, made or updated (silently). @internal */
  _participant(d) {
    let p = this._participants.get(d.sid);
    if (p) p._update(d);
    else {
      p = new Participant(this, d);
      this._participants.set(d.sid, p);
    }
    return p;
  }

  /** The one object of a message the app holds, made or updated (silently). @internal */
  _message(d) {
    return this._messageWithReasons(d).message;
  }

  _messageWithReasons(d) {
    const ref = this._messages.get(d.sid);
    const known = ref?.deref();
    if (known) return { message: known, reasons: known._update(d) };
    const message = new Message(this, d);
    const fresh = new WeakRef(message);
    this._messages.set(d.sid, fresh);
    forgotten.register(message, { map: this._messages, sid: d.sid, ref: fresh });
    return { message, reasons: [] };
  }

  /** A server event of this conversation's stream (or about it). @internal */
  _event(type, d) {
    switch (type) {
      case "conversationUpdated":
        this._updated(this._apply(d));
        break;
      case "messageAdded": {
        const { message } = this._messageWithReasons(d);
        this._both("messageAdded", message);
        this._updated(this._setLast(message.index, message.dateCreated));
        break;
      }
      case "messageUpdated": {
        const { message, reasons } = this._messageWithReasons(d);
        const payload = { message, updateReasons: reasons };
        if (reasons.length > 0) message.emit("updated", payload);
        this._both("messageUpdated", payload);
        break;
      }
      case "messageRemoved": {
        const { message } = this._messageWithReasons(d);
        this._messages.delete(d.sid);
        this._both("messageRemoved", message);
        break;
      }
      case "participantJoined":
        this._both("participantJoined", this._participant(d));
        break;
      case "participantUpdated": {
        const known = this._participants.get(d.sid);
        if (known) {
          this._participantUpdated(known, known._update(d));
          break;
        }
        // Met only now, so what it was before is unknown: every field it has is named.
        const participant = this._participant(d);
        this._participantUpdated(participant, participant._present());
        break;
        break;
      }
      case "participantLeft": {
        const participant = this._participant(d);
        this._participants.delete(d.sid);
        this._both("participantLeft", participant);
        break;
      }
      case "readHorizon": {
        const participant = this._typist(d);
        this._participantUpdated(participant, participant._update({ last_read_message_index: d.last_read_message_index }));
        break;
      }
      case "typingStarted":
      case "typingEnded": {
        const participant = this._typist(d);
        participant.isTyping = type === "typingStarted";
        participant.emit(type, participant);
        this._both(type, participant);
        break;
      }
      default:
        break;
    }
  }

  /** `updated` on a participant, `participantUpdated` here and on the client; the user's
   * own read horizon and notification level are the conversation's too. */
  _participantUpdated(participant, reasons) {
    if (participant.identity !== null && participant.identity === this._client._identity) {
      const mine = this._setRead(participant.lastReadMessageIndex);
      const level = participant._notificationLevel;
      if (level && level !== this.notificationLevel) {
        this.notificationLevel = level;
        mine.push("notificationLevel");
      }
      this._updated(mine);
    }
    if (reasons.length === 0) return;
    const payload = { participant, updateReasons: reasons };
    participant.emit("updated", payload);
    this._both("participantUpdated", payload);
  }

  /** The participant an ephemeral event names; made from the event (and filled in from the
   * server) when the client has not met it yet. */
  _typist(d) {
    const known = this._participants.get(d.participant_sid);
    if (known) return known;
    const p = this._participant({ sid: d.participant_sid, conversation_sid: this.sid, identity: d.identity ?? null });
    this._call(Method.participantGet, { participant: d.participant_sid }).then(
      (full) => p._update(full),
      (e) => {
        // A late event of a participant that has left: it is no one now.
        if (e instanceof ConfabError && e.code === 20404 && this._participants.get(p.sid) === p) {
          this._participants.delete(p.sid);
        }
      },
    );
    return p;
  }

  // ---- calls ----

  /** @internal */
  _call(method, params = {}) {
    return this._client.request(method, { conversation: this.sid, ...params });
  }

  async _change(params) {
    const d = await this._call(Method.conversationUpdate, params);
    this._updated(this._apply(d));
    return this;
  }

  /** Joins as the client's user; resolves once it is a participant. */
  async join() {
    await this._call(Method.conversationJoin);
    this._updated(this._setStatus("joined"));
    return this;
  }

  /** Leaves; resolves once the user no longer is a participant. */
  async leave() {
    await this._call(Method.conversationLeave);
    this._client._leave(this);
    return this;
  }

  /** Deletes the conversation (with the permission). */
  async delete() {
    await this._call(Method.conversationDelete);
    this._client._leave(this);
    return this;
  }

  /** The attributes. */
  async getAttributes() {
    return this.attributes;
  }

  /** Replaces the attributes. */
  updateAttributes(attributes) {
    return this._change({ attributes });
  }

  /** Changes the friendly name. */
  updateFriendlyName(friendlyName) {
    return this._change({ friendlyName });
  }

  /** Changes the unique name (null clears it). */
  updateUniqueName(uniqueName) {
    return this._change({ uniqueName: uniqueName ?? "" });
  }

  /** Sets the user's notification level here (`default` or `muted`). */
  async setUserNotificationLevel(notificationLevel) {
    const s = await this._call(Method.conversationSetNotificationLevel, { level: notificationLevel });
    this._updated(this._applySummary(s));
  }

  async _summary() {
    const s = await this._call(Method.conversationSummary);
    this._updated(this._applySummary(s));
    return this._counts;
  }

  /** How many messages it holds (removed ones are not counted). */
  async getMessagesCount() {
    return (await this._summary()).messages;
  }

  /** How many participants it has. */
  async getParticipantsCount() {
    return (await this._summary()).participants;
  }

  /** Messages after the user's read horizon; null until the user has one. */
  async getUnreadMessagesCount() {
    return (await this._summary()).unread;
  }

  /** Adds a chat participant by identity; resolves with it in the REST API's shape. */
  async add(identity, attributes) {
    const p = this._participant(await this._call(Method.participantAdd, { identity, attributes }));
    return this._client._restParticipant(this, p);
  }

  /** SMS, WhatsApp and email participants are added by the app backend over REST
   * (`POST /v1/Conversations/{sid}/Participants` with `MessagingBinding.*`): refused here
   * with 20011. */
  addNonChatParticipant() {
    return refuse(UNSUPPORTED, "non-chat participants are added by the app backend over the REST API (MessagingBinding.*), not by the client SDK");
  }

  /** Every participant. */
  async getParticipants() {
    const all = [];
    let params = { pageSize: 100 };
    for (;;) {
      const page = await this._call(Method.participantList, params);
      for (const d of page.items) all.push(this._participant(d));
      if (!page.next_page_token) break;
      params = { pageSize: 100, pageToken: page.next_page_token };
    }
    return all;
  }

  async _lookup(participant) {
    try {
      return this._participant(await this._call(Method.participantGet, { participant }));
    } catch (e) {
      if (e instanceof ConfabError && e.code === 20404) return null;
      throw e;
    }
  }

  /** A participant by SID; null if there is none. */
  async getParticipantBySid(participantSid) {
    return this._participants.get(participantSid) ?? this._lookup(participantSid);
  }

  /** A participant by identity (the user's own without one); null if there is none. */
  async getParticipantByIdentity(identity) {
    const who = identity ?? this._client._identity;
    for (const p of this._participants.values()) if (p.identity === who) return p;
    return this._lookup(who);
  }

  /** Removes a participant (an object or its SID or identity). */
  async removeParticipant(participant) {
    const which = typeof participant === "string" ? participant : participant?.sid;
    if (typeof which !== "string") throw new ConfabError(INVALID, "removeParticipant takes a Participant, a SID or an identity");
    await this._call(Method.participantRemove, { participant: which });
  }

  /** @internal */
  async _updateParticipant(participant, attributes) {
    return this._participant(await this._call(Method.participantUpdate, { participant, attributes }));
  }

  /** What one message may carry: the media limits (from the server once connected). */
  get limits() {
    const m = this._client._mediaServiceNow() ?? DEFAULT_MEDIA;
    return {
      mediaAttachmentsCountLimit: m.attachments_count_limit,
      mediaAttachmentSizeLimitInMb: Math.floor(m.attachment_size_limit / MB),
      mediaAttachmentsTotalSizeLimitInMb: Math.floor(m.attachments_total_size_limit / MB),
      emailHistoriesAllowedContentTypes: ["text/plain", "text/html"],
      emailBodiesAllowedContentTypes: ["text/plain", "text/html"],
    };
  }

  /** Sends a message: text, or a file (FormData holding it, or `{contentType, filename,
   * media}`), which is uploaded first; resolves with its index once it is stored. */
  async sendMessage(message, messageAttributes, emailOptions) {
    const unsent = { text: undefined, attributes: messageAttributes, emailOptions, mediaContent: [] };
    if (typeof message === "string") unsent.text = message;
    else if (message !== null && message !== undefined) unsent.mediaContent.push(["media", message]);
    return this._send(unsent, new AbortController().signal);
  }

  /** Sends an UnsentMessage's text, attributes and files (uploaded first, in order, each
   * retried as the media service asks). @internal */
  async _send(unsent, signal) {
    if (unsent.emailOptions?.subject !== undefined) return refuse(UNSUPPORTED, "email subjects are not supported: Confab has no email");
    const media = [];
    if (unsent.mediaContent.length > 0) {
      const service = await this._client._mediaService();
      const uploads = prepareUploads(unsent.mediaContent, service);
      for (const u of uploads) media.push((await upload(this._client, service, u, signal)).sid);
    } else if (typeof unsent.text !== "string") {
      return refuse(INVALID, "a message needs a body or media");
    }
    if (signal.aborted) throw new Error("cancelled");
    const params = { body: unsent.text, attributes: unsent.attributes };
    if (media.length > 0) params.media = media;
    const d = await this._call(Method.messageSend, params);
    this._message(d);
    return d.index;
  }

  /** A builder for a message: `prepareMessage().setBody(...).setAttributes(...).build().send()`. */
  prepareMessage() {
    return new MessageBuilder(this);
  }

  /** A page of messages, oldest first within the page: the newest `pageSize` by default;
   * from `anchor` (an index, included) `backwards` or `forward`. `prevPage` gives older
   * messages, `nextPage` newer. */
  async getMessages(pageSize = 30, anchor, direction = "backwards") {
    if (direction !== "backwards" && direction !== "forward" && direction !== "forwards") {
      throw new ConfabError(INVALID, `direction ${JSON.stringify(direction)}: backwards or forward`);
    }
    const forward = direction !== "backwards";
    const params = { pageSize };
    if (anchor !== undefined && anchor !== null && anchor !== "end") {
      params.anchor = anchor;
      params.direction = forward ? "forwards" : "backwards";
    } else {
      params.order = forward ? "asc" : "desc";
    }
    return this._messagePage(params, forward);
  }

  async _messagePage(params, forward) {
    const page = await this._call(Method.messageList, params);
    const items = page.items.map((m) => this._message(m));
    if (!forward) items.reverse();
    const walk = (token) => {
      if (!token) return null;
      const p = { pageSize: params.pageSize, pageToken: token };
      if (params.order) p.order = params.order;
      else p.direction = params.direction;
      return () => this._messagePage(p, forward);
    };
    // The server walks in the page's own direction: its next page is newer going forward,
    // older going backwards.
    const newer = walk(forward ? page.next_page_token : page.previous_page_token);
    const older = walk(forward ? page.previous_page_token : page.next_page_token);
    return new Paginator(items, newer, older);
  }

  /** Tells the other participants the user is typing (call it on keystrokes; dropped
   * while offline). */
  async typing() {
    this._client._typing(this.sid);
  }

  async _read(method, index) {
    const r = await this._call(method, index === undefined ? {} : { index });
    this._updated(this._setRead(r.last_read_message_index ?? null));
    // Without a horizon every message counts as unread, as the reference counts them.
    return r.unread_messages_count ?? (this.lastMessage ? this.lastMessage.index + 1 : 0);
  }

  /** Sets the read horizon to `index` (null: nothing read); resolves with the unread count. */
  updateLastReadMessageIndex(index) {
    if (index === null) return this.setAllMessagesUnread();
    return this._read(Method.conversationSetLastRead, index);
  }

  /** Moves the read horizon forward to `index`, never back; resolves with the unread count. */
  advanceLastReadMessageIndex(index) {
    return this._read(Method.conversationAdvanceLastRead, index);
  }

  /** Marks every message read; resolves with the unread count (0). */
  setAllMessagesRead() {
    return this._read(Method.conversationSetAllRead);
  }

  /** Clears the read horizon; resolves with the unread count. */
  setAllMessagesUnread() {
    return this._read(Method.conversationSetAllUnread);
  }

  /** Email recipients: Confab has no email, so an empty page. */
  async getMessageRecipients() {
    return new Paginator([], null, null);
  }
}
