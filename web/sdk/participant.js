import { EventEmitter } from "./emitter.js";
import { INVALID, refuse } from "./errors.js";
import { changes, takeAttributes, toDate } from "./util.js";

/** A participant of a conversation. One object per participant, updated in place; it
 * emits `updated` (`{participant, updateReasons}`), `typingStarted` and `typingEnded`. */
export class Participant extends EventEmitter {
  static typingStarted = "typingStarted";
  static typingEnded = "typingEnded";
  static updated = "updated";

  /** @internal */
  constructor(conversation, data) {
    super();
    /** The conversation it belongs to. */
    this.conversation = conversation;
    /** Its SID (`MB…`). */
    this.sid = data.sid;
    /** Whether it is typing now (between `typingStarted` and `typingEnded`). */
    this.isTyping = false;
    this.identity = null;
    this.attributes = {};
    this.dateCreated = null;
    this.dateUpdated = null;
    this.lastReadMessageIndex = null;
    this.lastReadTimestamp = null;
    this.roleSid = null;
    this.type = "chat";
    this.bindings = {};
    this._attributesText = "{}";
    this._update(data);
  }

  /** Applies a Participant (snake_case); returns the reference's reasons for what
   * changed. @internal */
  _update(d) {
    const next = {};
    if ("identity" in d) next.identity = d.identity ?? null;
    if ("date_created" in d) next.dateCreated = toDate(d.date_created);
    if ("date_updated" in d) next.dateUpdated = toDate(d.date_updated);
    if ("role_sid" in d) next.roleSid = d.role_sid ?? null;
    if ("last_read_message_index" in d) next.lastReadMessageIndex = d.last_read_message_index ?? null;
    if ("last_read_timestamp" in d) next.lastReadTimestamp = toDate(d.last_read_timestamp);
    if ("messaging_binding" in d) next.type = d.messaging_binding?.type ?? "chat";
    const reasons = changes(this, next).filter((r) => r !== "identity" && r !== "type");
    Object.assign(this, next);
    if (takeAttributes(this, d.attributes)) reasons.push("attributes");
    if ("notification_level" in d) this._notificationLevel = d.notification_level;
    return reasons;
  }

  /** The reasons for every field that has a value (for an update of a participant the
   * client had not met: what it was before is unknown). @internal */
  _present() {
    const reasons = ["dateUpdated"];
    if (this._attributesText !== "{}") reasons.push("attributes");
    if (this.roleSid !== null) reasons.push("roleSid");
    if (this.lastReadMessageIndex !== null) reasons.push("lastReadMessageIndex");
    if (this.lastReadTimestamp !== null) reasons.push("lastReadTimestamp");
    return reasons;
  }

  /** The participant's user (chat participants only). */
  getUser() {
    if (this.identity === null) return refuse(INVALID, "a non-chat participant has no user");
    return this.conversation._client.getUser(this.identity);
  }

  /** Removes the participant from the conversation. */
  async remove() {
    await this.conversation.removeParticipant(this);
  }

  /** Replaces the participant's attributes. */
  async updateAttributes(attributes) {
    return this.conversation._updateParticipant(this.sid, attributes);
  }
}
