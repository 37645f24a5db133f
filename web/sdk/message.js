import { EventEmitter } from "./emitter.js";
import { Method } from "./methods.js";
import { changes, takeAttributes, toDate } from "./util.js";

/** A message of a conversation. One object per message for as long as the app holds it,
 * updated in place; it emits `updated` (`{message, updateReasons}`). */
export class Message extends EventEmitter {
  static updated = "updated";

  /** @internal */
  constructor(conversation, data) {
    super();
    /** The conversation it belongs to. */
    this.conversation = conversation;
    /** Its SID (`IM…`). */
    this.sid = data.sid;
    /** Always `text` (media messages come with media support). */
    this.type = "text";
    /** Email subjects: Confab has no email, so always null. */
    this.subject = null;
    /** Who changed it last: Confab does not keep this, so null. */
    this.lastUpdatedBy = null;
    this.index = data.index;
    this.author = null;
    this.body = null;
    this.attributes = {};
    this.participantSid = null;
    this.dateCreated = null;
    this.dateUpdated = null;
    this._attributesText = "{}";
    this._update(data);
  }

  /** Applies a Message (snake_case); returns the reference's reasons. @internal */
  _update(d) {
    const next = {
      author: d.author ?? null,
      body: d.body ?? null,
      participantSid: d.participant_sid ?? null,
      dateCreated: toDate(d.date_created),
      dateUpdated: toDate(d.date_updated),
    };
    const reasons = changes(this, next).filter((r) => r !== "participantSid");
    Object.assign(this, next);
    if (typeof d.index === "number") this.index = d.index;
    if (takeAttributes(this, d.attributes)) reasons.push("attributes");
    return reasons;
  }

  /** The author's participant (null when the author is not one, e.g. the app backend). */
  async getParticipant() {
    if (this.participantSid) return this.conversation.getParticipantBySid(this.participantSid);
    return this.conversation.getParticipantByIdentity(this.author);
  }

  /** Removes the message; resolves with it (its body is gone). */
  async remove() {
    this._update(await this.conversation._call(Method.messageRemove, { message: this.sid }));
    return this;
  }

  /** Changes the body (one's own message, or with the permission). */
  async updateBody(body) {
    return this.conversation._message(await this.conversation._call(Method.messageUpdate, { message: this.sid, body }));
  }

  /** Replaces the attributes. */
  async updateAttributes(attributes) {
    return this.conversation._message(await this.conversation._call(Method.messageUpdate, { message: this.sid, attributes }));
  }

  /** Channel metadata (SMS, WhatsApp): a Confab message comes from chat only, so null. */
  async getChannelMetadata() {
    return null;
  }

  /** Email recipients: Confab has no email, so none. */
  async getMessageRecipients() {
    return [];
  }
}
