// The Confab JavaScript SDK: the object model of `@twilio/conversations` 3.x over a Confab
// server, in a browser (a plain ES module, no bundler) and in Node 20+.
//
//   import { Client } from "@confab/conversations";
//   const client = new Client(token, { url: "https://chat.example.com" });
//   client.on("initialized", () => { /* use it */ });
//
// See docs/PORTING.md for what differs from the reference, docs/BROWSER.md for how it works.

export { Client, VERSION } from "./client.js";
export { Conversation } from "./conversation.js";
export { Message } from "./message.js";
export { Media } from "./media.js";
export { Participant } from "./participant.js";
export { User } from "./user.js";
export { Paginator } from "./paginator.js";
export { CancellablePromise, MessageBuilder, UnsentMessage } from "./builder.js";
export { EventEmitter } from "./emitter.js";
export { ConfabError } from "./errors.js";
export { Method } from "./methods.js";
