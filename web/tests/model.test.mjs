// The object model behind the types (web/tests/twilio.ts checks the types): scenarios run
// by the JavaScript SDK in headless Chromium and in Node against a real server. Each is a
// self-contained function (Playwright ships it into the page as text), returning what the
// assertions then check.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { adminRole, serverAndBrowser, withTimeout } from "./harness.mjs";
import { NODE_SDK, NodeRuntime, PageRuntime } from "./runtimes.mjs";

/** Paging both ways: items oldest first in every page, prevPage older, nextPage newer. */
async function paging({ sdkUrl, url, tokens }) {
  const { Client } = await import(sdkUrl);
  const client = await Client.create(tokens.alice, { url });
  const c = await client.createConversation({ friendlyName: "paging" });
  await c.join();
  for (let i = 0; i < 7; i++) await c.sendMessage(`m${i}`);
  const idx = (p) => ({ items: p.items.map((m) => m.index), prev: p.hasPrevPage, next: p.hasNextPage });
  const newest = await c.getMessages(3);
  const older = await newest.prevPage();
  const oldest = await older.prevPage();
  const back = await oldest.nextPage();
  const forward = await c.getMessages(3, 2, "forward");
  const forwardNext = await forward.nextPage();
  const fromAnchor = await c.getMessages(2, 5);
  const all = await c.getMessages();
  const noPrev = await oldest.prevPage().then(() => null, (e) => e.code);
  const sideways = await c.getMessages(2, 1, "sideways").then(() => null, (e) => e.code);
  const same = newest.items[2] === all.items[6] && back.items[0] === older.items[0];
  await client.shutdown();
  return { newest: idx(newest), older: idx(older), oldest: idx(oldest), back: idx(back), forward: idx(forward), forwardNext: idx(forwardNext), fromAnchor: idx(fromAnchor), all: idx(all), noPrev, sideways, same };
}

/** One object per entity, updated in place, with the reference's payloads and reasons. */
async function inPlace({ sdkUrl, url, tokens, admin }) {
  const { Client, Conversation, Message, Participant } = await import(sdkUrl);
  const { next, promote } = globalThis.__scenario;
  const alice = await Client.create(tokens.alice, { url });
  const bob = await Client.create(tokens.bob, { url });
  const bobJoined = next(bob, "conversationJoined");
  const bobAdded = next(bob, "conversationAdded");
  const c = await alice.createConversation({ friendlyName: "before" });
  const joined = await c.join();
  await promote(c, url, admin);
  const added = await c.add(bob.user.identity, { role: "guest" });
  const bc = await bobJoined;
  const out = {
    joinResolvesConversation: joined === c,
    addShape: { identity: added.identity, sidPrefix: added.sid.slice(0, 2), conversation: added.conversation_sid === c.sid, attributes: added.attributes },
    bobAddedSame: (await bobAdded) === bc,
    bobStatus: bc.status,
    isConversation: bc instanceof Conversation,
  };
  const bobMessage = next(bc, "messageAdded");
  const index = await c.sendMessage("hi", { n: 1 });
  const m = await bobMessage;
  out.index = index;
  out.message = { isMessage: m instanceof Message, body: m.body, index: m.index, attributes: m.attributes, author: m.author, lastMessage: bc.lastMessage?.index };
  const messageUpdated = next(m, "updated");
  const clientMessageUpdated = next(bob, "messageUpdated");
  const mine = (await c.getMessages(1)).items[0];
  const edited = await mine.updateBody("hello");
  const u = await messageUpdated;
  const cu = await clientMessageUpdated;
  out.messageUpdate = { sameObject: u.message === m && cu.message === m, body: m.body, reasons: u.updateReasons.sort(), editedIsMine: edited === mine };
  const convUpdated = next(bc, "updated", (e) => e.updateReasons.includes("friendlyName"));
  const clientConvUpdated = next(bob, "conversationUpdated", (e) => e.updateReasons.includes("friendlyName"));
  const renamed = await c.updateFriendlyName("after");
  const cv = await convUpdated;
  out.conversationUpdate = { same: cv.conversation === bc && (await clientConvUpdated).conversation === bc, name: bc.friendlyName, reasons: cv.updateReasons.sort(), renamedIsC: renamed === c };
  // Loaded first, so the update is compared with what it was.
  const before = (await bc.getParticipants()).find((p) => p.identity === alice.user.identity);
  const participantUpdated = next(bc, "participantUpdated", (e) => e.participant.identity === alice.user.identity);
  const me = await c.getParticipantByIdentity(alice.user.identity);
  const after = await me.updateAttributes({ mood: "good" });
  const pu = await participantUpdated;
  out.participantUpdate = { isParticipant: pu.participant instanceof Participant, attributes: pu.participant.attributes, reasons: pu.updateReasons.sort(), same: after === me, loaded: pu.participant === before };
  const removed = next(bc, "messageRemoved");
  const gone = await mine.remove();
  const rm = await removed;
  out.messageRemoved = { same: rm === m, body: rm.body, goneIsMine: gone === mine };
  await alice.shutdown();
  await bob.shutdown();
  return out;
}

/** Lookups by SID, unique name and identity; users and their profiles. */
async function lookups({ sdkUrl, url, tokens, unique, admin }) {
  const { Client, User } = await import(sdkUrl);
  const { next, promote } = globalThis.__scenario;
  const alice = await Client.create(tokens.alice, { url });
  const bob = await Client.create(tokens.bob, { url });
  const c = await alice.createConversation({ friendlyName: "lookups", uniqueName: unique });
  await c.join();
  await promote(c, url, admin);
  const out = {
    bySid: (await alice.getConversationBySid(c.sid)) === c,
    byUniqueName: (await alice.getConversationByUniqueName(unique)) === c,
    peek: (await alice.peekConversationBySid(c.sid)) === c,
    notMine: await bob.getConversationBySid(c.sid).then(() => null, (e) => e.code),
  };
  const p = await c.getParticipantByIdentity(alice.user.identity);
  out.participant = { identity: p.identity, bySid: (await c.getParticipantBySid(p.sid)) === p, own: (await c.getParticipantByIdentity()) === p, nobody: await c.getParticipantByIdentity("nobody"), user: (await p.getUser()) === alice.user };
  out.self = { identity: alice.user.identity, isUser: alice.user instanceof User, getUser: (await alice.getUser(alice.user.identity)) === alice.user, reachability: alice.reachabilityEnabled, online: alice.user.isOnline };
  await c.add(bob.user.identity);
  const bc = await bob.getConversationBySid(c.sid);
  out.bobFound = bc.sid === c.sid;
  const aliceSeenByBob = await bob.getUser(alice.user.identity);
  const subscribed = await bob.getSubscribedUsers();
  out.bobSubscribed = subscribed.includes(aliceSeenByBob) && aliceSeenByBob.isSubscribed;
  out.foreignRename = await aliceSeenByBob.updateFriendlyName("Mallory").then(() => null, (e) => e.code);
  const selfUpdated = next(alice.user, "updated");
  const bobHears = next(bob, "userUpdated", (e) => e.user === aliceSeenByBob && e.updateReasons.includes("friendlyName"));
  const renamed = await alice.user.updateFriendlyName("Alice A");
  const su = await selfUpdated;
  const bh = await bobHears;
  out.rename = { same: renamed === alice.user, name: alice.user.friendlyName, reasons: su.updateReasons, bobSees: bh.user.friendlyName, afterForeign: aliceSeenByBob.friendlyName };
  await alice.shutdown();
  await bob.shutdown();
  return out;
}

/** Read horizons and unread counts, on the conversation and on the participant. */
async function readHorizons({ sdkUrl, url, tokens, admin }) {
  const { Client } = await import(sdkUrl);
  const { next, promote } = globalThis.__scenario;
  const alice = await Client.create(tokens.alice, { url });
  const bob = await Client.create(tokens.bob, { url });
  const c = await alice.createConversation({ friendlyName: "reading" });
  await c.join();
  await promote(c, url, admin);
  for (let i = 0; i < 5; i++) await c.sendMessage(`m${i}`);
  const bobJoined = next(bob, "conversationJoined");
  await c.add(bob.user.identity);
  const bc = await bobJoined;
  const out = { start: { last: bc.lastReadMessageIndex, lastMessage: bc.lastMessage?.index, unread: await bc.getUnreadMessagesCount(), count: await bc.getMessagesCount(), participants: await bc.getParticipantsCount() } };
  const horizon = next(bc, "updated", (e) => e.updateReasons.includes("lastReadMessageIndex"));
  const aliceSees = next(c, "participantUpdated", (e) => e.participant.identity === bob.user.identity && e.participant.lastReadMessageIndex === 2);
  const unread = await bc.updateLastReadMessageIndex(2);
  await horizon;
  const seen = await aliceSees;
  out.set = { unread, last: bc.lastReadMessageIndex, aliceSees: seen.participant.lastReadMessageIndex, reasons: seen.updateReasons.includes("lastReadMessageIndex") };
  out.advanceBack = await bc.advanceLastReadMessageIndex(1);
  out.afterAdvanceBack = bc.lastReadMessageIndex;
  out.allRead = await bc.setAllMessagesRead();
  out.allReadIndex = bc.lastReadMessageIndex;
  out.allUnread = await bc.setAllMessagesUnread();
  out.allUnreadIndex = bc.lastReadMessageIndex;
  out.unreadNone = await bc.getUnreadMessagesCount();
  await bc.setUserNotificationLevel("muted");
  out.level = bc.notificationLevel;
  await alice.shutdown();
  await bob.shutdown();
  return out;
}

/** Typing arrives as the typist's Participant, the same object each time. */
async function typing({ sdkUrl, url, tokens, admin }) {
  const { Client, Participant } = await import(sdkUrl);
  const { next, room } = globalThis.__scenario;
  const { alice, bob, c, bc } = await room(Client, url, tokens, admin, "typing");
  const started = next(bc, "typingStarted");
  const clientStarted = next(bob, "typingStarted");
  const typed = await c.typing();
  const p = await started;
  const out = { typed: typed === undefined, isParticipant: p instanceof Participant, identity: p.identity, isTyping: p.isTyping, conversation: p.conversation === bc, clientSame: (await clientStarted) === p };
  const participantEnded = next(p, "typingEnded");
  const ended = next(bc, "typingEnded");
  await c.sendMessage("done typing");
  const e = await ended;
  await participantEnded;
  out.ended = { same: e === p, isTyping: p.isTyping };
  await alice.shutdown();
  await bob.shutdown();
  return out;
}

/** Joining, being added, leaving, being removed and deletion, as the reference reports them. */
async function membership({ sdkUrl, url, tokens, admin }) {
  const { Client } = await import(sdkUrl);
  const { next, promote } = globalThis.__scenario;
  const alice = await Client.create(tokens.alice, { url });
  const bob = await Client.create(tokens.bob, { url });
  const events = [];
  for (const e of ["conversationAdded", "conversationJoined", "conversationLeft", "conversationRemoved"]) bob.on(e, (c) => events.push(`${e}:${c.friendlyName}`));
  const c = await alice.createConversation({ friendlyName: "members" });
  const out = { createdStatus: c.status };
  await c.join();
  await promote(c, url, admin);
  out.joinedStatus = c.status;
  const aliceSeesBob = next(c, "participantJoined");
  const bobJoined = next(bob, "conversationJoined");
  await c.add(bob.user.identity);
  const bc = await bobJoined;
  const bp = await aliceSeesBob;
  out.participantJoined = bp.identity;
  const removedEvent = next(bc, "removed");
  const aliceSeesLeft = next(c, "participantLeft");
  const removeResult = await c.removeParticipant(bp);
  out.removeResult = removeResult === undefined;
  out.removedSame = (await removedEvent) === bc;
  out.participantLeft = (await aliceSeesLeft) === bp;
  out.bobStatus = bc.status;
  const bobBack = next(bob, "conversationJoined");
  await c.add(bob.user.identity);
  const bc2 = await bobBack;
  const left = next(bob, "conversationRemoved");
  out.leaveResolves = (await bc2.leave()) === bc2;
  out.leftSame = (await left) === bc2;
  const aliceRemoved = next(alice, "conversationRemoved");
  out.deleteResolves = (await c.delete()) === c;
  out.aliceRemoved = (await aliceRemoved) === c;
  out.events = events;
  await alice.shutdown();
  await bob.shutdown();
  return out;
}

/** Every conversation is added: the first page before `initialized`, the rest after it, and a
 * new one live. */
async function everyConversation({ sdkUrl, url, tokens, expected }) {
  const { Client } = await import(sdkUrl);
  const client = new Client(tokens.carol, { url });
  const seen = new Set();
  let beforeInit = -1;
  let resolveAll;
  const all = new Promise((ok) => (resolveAll = ok));
  client.on("conversationAdded", (c) => {
    seen.add(c.sid);
    if (seen.size === expected + 1) resolveAll();
  });
  await new Promise((ok, fail) => {
    client.on("initialized", () => {
      beforeInit = seen.size;
      ok();
    });
    client.on("initFailed", ({ error }) => fail(new Error(error?.message)));
  });
  const userBeforeInit = client.user.friendlyName;
  const c = await client.createConversation({ friendlyName: "live" });
  await c.join();
  await all;
  const page = await client.getSubscribedConversations();
  const out = { beforeInit, total: seen.size, userBeforeInit, firstPage: page.items.length, firstIsLive: page.items[0] === c, hasNext: page.hasNextPage };
  await client.shutdown();
  return out;
}


for (const Runtime of [PageRuntime, NodeRuntime]) {
  describe(`JS SDK in ${Runtime.name}: the object model`, () => {
    const env = serverAndBrowser({ browser: Runtime === PageRuntime });
    let rt;
    let n = 0;
    let admin = null;

    /** Runs `scenario` with fresh identities (alice, bob, carol are unique per test). */
    async function run(scenario, extra = {}) {
      rt = new Runtime(env);
      await rt.open();
      n++;
      const names = { alice: `alice-${Runtime.name}-${n}`, bob: `bob-${Runtime.name}-${n}`, carol: `carol-${Runtime.name}-${n}` };
      const tokens = {};
      for (const [k, v] of Object.entries(names)) tokens[k] = await env.server.token(v);
      admin ??= await adminRole(env.server);
      try {
        return { names, result: await rt.run(scenario, { tokens, admin, ...extra }) };
      } catch (e) {
        e.message += `\n${rt.where()}`;
        throw e;
      } finally {
        await rt.close();
      }
    }

    test("paging both ways", async () => {
      const { result: r } = await run(paging);
      assert.deepEqual(r.newest, { items: [4, 5, 6], prev: true, next: false });
      assert.deepEqual(r.older, { items: [1, 2, 3], prev: true, next: true });
      assert.deepEqual(r.oldest, { items: [0], prev: false, next: true });
      assert.deepEqual(r.back, { items: [1, 2, 3], prev: true, next: true });
      assert.deepEqual(r.forward, { items: [2, 3, 4], prev: true, next: true });
      assert.deepEqual(r.forwardNext, { items: [5, 6], prev: true, next: false });
      assert.deepEqual(r.fromAnchor, { items: [4, 5], prev: true, next: true });
      assert.deepEqual(r.all.items, [0, 1, 2, 3, 4, 5, 6]);
      assert.equal(r.noPrev, 20001);
      assert.equal(r.sideways, 20001);
      assert.equal(r.same, true, "a message is one object in every page");
    });

    test("in-place updates with updateReasons", async () => {
      const { result: r } = await run(inPlace);
      assert.equal(r.joinResolvesConversation, true);
      assert.deepEqual(r.addShape, { identity: r.addShape.identity, sidPrefix: "MB", conversation: true, attributes: '{"role":"guest"}' });
      assert.match(r.addShape.identity, /^bob-/);
      assert.equal(r.bobAddedSame, true);
      assert.equal(r.bobStatus, "joined");
      assert.equal(r.isConversation, true);
      assert.equal(r.index, 0, "sendMessage resolves with the index");
      assert.deepEqual(r.message, { isMessage: true, body: "hi", index: 0, attributes: { n: 1 }, author: r.message.author, lastMessage: 0 });
      assert.deepEqual(r.messageUpdate, { sameObject: true, body: "hello", reasons: ["body", "dateUpdated"], editedIsMine: true });
      assert.equal(r.conversationUpdate.same, true);
      assert.equal(r.conversationUpdate.name, "after");
      assert.ok(r.conversationUpdate.reasons.includes("friendlyName"), JSON.stringify(r.conversationUpdate));
      assert.equal(r.conversationUpdate.renamedIsC, true);
      assert.deepEqual(r.participantUpdate, { isParticipant: true, attributes: { mood: "good" }, reasons: ["attributes", "dateUpdated"], same: true, loaded: true });
      assert.deepEqual(r.messageRemoved, { same: true, body: null, goneIsMine: true });
    });

    test("lookups by SID, unique name and identity; users", async () => {
      const { names, result: r } = await run(lookups, { unique: `room-${Runtime.name}` });
      assert.deepEqual(r.bySid && r.byUniqueName && r.peek, true);
      assert.equal(r.notMine, 20403, "a conversation the user is not in");
      assert.deepEqual(r.participant, { identity: names.alice, bySid: true, own: true, nobody: null, user: true });
      assert.deepEqual(r.self, { identity: names.alice, isUser: true, getUser: true, reachability: true, online: true });
      assert.equal(r.bobFound, true);
      assert.equal(r.bobSubscribed, true);
      assert.equal(r.foreignRename, 20403, "another user's profile is refused, not written to the caller's");
      assert.deepEqual(r.rename, { same: true, name: "Alice A", reasons: ["friendlyName"], bobSees: "Alice A", afterForeign: "Alice A" });
    });

    test("read horizons and unread counts", async () => {
      const { result: r } = await run(readHorizons);
      assert.deepEqual(r.start, { last: null, lastMessage: 4, unread: null, count: 5, participants: 2 });
      assert.deepEqual(r.set, { unread: 2, last: 2, aliceSees: 2, reasons: true });
      assert.equal(r.advanceBack, 2, "advance never moves back");
      assert.equal(r.afterAdvanceBack, 2);
      assert.equal(r.allRead, 0);
      assert.equal(r.allReadIndex, 4);
      assert.equal(r.allUnread, 5);
      assert.equal(r.allUnreadIndex, null);
      assert.equal(r.unreadNone, null);
      assert.equal(r.level, "muted");
    });

    test("typing as the typist's Participant", async () => {
      const { names, result: r } = await run(typing);
      assert.deepEqual(r, { typed: true, isParticipant: true, identity: names.alice, isTyping: true, conversation: true, clientSame: true, ended: { same: true, isTyping: false } });
    });

    test("membership events", async () => {
      const { names, result: r } = await run(membership);
      assert.equal(r.createdStatus, "notParticipating");
      assert.equal(r.joinedStatus, "joined");
      assert.equal(r.participantJoined, names.bob);
      assert.deepEqual(
        { removeResult: r.removeResult, removedSame: r.removedSame, participantLeft: r.participantLeft, bobStatus: r.bobStatus, leaveResolves: r.leaveResolves, leftSame: r.leftSame, deleteResolves: r.deleteResolves, aliceRemoved: r.aliceRemoved },
        { removeResult: true, removedSame: true, participantLeft: true, bobStatus: "notParticipating", leaveResolves: true, leftSame: true, deleteResolves: true, aliceRemoved: true },
      );
      assert.deepEqual(r.events, [
        "conversationAdded:members",
        "conversationJoined:members",
        "conversationLeft:members",
        "conversationRemoved:members",
        "conversationAdded:members",
        "conversationJoined:members",
        "conversationLeft:members",
        "conversationRemoved:members",
      ]);
    });

    test("every conversation is added, the first page before initialized", async () => {
      const count = 60;
      const carol = `carol-${Runtime.name}-${n + 1}`;
      await env.server.rest("POST", `/v1/Users`, { Identity: carol, FriendlyName: "Carol" });
      for (let i = 0; i < count; i++) {
        const c = await env.server.rest("POST", "/v1/Conversations", { FriendlyName: `c${i}` });
        await env.server.rest("POST", `/v1/Conversations/${c.sid}/Participants`, { Identity: carol });
      }
      const { result: r } = await run(everyConversation, { expected: count });
      assert.deepEqual(r, { beforeInit: 50, total: count + 1, userBeforeInit: "Carol", firstPage: 50, firstIsLive: true, hasNext: true });
    });
  });
}

describe("JS SDK in Node: a token provider renews the token by itself", () => {
  const env = serverAndBrowser({ browser: false });

  test("tokenAboutToExpire asks the provider, and the session lives past the first token", async () => {
    const { Client } = await import(NODE_SDK);
    const identity = "provided";
    let asked = 0;
    let handed;
    const provided = new Promise((ok) => (handed = ok));
    const states = [];
    const client = new Client(await env.server.token(identity, 6), {
      url: env.server.url,
      tokenLeadMs: 4000,
      tokenProvider: async () => {
        asked++;
        const token = await env.server.token(identity, 3600);
        handed(token);
        return token;
      },
    });
    client.on("connectionStateChanged", (s) => states.push(s));
    try {
      const token = await withTimeout(provided, "the provider to be asked");
      // A request made after it is answered after the renewal the provider's token started.
      await withTimeout(client.getSubscribedConversations(), "a round trip");
      assert.equal(client.token, token);
      // Past the first token's end (6 s plus the 1 s skew): still the one connection.
      const expired = new Promise((ok) => client.on("tokenExpired", ok));
      const past = new Promise((ok) => setTimeout(ok, 8000));
      assert.equal(await Promise.race([expired.then(() => "expired"), past.then(() => "alive")]), "alive");
      assert.equal((await client.getSubscribedConversations()).items.length, 0);
      assert.equal(asked, 1);
      assert.deepEqual(states, ["connecting", "connected"]);
      assert.throws(() => new Client("t", { url: env.server.url, tokenProvider: "nope" }), (e) => e.code === 20001);
    } finally {
      await client.shutdown();
    }
  });
});
