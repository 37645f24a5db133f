import { ConfabError, INVALID } from "./errors.js";

/** A promise with `cancel()`: cancelling rejects it. A message already handed to the
 * server may still be delivered; one still waiting for the link is not sent. */
export class CancellablePromise extends Promise {
  #cancel = null;

  constructor(executor) {
    let rejectIt;
    let onCancel = null;
    super((resolve, reject) => {
      rejectIt = reject;
      executor(resolve, reject, (f) => {
        onCancel = f;
      });
    });
    this.#cancel = () => {
      onCancel?.();
      rejectIt(new Error("cancelled"));
    };
  }

  /** Cancels: the promise rejects. */
  cancel() {
    this.#cancel?.();
    return this;
  }

  static get [Symbol.species]() {
    return Promise;
  }
}

/** `payload` (FormData holding a file, or SendMediaOptions) as SendMediaOptions of type
 * `contentType`. */
function withType(contentType, payload) {
  if (typeof FormData !== "undefined" && payload instanceof FormData) {
    const file = [...payload.values()].find((v) => typeof Blob !== "undefined" && v instanceof Blob);
    if (!file) throw new ConfabError(INVALID, "the FormData holds no file");
    return { contentType, filename: file.name, media: file };
  }
  return { ...payload, contentType };
}

/** A message being put together, to `send()`. */
export class UnsentMessage {
  /** @internal */
  constructor(conversation) {
    this._conversation = conversation;
    /** The body. */
    this.text = undefined;
    /** The attributes. */
    this.attributes = {};
    /** Email options: Confab has no email, so they stay empty. */
    this.emailOptions = {};
    /** Files to upload and attach, in order: `[category, FormData | SendMediaOptions]`. */
    this.mediaContent = [];
  }

  /** Sends it; resolves with its index. */
  send() {
    return new CancellablePromise((resolve, reject, onCancel) => {
      let cancelled = false;
      onCancel(() => {
        cancelled = true;
      });
      // Checked after a turn so that a cancel() right after send() stops the request.
      queueMicrotask(() => {
        if (cancelled) return;
        const abort = new AbortController();
        onCancel(() => abort.abort());
        this._conversation._send(this, abort.signal).then(resolve, reject);
      });
    });
  }
}

/** Builds a message: `conversation.prepareMessage().setBody(...).setAttributes(...).build()`. */
export class MessageBuilder {
  /** @internal */
  constructor(conversation) {
    this._message = new UnsentMessage(conversation);
  }

  /** Sets the body. */
  setBody(text) {
    this._message.text = text;
    return this;
  }

  /** Sets the attributes. */
  setAttributes(attributes) {
    this._message.attributes = attributes;
    return this;
  }

  /** Adds a file: FormData holding it, or `{contentType, filename, media}` (`media` a Blob,
   * a Buffer or a string). It is uploaded when the message is sent. */
  addMedia(payload) {
    this._message.mediaContent.push(["media", payload]);
    return this;
  }

  /** Sets the email body of `contentType` (kept as media of category `body`; one per type,
   * a second replaces the first). */
  setEmailBody(contentType, body) {
    this._email("body", contentType, body);
    return this;
  }

  /** Sets the email history of `contentType` (kept as media of category `history`; one per
   * type, a second replaces the first). */
  setEmailHistory(contentType, history) {
    this._email("history", contentType, history);
    return this;
  }

  _email(category, contentType, payload) {
    const list = this._message.mediaContent;
    const same = list.findIndex(([c, p]) => c === category && p.contentType === contentType);
    const entry = [category, withType(contentType, payload)];
    if (same >= 0) list[same] = entry;
    else list.push(entry);
  }

  /** Email subjects are not supported (Confab has no email): kept, and refused on send. */
  setSubject(subject) {
    this._message.emailOptions = { subject };
    return this;
  }

  /** The message, ready to `send()`. Throws (20001) for an email body or history of a type
   * other than the limits allow, or more files than a message may carry. */
  build() {
    const limits = this._message._conversation.limits;
    for (const [category, payload] of this._message.mediaContent) {
      const allowed = category === "body" ? limits.emailBodiesAllowedContentTypes : category === "history" ? limits.emailHistoriesAllowedContentTypes : null;
      if (allowed && !allowed.includes(payload.contentType)) {
        throw new ConfabError(INVALID, `an email ${category} is one of ${allowed.join(", ")}, not ${payload.contentType}`);
      }
    }
    if (this._message.mediaContent.length > limits.mediaAttachmentsCountLimit) {
      throw new ConfabError(INVALID, `a message carries at most ${limits.mediaAttachmentsCountLimit} files`);
    }
    return this._message;
  }

  /** `build().send()`. */
  buildAndSend() {
    return this.build().send();
  }
}
