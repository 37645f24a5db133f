// Media: the files a message carries, uploads to the server's media service, and the
// temporary URLs their content is read from. The media service's paths and limits come from
// the server's `welcome` (docs/PROTOCOL.md, "Media").

import { CancellablePromise } from "./builder.js";
import { ConfabError, INVALID } from "./errors.js";
import { inBrowser } from "./platform.js";

/** Statuses that say "not now": an upload is tried again after them. So is a lost
 * connection (an upload that did arrive is then left unattached, and swept within the hour). */
const RETRIED = new Set([429, 502, 503, 504]);
/** Tries of one upload in all, and the backoff between them (doubling, with jitter). */
const UPLOAD_TRIES = 5;
const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 5000;
/** The most media one temporary-URL request asks about (the server's limit). */
const SET_MAX = 100;

/** A file attached to a message. Immutable; its content is read through a temporary URL. */
export class Media {
  /** @internal */
  constructor(client, d) {
    this._client = client;
    /** Its SID (`ME…`). */
    this.sid = d.sid;
    /** Its file name, or null. */
    this.filename = d.filename ?? null;
    /** Its MIME type, as the uploader said. */
    this.contentType = d.content_type;
    /** Its size in bytes. */
    this.size = d.size;
    /** `media` (an attachment), `body` or `history`. */
    this.category = d.category ?? "media";
  }

  /** A URL the content can be read from for a few minutes (a new one each call; never
   * cache it for long). */
  getContentTemporaryUrl() {
    const asked = this._client._temporaryUrls([this.sid]);
    return new CancellablePromise((resolve, reject, onCancel) => {
      onCancel(() => asked.cancel());
      asked.then((urls) => resolve(urls.get(this.sid) ?? null), reject);
    });
  }
}

/** What an upload sends: a Blob, a file out of FormData, or `{contentType, filename, media}`. */
function describe(payload) {
  if (typeof FormData !== "undefined" && payload instanceof FormData) {
    for (const [, value] of payload) {
      if (typeof Blob !== "undefined" && value instanceof Blob) {
        return { body: value, contentType: value.type || "application/octet-stream", filename: value.name ?? null, size: value.size };
      }
    }
    throw new ConfabError(INVALID, "the FormData holds no file");
  }
  if (payload === null || typeof payload !== "object" || payload.media === null || payload.media === undefined) {
    throw new ConfabError(INVALID, "media is FormData with a file, or {contentType, filename, media}");
  }
  const media = payload.media;
  const contentType = payload.contentType ?? (media instanceof Blob ? media.type : null) ?? "application/octet-stream";
  const size = typeof media === "string" ? new TextEncoder().encode(media).length : (media.size ?? media.byteLength ?? 0);
  const filename = payload.filename ?? (media instanceof Blob ? media.name : undefined) ?? null;
  return { body: media, contentType: contentType || "application/octet-stream", filename, size, onProgress: payload.onProgress };
}

/** Checks `payloads` (each `[category, FormData | SendMediaOptions]`) against the limits and
 * returns what to upload. */
export function prepareUploads(payloads, service) {
  const uploads = payloads.map(([category, payload]) => ({ category, ...describe(payload) }));
  // Every file counts, an email's body and history too, as the server counts them.
  if (uploads.length > service.attachments_count_limit) {
    throw new ConfabError(INVALID, `a message carries at most ${service.attachments_count_limit} media files`);
  }
  let total = 0;
  for (const u of uploads) {
    if (u.size > service.attachment_size_limit) {
      throw new ConfabError(20413, `${u.filename ?? "the file"} is ${u.size} bytes: the limit is ${service.attachment_size_limit}`);
    }
    total += u.size;
  }
  if (total > service.attachments_total_size_limit) {
    throw new ConfabError(20413, `the files are ${total} bytes together: the limit is ${service.attachments_total_size_limit}`);
  }
  return uploads;
}

/** The server's error in `text` (JSON `{code, message}`), or one made of `status`. */
function errorOf(status, text) {
  try {
    const e = JSON.parse(text);
    if (typeof e.code === "number") return new ConfabError(e.code, e.message ?? `HTTP ${status}`);
  } catch {
    // Not JSON: say the status.
  }
  return new ConfabError(status === 413 ? 20413 : 20000 + status, `the media service answered ${status}`);
}

/** One POST of an upload: `{status, text}`, status 0 for a lost connection. In a page it goes
 * by XMLHttpRequest, whose upload reports progress; elsewhere by fetch (progress is reported
 * once, at the end). */
function post(url, headers, body, onProgress, signal) {
  if (inBrowser && typeof XMLHttpRequest !== "undefined") {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(new Error("cancelled"));
        return;
      }
      const xhr = new XMLHttpRequest();
      const abort = () => {
        xhr.abort();
        reject(new Error("cancelled"));
      };
      signal.addEventListener("abort", abort, { once: true });
      const done = (answer) => {
        signal.removeEventListener("abort", abort);
        resolve(answer);
      };
      xhr.open("POST", url);
      for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
      if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : null);
      xhr.onload = () => done({ status: xhr.status, text: xhr.responseText });
      xhr.onerror = () => done({ status: 0, text: "" });
      xhr.send(body);
    });
  }
  return fetch(url, { method: "POST", headers, body, signal }).then(
    async (res) => ({ status: res.status, text: await res.text() }),
    (e) => {
      if (signal.aborted) throw e;
      return { status: 0, text: "" };
    },
  );
}

/** Uploads one file to the media service; resolves with its record. Tried again, with
 * backoff, on 429/502/503/504 and on a lost connection. */
export async function upload(client, service, u, signal) {
  const query = new URLSearchParams({ Category: u.category });
  if (u.filename) query.set("Filename", u.filename);
  const url = `${client._httpBase}${service.service_url}?${query}`;
  let delay = BACKOFF_MIN_MS;
  for (let attempt = 1; ; attempt++) {
    const headers = { "X-Twilio-Token": client._token, "Content-Type": u.contentType };
    const { status, text } = await post(url, headers, u.body, u.onProgress, signal);
    if (status === 201 || status === 200) {
      const record = JSON.parse(text);
      u.onProgress?.(u.size, u.size);
      return record;
    }
    if ((status !== 0 && !RETRIED.has(status)) || attempt >= UPLOAD_TRIES) {
      throw status === 0 ? new ConfabError(20503, "the media service could not be reached") : errorOf(status, text);
    }
    client._log("info", `upload answered ${status}; trying again in ${delay} ms`);
    await new Promise((ok) => setTimeout(ok, delay * (0.5 + Math.random() / 2)));
    if (signal.aborted) throw new Error("cancelled");
    delay = Math.min(delay * 2, BACKOFF_MAX_MS);
  }
}

/** Temporary URLs of `sids`, from the media service's set endpoint: a Map of SID to URL. */
export function temporaryUrls(client, sids) {
  return new CancellablePromise((resolve, reject, onCancel) => {
    const abort = new AbortController();
    onCancel(() => abort.abort());
    (async () => {
      const service = await client._mediaService();
      const urls = new Map();
      for (let i = 0; i < sids.length; i += SET_MAX) {
        const list = sids.slice(i, i + SET_MAX).map((media_sid) => ({ media_sid }));
        const res = await fetch(`${client._httpBase}${service.set_url}`, {
          method: "POST",
          headers: { "X-Twilio-Token": client._token, "Content-Type": "application/json" },
          body: JSON.stringify({ command: "get", list }),
          signal: abort.signal,
        });
        const text = await res.text();
        if (!res.ok) throw errorOf(res.status, text);
        for (const item of JSON.parse(text)) {
          if (item.code !== 200) throw new ConfabError(20404, `media ${item.media_record?.sid} is not found`);
          urls.set(item.media_record.sid, item.media_record.links.content_direct_temporary);
        }
      }
      return urls;
    })().then(resolve, reject);
  });
}
