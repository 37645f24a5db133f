import { EventEmitter } from "./emitter.js";
import { FORBIDDEN, refuse } from "./errors.js";
import { Method } from "./methods.js";
import { takeAttributes } from "./util.js";

/** A user: the client's own (`client.user`), or one met through a conversation
 * (`client.getUser`). One object per identity, updated in place; it emits `updated`
 * (`{user, updateReasons}`), `userSubscribed` and `userUnsubscribed`. */
export class User extends EventEmitter {
  static updated = "updated";
  static userSubscribed = "userSubscribed";
  static userUnsubscribed = "userUnsubscribed";

  /** @internal */
  constructor(client, identity) {
    super();
    this._client = client;
    /** The user's identity. */
    this.identity = identity;
    /** The friendly name, or null. */
    this.friendlyName = null;
    /** The attributes (any JSON value). */
    this.attributes = {};
    /** Whether the user has a live session: reachability is always on in Confab. */
    this.isOnline = null;
    /** Whether the client keeps this user up to date (until `unsubscribe`). */
    this.isSubscribed = false;
    this._attributesText = "{}";
    this.updated = "updated";
    this.userSubscribed = "userSubscribed";
    this.userUnsubscribed = "userUnsubscribed";
  }

  /** Applies a User (REST shape, snake_case) or a `userUpdated` payload; returns what
   * changed, in the reference's reason names. @internal */
  _update(d) {
    const reasons = [];
    if ("friendly_name" in d && (d.friendly_name ?? null) !== this.friendlyName) {
      this.friendlyName = d.friendly_name ?? null;
      reasons.push("friendlyName");
    }
    if (takeAttributes(this, d.attributes)) reasons.push("attributes");
    if ("is_online" in d && d.is_online !== this.isOnline) {
      this.isOnline = d.is_online;
      reasons.push("reachabilityOnline");
    }
    return reasons;
  }

  #own() {
    return this.identity === this._client.user?.identity;
  }

  async #change(params) {
    // Confab lets a user change only its own profile: another's is refused here, before
    // anything is sent, so no call can quietly change the caller's instead.
    if (!this.#own()) {
      return refuse(FORBIDDEN, `only the client's own user can be changed, not ${this.identity}`);
    }
    const d = await this._client.request(Method.userUpdate, params);
    this._client._userChanged(this, this._update(d));
    return this;
  }

  /** Changes the user's attributes (the client's own user only; another's: 20403). */
  updateAttributes(attributes) {
    return this.#change({ attributes });
  }

  /** Changes the user's friendly name (the client's own user only; another's: 20403). */
  updateFriendlyName(friendlyName) {
    return this.#change({ friendlyName });
  }

  /** Stops keeping this user up to date (the client's own user stays subscribed). */
  async unsubscribe() {
    if (!this.isSubscribed || this.#own()) return;
    this._client._unsubscribeUser(this);
  }
}
