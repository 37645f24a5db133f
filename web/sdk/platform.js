// What differs between a browser and Node: where the WebSocket comes from, how the
// WebAssembly is read, and whether there is a page to take the server's address from.

import initWasm from "./wasm/confab_client_wasm.js";

/** Whether this runs in a page (a window with a location). */
export const inBrowser = typeof window !== "undefined" && typeof window.location !== "undefined";

const inNode = !inBrowser && typeof process !== "undefined" && Boolean(process.versions?.node);

let wasmLoading = null;

/** Loads the WebAssembly core once per page or process (every client shares it): fetched
 * beside this file in a browser, read from the package's own files in Node. */
export function loadWasm() {
  if (!wasmLoading) {
    const file = new URL("./wasm/confab_client_wasm_bg.wasm", import.meta.url);
    wasmLoading = inNode
      ? import("node:fs/promises").then((fs) => fs.readFile(file)).then((bytes) => initWasm({ module_or_path: bytes }))
      : initWasm({ module_or_path: file });
  }
  return wasmLoading;
}

let socketClass = null;

/** The WebSocket constructor: the platform's own, or the `ws` package's where there is none
 * (Node 20). */
export async function webSocketClass() {
  if (typeof globalThis.WebSocket === "function") return globalThis.WebSocket;
  if (!socketClass) {
    const ws = await import("ws");
    socketClass = ws.WebSocket ?? ws.default;
  }
  return socketClass;
}

/** The core's clock: monotonic, in unix milliseconds (a stepped wall clock cannot fire
 * every timer at once). */
export function now() {
  return performance.timeOrigin + performance.now();
}

/** A random 32-bit number, for the core's seed. */
export function randomU32() {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** The `ws:`/`wss:` address of the realtime endpoint: from `url` (`http(s)://` or
 * `ws(s)://`), else from the page's own host; null outside a browser without one. */
export function realtimeUrl(url, path) {
  let base = url;
  if (base === undefined || base === null) {
    if (!inBrowser) return null;
    const page = window.location;
    base = `${page.protocol === "https:" ? "wss:" : "ws:"}//${page.host}`;
  }
  return String(base).replace(/^http/, "ws").replace(/\/+$/, "") + path;
}
