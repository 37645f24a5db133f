// TypeScript declarations of the Confab browser SDK (confab.js). web/tests/types.ts is
// checked against them by `tsc --noEmit` in the browser test run.

/** `connecting` | `connected` | `disconnecting` | `disconnected` | `denied`. */
export type ConnectionState = "connecting" | "connected" | "disconnecting" | "disconnected" | "denied";

/** Whether the client got going: `initialized` once connected with the first page loaded. */
export type ClientState = "initialized" | "failed";

/** SDK verbosity, written to the browser console. */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "silent";

/** Client settings; every field is optional. */
export interface ClientOptions {
  /** The server, `ws://host:port` or `wss://host` (`/v1/realtime` is added); default: the page's own server. */
  url?: string;
  /** Default `warn`. */
  logLevel?: LogLevel;
  /** How long before the token's expiry `tokenAboutToExpire` comes (default 180,000). */
  tokenLeadMs?: number;
  /** How long the client keeps reconnecting after a loss (default 120,000; `null`: forever). */
  reconnectionWindowMs?: number | null;
  /** How long a request may take (default 30,000). */
  requestTimeoutMs?: number;
  /** How long opening a connection and getting `welcome` may take (default 15,000). */
  connectTimeoutMs?: number;
  /** Conversations whose cursors are kept for resume (default 500). */
  watchCap?: number;
}

/** A refused call, with its numeric code (docs/PROTOCOL.md). */
export class ConfabError extends Error {
  constructor(code: number, message: string);
  readonly code: number;
}

/** `connectionError`'s payload. */
export interface ConnectionError {
  /** Whether the client stopped trying (a refused or expired token). */
  terminal: boolean;
  code: number;
  message: string;
}

/** One page of a listing, with the way to the next. */
export class Paginator<T> {
  readonly items: T[];
  readonly hasNextPage: boolean;
  /** The next page (an empty last page when there is none). */
  nextPage(): Promise<Paginator<T>>;
}

/** Attributes: the JSON the app stored, parsed. */
export type Attributes = unknown;

export class User {
  readonly identity: string;
  readonly friendlyName: string | null;
  readonly attributes: Attributes;
  /** Reachability, when the server told it. */
  readonly isOnline?: boolean;
  updateFriendlyName(name: string): Promise<User>;
  updateAttributes(attributes: Attributes): Promise<User>;
}

export class Participant {
  readonly conversation: Conversation;
  readonly sid: string;
  readonly conversationSid: string;
  /** `null` for a non-chat participant. */
  readonly identity: string | null;
  readonly attributes: Attributes;
  readonly roleSid: string | null;
  readonly lastReadMessageIndex: number | null;
  readonly lastReadTimestamp: string | null;
  readonly notificationLevel: "default" | "muted";
  readonly dateCreated: Date | null;
  readonly dateUpdated: Date | null;
  updateAttributes(attributes: Attributes): Promise<Participant>;
  remove(): Promise<Participant>;
}

export class Message {
  readonly conversation: Conversation;
  readonly sid: string;
  readonly conversationSid: string;
  /** Gapless position in the conversation, from 0. */
  readonly index: number;
  readonly author: string;
  readonly body: string | null;
  readonly attributes: Attributes;
  readonly participantSid: string | null;
  readonly dateCreated: Date | null;
  readonly dateUpdated: Date | null;
  updateBody(body: string): Promise<Message>;
  updateAttributes(attributes: Attributes): Promise<Message>;
  remove(): Promise<Message>;
}

/** One of the user's conversations as the user sees it. */
export interface ConversationSummary {
  conversation: Conversation;
  participant: Participant;
  lastMessageIndex: number | null;
  /** `null` until the user has set a read horizon. */
  unreadMessagesCount: number | null;
  notificationLevel: "default" | "muted";
  messagesCount: number;
  participantsCount: number;
  lastActivity: Date | null;
}

/** `conversationJoined`, `conversationLeft`, `conversationRemoved`. */
export interface Membership {
  conversationSid: string;
  participantSid: string | null;
  conversationSeq: number;
  conversation?: Conversation;
}

/** `typingStarted`, `typingEnded`. */
export interface Typing {
  conversationSid: string;
  participantSid: string | null;
  identity: string;
}

/** `readHorizon`. */
export interface Horizon {
  conversationSid: string;
  participantSid: string;
  identity: string;
  lastReadMessageIndex: number | null;
}

/** `conversationReset`: reload the conversation; its events after `seq` follow. */
export interface Reset {
  conversation: string;
  seq: number;
}

/** The events of one conversation, also heard on the conversation object. */
export interface ConversationEvents {
  conversationUpdated: (conversation: Conversation) => void;
  conversationJoined: (membership: Membership) => void;
  conversationLeft: (membership: Membership) => void;
  conversationRemoved: (membership: Membership) => void;
  conversationReset: (reset: Reset) => void;
  messageAdded: (message: Message) => void;
  messageUpdated: (message: Message) => void;
  messageRemoved: (message: Message) => void;
  participantJoined: (participant: Participant) => void;
  participantUpdated: (participant: Participant) => void;
  participantLeft: (participant: Participant) => void;
  typingStarted: (typing: Typing) => void;
  typingEnded: (typing: Typing) => void;
  readHorizon: (horizon: Horizon) => void;
}

/** Everything a client tells: the Rust SDK's events, same names. */
export interface ClientEvents extends ConversationEvents {
  stateChanged: (state: ClientState) => void;
  connectionStateChanged: (state: ConnectionState) => void;
  connectionError: (error: ConnectionError) => void;
  /** Renew now with `updateToken`; the argument is the time left in ms. */
  tokenAboutToExpire: (remainingMs: number) => void;
  tokenExpired: () => void;
  conversationAdded: (conversation: Conversation) => void;
  userUpdated: (user: User) => void;
}

declare class Emitter<E> {
  on<K extends keyof E>(event: K, listener: E[K]): this;
  once<K extends keyof E>(event: K, listener: E[K]): this;
  off<K extends keyof E>(event: K, listener?: E[K]): this;
}

export class Conversation extends Emitter<ConversationEvents> {
  readonly sid: string;
  readonly chatServiceSid: string;
  readonly friendlyName: string | null;
  readonly uniqueName: string | null;
  readonly attributes: Attributes;
  readonly state: "initializing" | "active" | "inactive" | "closed";
  readonly createdBy: string | null;
  readonly dateCreated: Date | null;
  readonly dateUpdated: Date | null;
  join(): Promise<Participant>;
  leave(): Promise<Participant>;
  delete(): Promise<void>;
  updateFriendlyName(name: string): Promise<Conversation>;
  updateUniqueName(name: string): Promise<Conversation>;
  updateAttributes(attributes: Attributes): Promise<Conversation>;
  setNotificationLevel(level: "default" | "muted"): Promise<ConversationSummary>;
  getSummary(): Promise<ConversationSummary>;
  getMessagesCount(): Promise<number>;
  getParticipantsCount(): Promise<number>;
  getUnreadMessagesCount(): Promise<number | null>;
  addParticipant(identity: string, attributes?: Attributes): Promise<Participant>;
  getParticipant(sidOrIdentity: string): Promise<Participant>;
  getParticipants(): Promise<Participant[]>;
  updateParticipantAttributes(participant: string, attributes: Attributes): Promise<Participant>;
  removeParticipant(participant: string): Promise<Participant>;
  sendMessage(body: string, attributes?: Attributes): Promise<Message>;
  getMessages(pageSize?: number, anchor?: number, direction?: "backwards" | "forwards"): Promise<Paginator<Message>>;
  /** A message by SID (`IM...`). */
  getMessage(sid: string): Promise<Message>;
  updateMessageBody(sid: string, body: string): Promise<Message>;
  updateMessageAttributes(sid: string, attributes: Attributes): Promise<Message>;
  removeMessage(sid: string): Promise<Message>;
  typing(): void;
  setLastRead(index: number): Promise<number | null>;
  advanceLastRead(index: number): Promise<number | null>;
  setAllRead(): Promise<number | null>;
  setAllUnread(): Promise<number | null>;
}

export class Client extends Emitter<ClientEvents> {
  /** Returns at once and connects in the background. The token goes in the first frame, never in a URL. */
  constructor(token: string, options?: ClientOptions);
  readonly connectionState: ConnectionState;
  /** `undefined` until decided. */
  readonly state: ClientState | undefined;
  /** The token's identity (once the core is loaded). */
  readonly identity: string | null;
  /** The conversation objects the client holds. */
  readonly conversations: Conversation[];
  request(method: string, params?: Record<string, unknown>): Promise<unknown>;
  createConversation(options?: { friendlyName?: string; uniqueName?: string; attributes?: Attributes }): Promise<Conversation>;
  getConversation(sidOrUniqueName: string): Promise<Conversation>;
  getSubscribedConversations(pageSize?: number): Promise<Paginator<ConversationSummary>>;
  getUser(identity: string): Promise<User>;
  getSubscribedUsers(): User[];
  join(conversation: string): Promise<Participant>;
  sendMessage(conversation: string, body: string, attributes?: Attributes): Promise<Message>;
  updateUser(update: { friendlyName?: string; attributes?: Attributes }): Promise<User>;
  typing(conversation: string): void;
  /** Renewed in place on a live connection; restarts a stopped client. Resolves to the client. */
  updateToken(token: string): Promise<Client>;
  reconnect(): void;
  shutdown(): Promise<void>;
}
