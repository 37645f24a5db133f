// Compiled (never run) by `tsc --noEmit` against sdk/confab.d.ts: the example and the
// main calls must type-check as an app developer would write them.
import { Client, ConfabError, type ConnectionState, type Message } from "../sdk/confab.js";

declare function fetchToken(): Promise<string>;
declare function render(s: ConnectionState): void;

let client = new Client("token", { logLevel: "debug" });
client.on("stateChanged", (state) => {
  if (state === "initialized") {
    void start();
  }
});
client.on("connectionStateChanged", (s) => render(s));
client.on("tokenAboutToExpire", async () => {
  client = await client.updateToken(await fetchToken());
});
client.on("tokenExpired", async () => {
  client = new Client(await fetchToken());
});

async function start(): Promise<void> {
  const conversation = await client.createConversation({ friendlyName: "team" });
  await conversation.join();
  conversation.on("messageAdded", (m: Message) => console.log(m.author, m.body, m.index));
  const sent = await conversation.sendMessage("hello");
  const page = await conversation.getMessages(20);
  const older = page.hasNextPage ? await page.nextPage() : page;
  const unread: number | null = await conversation.setLastRead(sent.index);
  console.log(older.items.length, unread);
  try {
    await client.getConversation("nope");
  } catch (e) {
    if (e instanceof ConfabError) console.log(e.code);
  }
  await client.shutdown();
}
