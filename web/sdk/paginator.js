import { ConfabError, INVALID } from "./errors.js";

/** One page of a listing, in the listing's order, with the ways to the pages beside it. */
export class Paginator {
  /** @internal */
  constructor(items, next, prev) {
    /** The items of this page. */
    this.items = items;
    /** Whether `nextPage` has a page to give. */
    this.hasNextPage = Boolean(next);
    /** Whether `prevPage` has a page to give. */
    this.hasPrevPage = Boolean(prev);
    this._next = next;
    this._prev = prev;
  }

  /** The next page; rejects when there is none (`hasNextPage` is false). */
  async nextPage() {
    if (!this._next) throw new ConfabError(INVALID, "there is no next page");
    return this._next();
  }

  /** The previous page; rejects when there is none (`hasPrevPage` is false). */
  async prevPage() {
    if (!this._prev) throw new ConfabError(INVALID, "there is no previous page");
    return this._prev();
  }
}
