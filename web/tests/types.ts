// Compiled (never run) by `tsc` against sdk/confab.d.ts: code written as for the reference
// SDK, with only the import changed, must type-check as an app developer writes it.
import { Client, ConfabError, type ConnectionState, type Conversation, type Message, type Participant } from "../sdk/confab.js";

declare function fetchToken(): Promise<string>;
declare function render(s: ConnectionState): void;

let client = new Client("token", { logLevel: "debug", url: "https://chat.example.com" });
client.on("initialized", () => {
  void start();
});
client.on("initFailed", ({ error }) => console.error(error?.message));
client.on("connectionStateChanged", (s) => render(s));
client.on("tokenAboutToExpire", async () => {
  client = await client.updateToken(await fetchToken());
});
client.on("conversationAdded", (c: Conversation) => console.log(c.friendlyName, c.lastMessage?.index));
client.on("conversationUpdated", ({ conversation, updateReasons }) => console.log(conversation.sid, updateReasons.includes("friendlyName")));
client.on("messageUpdated", ({ message, updateReasons }) => console.log(message.body, updateReasons));
client.on("typingStarted", (p: Participant) => console.log(p.identity, p.isTyping));

async function start(): Promise<void> {
  const conversation = await client.createConversation({ friendlyName: "team" });
  await conversation.join();
  conversation.on("messageAdded", (m: Message) => console.log(m.author, m.body, m.index));
  const index: number = await conversation.sendMessage("hello");
  const again: number | null = await conversation.prepareMessage().setBody("again").setAttributes({ k: 1 }).build().send();
  const page = await conversation.getMessages(20);
  const older = page.hasPrevPage ? await page.prevPage() : page;
  const unread: number = await conversation.updateLastReadMessageIndex(index);
  console.log(older.items.length, unread, again, client.user.identity, client.reachabilityEnabled);
  const same = await client.getConversationBySid(conversation.sid);
  same.on("updated", ({ updateReasons }) => console.log(updateReasons));
  try {
    await client.getConversationByUniqueName("nope");
  } catch (e) {
    if (e instanceof ConfabError) console.log(e.code);
  }
  await client.shutdown();
}
