// The event emitter of every SDK object: the API of Node's EventEmitter (which the reference
// SDK's objects extend), written out so that the same file runs in a page without a bundler,
// plus the reference's replay methods (a late listener hears the last event of its name).

/** Every listener of an object's events. */
export class EventEmitter {
  #listeners = new Map();
  #history = new Map();
  #max = 10;

  #add(event, listener, once, prepend) {
    if (typeof listener !== "function") throw new TypeError(`the "${String(event)}" listener is not a function`);
    let list = this.#listeners.get(event);
    if (!list) this.#listeners.set(event, (list = []));
    const entry = { listener, once };
    if (prepend) list.unshift(entry);
    else list.push(entry);
    return this;
  }

  /** Calls `listener` for every `event`. */
  on(event, listener) {
    return this.#add(event, listener, false, false);
  }

  /** Same as `on`. */
  addListener(event, listener) {
    return this.#add(event, listener, false, false);
  }

  /** Calls `listener` for every `event`, before the listeners already there. */
  prependListener(event, listener) {
    return this.#add(event, listener, false, true);
  }

  /** Calls `listener` for the next `event` only. */
  once(event, listener) {
    return this.#add(event, listener, true, false);
  }

  /** Calls `listener` for the next `event` only, before the listeners already there. */
  prependOnceListener(event, listener) {
    return this.#add(event, listener, true, true);
  }

  /** Stops calling `listener` for `event` (the one added last, if it was added twice). */
  removeListener(event, listener) {
    const list = this.#listeners.get(event);
    if (!list) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i].listener === listener) {
        list.splice(i, 1);
        break;
      }
    }
    if (list.length === 0) this.#listeners.delete(event);
    return this;
  }

  /** Same as `removeListener`. */
  off(event, listener) {
    return this.removeListener(event, listener);
  }

  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event) {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
    return this;
  }

  /** Calls the listeners of `event` with `args`; true if there were any. A listener that
   * throws is reported on the console and does not stop the others (or the client). */
  emit(event, ...args) {
    this.#history.set(event, args);
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) return false;
    for (const entry of [...list]) {
      if (entry.once) {
        const i = list.indexOf(entry);
        if (i < 0) continue;
        list.splice(i, 1);
        if (list.length === 0) this.#listeners.delete(event);
      }
      try {
        entry.listener.apply(this, args);
      } catch (e) {
        console.error(`[confab] a "${String(event)}" listener threw`, e);
      }
    }
    return true;
  }

  /** The listeners of `event`. */
  listeners(event) {
    return (this.#listeners.get(event) ?? []).map((e) => e.listener);
  }

  /** Same as `listeners` (no wrappers are made here). */
  rawListeners(event) {
    return this.listeners(event);
  }

  /** How many listeners `event` has (of `listener` alone, if given). */
  listenerCount(event, listener) {
    const list = this.#listeners.get(event) ?? [];
    return listener === undefined ? list.length : list.filter((e) => e.listener === listener).length;
  }

  /** The events that have listeners. */
  eventNames() {
    return [...this.#listeners.keys()];
  }

  /** Kept for compatibility: nothing warns about many listeners here. */
  setMaxListeners(n) {
    this.#max = n;
    return this;
  }

  /** What `setMaxListeners` was given (10 by default). */
  getMaxListeners() {
    return this.#max;
  }

  /** `on`, first calling `listener` with the last `event` emitted before, if any. */
  addListenerWithReplay(event, listener) {
    const last = this.#history.get(event);
    if (last !== undefined) listener.apply(this, last);
    return this.addListener(event, listener);
  }

  /** Same as `addListenerWithReplay`. */
  onWithReplay(event, listener) {
    return this.addListenerWithReplay(event, listener);
  }

  /** `once`, unless an `event` was emitted before: then `listener` is called with the last
   * one at once, and not again. */
  onceWithReplay(event, listener) {
    const last = this.#history.get(event);
    if (last !== undefined) {
      listener.apply(this, last);
      return this;
    }
    return this.once(event, listener);
  }
}
