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
    /** `media` when it carries files, else `text`. */
    this.type = "text";
    /** Every file it carries (attachments, an email's body and history), in order. */
    this._media = [];
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
    // Media never changes: taken once (a removed message's event no longer lists it).
    if (this._media.length === 0 && Array.isArray(d.media) && d.media.length > 0) {
      const client = this.conversation._client;
      this._media = d.media.map((m) => client._media(m));
      this.type = "media";
    }
    if (takeAttributes(this, d.attributes)) reasons.push("attributes");
    return reasons;
  }

  /** Its attachments (files of category `media`; not an email's body or history), in
   * order; empty for a text message. */
  get attachedMedia() {
    return this.getMediaByCategories(["media"]);
  }

  /** The first attachment, or null (the reference's older single-media field). */
  get media() {
    return this.attachedMedia[0] ?? null;
  }

  /** The files of the given categories (`media`, `body`, `history`), in order (maybe none). */
  getMediaByCategories(categories) {
    return this._media.filter((m) => categories.includes(m.category));
  }

  /** The same as getMediaByCategories (the reference's older name). */
  getMediaByCategory(categories) {
    return this.getMediaByCategories(categories);
  }

  /** The email body of type `type` (`text/plain` by default) if the message carries one. */
  getEmailBody(type = "text/plain") {
    return this.getMediaByCategories(["body"]).find((m) => m.contentType.split(";")[0] === type) ?? null;
  }

  /** The email history of type `type` (`text/plain` by default) if the message carries one. */
  getEmailHistory(type = "text/plain") {
    return this.getMediaByCategories(["history"]).find((m) => m.contentType.split(";")[0] === type) ?? null;
  }

  /** Asks for temporary URLs of `contentSet` (the media of this message) and resolves with
   * the same media (their URLs come from `getContentTemporaryUrl`). */
  async attachTemporaryUrlsFor(contentSet) {
    if (!contentSet || contentSet.length === 0) return [];
    await this.getTemporaryContentUrlsForMedia(contentSet);
    return contentSet;
  }

  /** Temporary content URLs of `contentSet`, by SID. */
  getTemporaryContentUrlsForMedia(contentSet) {
    return this.conversation._client._temporaryUrls(contentSet.map((m) => m.sid));
  }

  /** Temporary content URLs of the media `mediaSids` names, by SID. */
  getTemporaryContentUrlsForMediaSids(mediaSids) {
    return this.conversation._client._temporaryUrls([...mediaSids]);
  }

  /** Temporary content URLs of every file the message carries, by SID. */
  getTemporaryContentUrlsForAttachedMedia() {
    return this.getTemporaryContentUrlsForMedia(this.attachedMedia);
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
