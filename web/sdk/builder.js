
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

/** `payload` with `contentType` as its type (FormData keeps its file's own). */
function withType(contentType, payload) {
  if (typeof FormData !== "undefined" && payload instanceof FormData) return payload;
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

  /** Sets an email body of `contentType` (kept as media of category `body`). */
  setEmailBody(contentType, body) {
    this._message.mediaContent.push(["body", withType(contentType, body)]);
    return this;
  }

  /** Sets an email history of `contentType` (kept as media of category `history`). */
  setEmailHistory(contentType, history) {
    this._message.mediaContent.push(["history", withType(contentType, history)]);
    return this;
  }

  /** Email subjects are not supported (Confab has no email): kept, and refused on send. */
  setSubject(subject) {
    this._message.emailOptions = { subject };
    return this;
  }

  /** The message, ready to `send()`. */
  build() {
    return this._message;
  }

  /** `build().send()`. */
  buildAndSend() {
    return this.build().send();
  }
}
