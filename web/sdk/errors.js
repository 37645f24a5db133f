/** A refused call, with the server's (or the client's) numeric code (docs/PROTOCOL.md). */
export class ConfabError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "ConfabError";
    /** The numeric code, e.g. 20404. */
    this.code = code;
  }
}

/** The code of a parameter the SDK refuses before asking the server. */
export const INVALID = 20001;
/** The code of a call Confab refuses: not allowed (another user's profile, ...). */
export const FORBIDDEN = 20403;
/** The code of a feature Confab does not offer (non-chat participants, email): the same
 * code as a realtime method the server does not offer. */
export const UNSUPPORTED = 20011;

/** A rejected promise of a ConfabError. */
export function refuse(code, message) {
  return Promise.reject(new ConfabError(code, message));
}
