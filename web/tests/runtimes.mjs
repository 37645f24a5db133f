// The two places the SDK runs in the tests: a page in headless Chromium and this Node
// process. A scenario is a self-contained async function of `{ sdkUrl, url, tokens, ... }`
// (it imports the SDK itself, so that Playwright can ship it into the page) returning
// something JSON can carry; each runtime runs it its own way.

import { createServer, connect } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, recordConsole, withTimeout } from "./harness.mjs";

/** The SDK's entry as Node imports it. */
export const NODE_SDK = pathToFileURL(join(ROOT, "web/sdk/confab.js")).href;

/** What every scenario may use, as `globalThis.__scenario` in both runtimes (written once
 * here: the page gets this function's text as an init script). */
export function scenarioHelpers() {
  return {
    /** The first `event` of `emitter` for which `pred` holds: its first argument. */
    next: (emitter, event, pred = () => true) =>
      new Promise((ok) => {
        const f = (...args) => {
          if (!pred(...args)) return;
          emitter.off(event, f);
          ok(args[0]);
        };
        emitter.on(event, f);
      }),
    /** The app backend makes the client's user the admin of conversation `c` (with the
     * default roles a participant may not add others). */
    promote: async (c, url, admin) => {
      const me = await c.getParticipantByIdentity();
      const res = await fetch(`${url}/v1/Conversations/${c.sid}/Participants/${me.sid}`, {
        method: "POST",
        headers: { Authorization: admin.auth, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ RoleSid: admin.role }),
      });
      if (!res.ok) throw new Error(`promote: ${res.status}`);
    },
    /** Alice and Bob, signed in; Alice creates `name`, joins, is made its admin and adds Bob.
     * Returns both clients and each one's conversation object. */
    room: async (Client, url, tokens, admin, name) => {
      const alice = await Client.create(tokens.alice, { url });
      const bob = await Client.create(tokens.bob, { url });
      const c = await alice.createConversation({ friendlyName: name });
      await c.join();
      await globalThis.__scenario.promote(c, url, admin);
      const bobJoined = globalThis.__scenario.next(bob, "conversationJoined");
      await c.add(bob.user.identity);
      return { alice, bob, c, bc: await bobJoined };
    },
  };
}

/** Runs scenarios in a fresh page of the server's own site. */
export class PageRuntime {
  static name = "chromium";

  constructor(env) {
    this.env = env;
  }

  async open() {
    this.context = await this.env.browser.newContext();
    // An init script runs before the page's own and is not held to its CSP.
    await this.context.addInitScript(`globalThis.__scenario = (${scenarioHelpers})();`);
    this.page = await this.context.newPage();
    this.console = [];
    recordConsole(this.page, this.console);
    await this.page.goto(this.env.server.url);
  }

  run(scenario, args) {
    return withTimeout(this.page.evaluate(scenario, { sdkUrl: "/sdk/confab.js", url: this.env.server.url, ...args }), `${scenario.name} in Chromium`);
  }

  async close() {
    await this.context?.close();
  }

  where() {
    return `console:\n${this.console.join("\n")}`;
  }
}

/** Runs scenarios in this Node process. */
export class NodeRuntime {
  static name = "node";

  constructor(env) {
    this.env = env;
  }

  async open() {
    globalThis.__scenario = scenarioHelpers();
  }

  run(scenario, args) {
    return withTimeout(scenario({ sdkUrl: NODE_SDK, url: this.env.server.url, ...args }), `${scenario.name} in Node`);
  }

  async close() {}

  where() {
    return "";
  }
}

/** A TCP relay in front of the server that can cut every connection and refuse new ones:
 * the network going away, for clients that have no offline switch (Node). */
export class Cutter {
  static async start(targetPort) {
    const c = new Cutter();
    c.sockets = new Set();
    c.down = false;
    c.server = createServer((client) => {
      if (c.down) {
        client.destroy();
        return;
      }
      const upstream = connect(targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        c.sockets.add(s);
        s.on("close", () => c.sockets.delete(s));
        s.on("error", () => {});
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise((ok) => c.server.listen(0, "127.0.0.1", ok));
    c.port = c.server.address().port;
    return c;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  cut() {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }

  restore() {
    this.down = false;
  }

  close() {
    this.cut();
    return new Promise((ok) => this.server.close(ok));
  }
}
