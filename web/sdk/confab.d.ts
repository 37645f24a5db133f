// TypeScript declarations of the Confab JavaScript SDK (confab.js and the files it exports).
// The object model is `@twilio/conversations` 3.x's: web/tests/twilio.ts checks, with
// `tsc`, that every class here is assignable to the reference's, member by member.

/** Any JSON value. */
export type JSONValue = null | string | number | boolean | JSONObject | JSONArray;
/** A JSON object. */
export type JSONObject = { [x: string]: JSONValue };
/** A JSON array. */
export type JSONArray = JSONValue[];

/** The link to the server. */
export type ConnectionState = "connecting" | "connected" | "disconnecting" | "disconnected" | "denied";
/** Whether the client got going. */
export type State = "initialized" | "failed";
/** SDK verbosity, written to the console. */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "silent";

/** Client settings; every field is optional. */
export interface ClientOptions {
  /** Default `silent`, as in the reference. */
  logLevel?: LogLevel;
  /** The server: `https://host`, `http://host:port` or `ws(s)://…` (`/v1/realtime` is added).
   * Default: the page's own server; required outside a browser. Confab's own. */
  url?: string;
  /** Called for a new token when `tokenAboutToExpire` (or `tokenExpired`) comes; the client
   * takes it with `updateToken`. Without it the app renews on those events itself. */
  tokenProvider?: () => string | Promise<string>;
  /** How long before the token's expiry `tokenAboutToExpire` comes (ms, default 180,000). */
  tokenLeadMs?: number;
  /** How long the client keeps reconnecting after a loss (ms, default 120,000; `null`: forever). */
  reconnectionWindowMs?: number | null;
  /** How long a request may take (ms, default 30,000). */
  requestTimeoutMs?: number;
  /** How long opening a connection and getting `welcome` may take (ms, default 15,000). */
  connectTimeoutMs?: number;
  /** Conversations whose cursors are kept for resume (default 500). */
  watchCap?: number;
}

/** A refused call, with its numeric code (docs/PROTOCOL.md). */
export class ConfabError extends Error {
  constructor(code: number, message: string);
  /** The numeric code, e.g. 20404. */
  readonly code: number;
}

/** `connectionError`'s and `initFailed`'s error. */
export interface ConnectionError {
  /** Whether the client stopped trying (a refused or expired token). */
  terminal: boolean;
  /** What happened. */
  message: string;
  /** The numeric code (Confab's addition). */
  code?: number;
}

/** Node's EventEmitter API with the reference's replay methods, typed by an event map. */
export class EventEmitter<Events extends { [K in keyof Events]: (...args: any[]) => void } = Record<string, (...args: any[]) => void>> {
  on<E extends Extract<keyof Events, string>>(event: E, listener: Events[E]): this;
  once<E extends Extract<keyof Events, string>>(event: E, listener: Events[E]): this;
  off<E extends Extract<keyof Events, string>>(event: E, listener: Events[E]): this;
  addListener<E extends Extract<keyof Events, string>>(event: E, listener: Events[E]): this;
  removeListener<E extends Extract<keyof Events, string>>(event: E, listener: Events[E]): this;
  prependListener<E extends Extract<keyof Events, string>>(event: E, listener: Events[E]): this;
  prependOnceListener<E extends Extract<keyof Events, string>>(event: E, listener: Events[E]): this;
  removeAllListeners(event?: Extract<keyof Events, string>): this;
  emit<E extends Extract<keyof Events, string>>(event: E, ...args: Parameters<Events[E]>): boolean;
  listeners<E extends Extract<keyof Events, string>>(event: E): Function[];
  rawListeners<E extends Extract<keyof Events, string>>(event: E): Function[];
  listenerCount<E extends Extract<keyof Events, string>>(event: E, listener?: Function): number;
  eventNames(): Array<string | symbol>;
  setMaxListeners(n: number): this;
  getMaxListeners(): number;
  addListenerWithReplay<E extends Extract<keyof Events, string>>(event: E, listener: Events[E]): this;
  onWithReplay<E extends Extract<keyof Events, string>>(event: E, listener: Events[E]): this;
  onceWithReplay<E extends Extract<keyof Events, string>>(event: E, listener: Events[E]): this;
}

/** One page of a listing, in the listing's order, with the pages beside it. */
export interface Paginator<T> {
  hasNextPage: boolean;
  hasPrevPage: boolean;
  items: T[];
  /** Rejects when there is no next page. */
  nextPage(): Promise<Paginator<T>>;
  /** Rejects when there is no previous page. */
  prevPage(): Promise<Paginator<T>>;
}

/** A promise that `cancel()` rejects. */
export class CancellablePromise<T> extends Promise<T> {
  constructor(executor: (resolve: (value: T | PromiseLike<T>) => void, reject: (reason?: string | Error) => void, onCancel: (cancellationFunction: () => void) => void) => void);
  cancel(): this;
}

// ---- User ----

/** What changed in a user. */
export type UserUpdateReason = "friendlyName" | "attributes" | "reachabilityOnline" | "reachabilityNotifiable";
/** `updated`'s payload. */
export interface UserUpdatedEventArgs {
  user: User;
  updateReasons: UserUpdateReason[];
}
/** A user's events. */
export type UserEvents = {
  updated: (data: { user: User; updateReasons: UserUpdateReason[] }) => void;
  userSubscribed: (user: User) => void;
  userUnsubscribed: (user: User) => void;
};

/** A user: the client's own, or one sharing a conversation with it. */
export class User extends EventEmitter<UserEvents> {
  private constructor();
  readonly updated: "updated";
  readonly userSubscribed: "userSubscribed";
  readonly userUnsubscribed: "userUnsubscribed";
  get identity(): string;
  get attributes(): JSONValue;
  get friendlyName(): string | null;
  get isOnline(): boolean | null;
  get isSubscribed(): boolean;
  /** The client's own user only; another's rejects with 20403. */
  updateAttributes(attributes: JSONValue): Promise<User>;
  /** The client's own user only; another's rejects with 20403. */
  updateFriendlyName(friendlyName: string): Promise<User>;
  unsubscribe(): Promise<void>;
}

// ---- Participant ----

/** What changed in a participant. */
export type ParticipantUpdateReason = "attributes" | "dateCreated" | "dateUpdated" | "roleSid" | "lastReadMessageIndex" | "lastReadTimestamp" | "bindings";
/** `chat` for Confab's own; others are made by the app backend over REST. */
export type ParticipantType = "chat" | "sms" | "whatsapp" | "email" | string;
/** `updated`'s payload. */
export interface ParticipantUpdatedEventArgs {
  participant: Participant;
  updateReasons: ParticipantUpdateReason[];
}
/** An email binding. */
export interface ParticipantEmailBinding {
  name: string;
  address: string;
  level: "to" | "cc";
}
/** A participant's bindings. */
export interface ParticipantBindings {
  email?: ParticipantEmailBinding;
}
/** A participant's events. */
export type ParticipantEvents = {
  typingEnded: (participant: Participant) => void;
  typingStarted: (participant: Participant) => void;
  updated: (data: { participant: Participant; updateReasons: ParticipantUpdateReason[] }) => void;
};

/** A participant of a conversation. */
export class Participant extends EventEmitter<ParticipantEvents> {
  private constructor();
  static readonly typingStarted: "typingStarted";
  static readonly typingEnded: "typingEnded";
  static readonly updated: "updated";
  readonly conversation: Conversation;
  get sid(): string;
  get attributes(): JSONValue;
  get dateCreated(): Date | null;
  get dateUpdated(): Date | null;
  get identity(): string | null;
  get isTyping(): boolean;
  get lastReadMessageIndex(): number | null;
  get lastReadTimestamp(): Date | null;
  get roleSid(): string;
  get type(): ParticipantType;
  get bindings(): ParticipantBindings;
  getUser(): Promise<User>;
  remove(): Promise<void>;
  updateAttributes(attributes: JSONValue): Promise<Participant>;
}

/** A participant as the REST API gives it (`Conversation.add`'s result). */
export interface ParticipantResponse {
  account_sid: string;
  chat_service_sid: string;
  conversation_sid: string;
  role_sid: string;
  sid: string;
  attributes: string;
  date_created: string;
  date_updated: string;
  identity: string;
  messaging_binding: { type: "chat" | "sms" | "whatsapp" | "email"; address: string; proxy_address: string } | null;
  url: string;
  links: { conversation: string };
}

// ---- Message ----

/** What changed in a message. */
export type MessageUpdateReason = "body" | "lastUpdatedBy" | "dateCreated" | "dateUpdated" | "attributes" | "author" | "deliveryReceipt" | "subject" | "media";
/** `text` (media messages come with media support). */
export type MessageType = "text" | "media";
/** `updated`'s payload. */
export interface MessageUpdatedEventArgs {
  message: Message;
  updateReasons: MessageUpdateReason[];
}
/** A message's events. */
export type MessageEvents = {
  updated: (data: { message: Message; updateReasons: MessageUpdateReason[] }) => void;
};
/** A message of a conversation. */
export class Message extends EventEmitter<MessageEvents> {
  private constructor();
  static readonly updated: "updated";
  readonly conversation: Conversation;
  get sid(): string;
  get author(): string | null;
  /** Always null: Confab has no email. */
  get subject(): string | null;
  get body(): string | null;
  get dateUpdated(): Date | null;
  get index(): number;
  /** Always null: Confab does not keep who changed a message last. */
  get lastUpdatedBy(): string | null;
  get dateCreated(): Date | null;
  get attributes(): JSONValue;
  get type(): MessageType;
  get participantSid(): string | null;
  getParticipant(): Promise<Participant>;
  remove(): Promise<Message>;
  updateBody(body: string): Promise<Message>;
  updateAttributes(attributes: JSONValue): Promise<Message>;
  /** Always null: messages come from chat only. */
  getChannelMetadata(): Promise<null>;
  /** Always empty: Confab has no email. */
  getMessageRecipients(): Promise<never[]>;
  /** The first attachment, or null. */
  get media(): Media | null;
  /** Its attachments (category `media`), in order; empty for a text message. */
  get attachedMedia(): Array<Media> | null;
  getMediaByCategory(categories: Array<MediaCategory>): Array<Media> | null;
  getMediaByCategories(categories: MediaCategory[]): Media[] | null;
  /** The email body of `type` (default `text/plain`) it carries, if any. */
  getEmailBody(type?: string): Media | null;
  /** The email history of `type` (default `text/plain`) it carries, if any. */
  getEmailHistory(type?: string): Media | null;
  attachTemporaryUrlsFor(contentSet: Media[] | null): Promise<Media[]>;
  getTemporaryContentUrlsForMedia(contentSet: Media[]): CancellablePromise<Map<string, string>>;
  getTemporaryContentUrlsForMediaSids(mediaSids: string[]): CancellablePromise<Map<string, string>>;
  getTemporaryContentUrlsForAttachedMedia(): CancellablePromise<Map<string, string>>;
}

/** What a file is for: an attachment, or an email's body or history. */
export type MediaCategory = "media" | "body" | "history";

/** A file a message carries. */
export class Media {
  private constructor();
  get sid(): string;
  get filename(): string | null;
  get contentType(): string;
  get size(): number;
  get category(): MediaCategory;
  /** A URL the content can be read from for a few minutes (a new one each call). */
  getContentTemporaryUrl(): CancellablePromise<string | null>;
}

/** A file to attach. */
export interface SendMediaOptions {
  contentType: null | string;
  filename?: string;
  media: null | string | Uint8Array | Blob;
  /** Confab's own: called as the upload goes, with the bytes sent and the total (in a page;
   * elsewhere once, at the end). */
  onProgress?: (sent: number, total: number | null) => void;
}

/** What one message may carry (the server's media limits). */
export interface ConversationLimits {
  mediaAttachmentsCountLimit: number;
  mediaAttachmentSizeLimitInMb: number;
  mediaAttachmentsTotalSizeLimitInMb: number;
  emailHistoriesAllowedContentTypes: string[];
  emailBodiesAllowedContentTypes: string[];
}

/** Email options: Confab has no email, so `subject` is refused. */
export interface SendEmailOptions {
  subject?: string;
}

/** A message being put together. */
export class UnsentMessage {
  private constructor();
  text?: string;
  attributes: JSONValue;
  emailOptions: SendEmailOptions;
  /** Files to upload and attach when it is sent, in order. */
  mediaContent: [MediaCategory, FormData | SendMediaOptions][];
  /** Uploads its files, then sends it; resolves with the new message's index. */
  send(): CancellablePromise<number | null>;
}

/** Builds a message. */
export class MessageBuilder {
  private constructor();
  setBody(text: string): MessageBuilder;
  /** Email subjects are refused on send (20011). */
  setSubject(subject: string): MessageBuilder;
  setAttributes(attributes: JSONValue): MessageBuilder;
  /** Adds a file, uploaded when the message is sent. */
  addMedia(payload: FormData | SendMediaOptions): MessageBuilder;
  setEmailBody(contentType: string, body: FormData | SendMediaOptions): MessageBuilder;
  setEmailHistory(contentType: string, history: FormData | SendMediaOptions): MessageBuilder;
  /** Throws (20001) for an email body or history of a type the limits do not list, or more
   * files than a message may carry. */
  build(): UnsentMessage;
  buildAndSend(): CancellablePromise<number | null>;
}

// ---- Conversation ----

/** What changed in a conversation. */
export type ConversationUpdateReason = "attributes" | "createdBy" | "dateCreated" | "dateUpdated" | "friendlyName" | "lastReadMessageIndex" | "state" | "status" | "uniqueName" | "lastMessage" | "notificationLevel" | "bindings";
/** Whether the client's user is a participant. */
export type ConversationStatus = "notParticipating" | "joined";
/** The user's notification level. */
export type NotificationLevel = "default" | "muted";
/** A conversation's state. */
export interface ConversationState {
  current: "active" | "inactive" | "closed";
  dateUpdated: Date;
}
/** `updated`'s payload. */
export interface ConversationUpdatedEventArgs {
  conversation: Conversation;
  updateReasons: ConversationUpdateReason[];
}
/** A conversation's bindings, as the app backend set them. */
export interface ConversationBindings {
  email?: { name?: string; projected_address: string };
  sms?: { address?: string };
}
/** The newest message. */
export interface LastMessage {
  index?: number;
  dateCreated?: Date;
}
/** A conversation's events. */
export type ConversationEvents = {
  participantJoined: (participant: Participant) => void;
  participantLeft: (participant: Participant) => void;
  participantUpdated: (data: { participant: Participant; updateReasons: ParticipantUpdateReason[] }) => void;
  messageAdded: (message: Message) => void;
  messageRemoved: (message: Message) => void;
  messageUpdated: (data: { message: Message; updateReasons: MessageUpdateReason[] }) => void;
  typingEnded: (participant: Participant) => void;
  typingStarted: (participant: Participant) => void;
  updated: (data: { conversation: Conversation; updateReasons: ConversationUpdateReason[] }) => void;
  removed: (conversation: Conversation) => void;
};

/** A conversation. */
export class Conversation extends EventEmitter<ConversationEvents> {
  private constructor();
  static readonly participantJoined: "participantJoined";
  static readonly participantLeft: "participantLeft";
  static readonly participantUpdated: "participantUpdated";
  static readonly messageAdded: "messageAdded";
  static readonly messageRemoved: "messageRemoved";
  static readonly messageUpdated: "messageUpdated";
  static readonly typingEnded: "typingEnded";
  static readonly typingStarted: "typingStarted";
  static readonly updated: "updated";
  static readonly removed: "removed";
  readonly sid: string;
  get uniqueName(): string | null;
  get status(): ConversationStatus;
  get friendlyName(): string | null;
  get dateUpdated(): Date | null;
  get dateCreated(): Date | null;
  get createdBy(): string;
  get attributes(): JSONValue;
  get lastReadMessageIndex(): number | null;
  get lastMessage(): LastMessage | undefined;
  get notificationLevel(): NotificationLevel;
  get bindings(): ConversationBindings;
  get state(): ConversationState | undefined;
  /** Adds a chat participant; resolves with it as the REST API gives it. */
  add(identity: string, attributes?: JSONValue): Promise<ParticipantResponse>;
  /** Refused (20011): non-chat participants are added by the app backend over REST. */
  addNonChatParticipant(proxyAddress: string, address: string, attributes?: JSONValue, bindingOptions?: { email?: ParticipantEmailBinding }): Promise<ParticipantResponse>;
  advanceLastReadMessageIndex(index: number): Promise<number>;
  delete(): Promise<Conversation>;
  getAttributes(): Promise<JSONValue>;
  /** Items oldest first; `prevPage` is older, `nextPage` newer. */
  getMessages(pageSize?: number, anchor?: number, direction?: "backwards" | "forward"): Promise<Paginator<Message>>;
  getParticipants(): Promise<Participant[]>;
  getParticipantsCount(): Promise<number>;
  getParticipantBySid(participantSid: string): Promise<Participant | null>;
  getParticipantByIdentity(identity?: string | null): Promise<Participant | null>;
  getMessagesCount(): Promise<number>;
  getUnreadMessagesCount(): Promise<number | null>;
  join(): Promise<Conversation>;
  leave(): Promise<Conversation>;
  removeParticipant(participant: string | Participant): Promise<void>;
  /** What one message may carry (from the server once connected). */
  get limits(): ConversationLimits;
  /** Sends text, or a file (`FormData` holding it, or `SendMediaOptions`), uploaded first;
   * resolves with the new message's index. */
  sendMessage(message: null | string | FormData | SendMediaOptions, messageAttributes?: JSONValue, emailOptions?: SendEmailOptions): Promise<number>;
  prepareMessage(): MessageBuilder;
  setAllMessagesRead(): Promise<number>;
  setAllMessagesUnread(): Promise<number>;
  setUserNotificationLevel(notificationLevel: NotificationLevel): Promise<void>;
  typing(): Promise<void>;
  updateAttributes(attributes: JSONValue): Promise<Conversation>;
  updateFriendlyName(friendlyName: string): Promise<Conversation>;
  updateLastReadMessageIndex(index: number | null): Promise<number>;
  updateUniqueName(uniqueName: string | null): Promise<Conversation>;
  /** Always an empty page: Confab has no email. */
  getMessageRecipients(options?: { pageSize?: number }): Promise<Paginator<never>>;
}

// ---- Client ----

/** The client's events. */
export type ClientEvents = {
  conversationAdded: (conversation: Conversation) => void;
  conversationJoined: (conversation: Conversation) => void;
  conversationLeft: (conversation: Conversation) => void;
  conversationRemoved: (conversation: Conversation) => void;
  conversationUpdated: (data: { conversation: Conversation; updateReasons: ConversationUpdateReason[] }) => void;
  participantJoined: (participant: Participant) => void;
  participantLeft: (participant: Participant) => void;
  participantUpdated: (data: { participant: Participant; updateReasons: ParticipantUpdateReason[] }) => void;
  messageAdded: (message: Message) => void;
  messageRemoved: (message: Message) => void;
  messageUpdated: (data: { message: Message; updateReasons: MessageUpdateReason[] }) => void;
  /** Confab adds the time left (ms) as an argument. */
  tokenAboutToExpire: (remainingMs?: number) => void;
  tokenExpired: () => void;
  typingEnded: (participant: Participant) => void;
  typingStarted: (participant: Participant) => void;
  userSubscribed: (user: User) => void;
  userUnsubscribed: (user: User) => void;
  userUpdated: (data: { user: User; updateReasons: UserUpdateReason[] }) => void;
  stateChanged: (state: State) => void;
  initialized: () => void;
  initFailed: ({ error }: { error?: ConnectionError }) => void;
  connectionStateChanged: (state: ConnectionState) => void;
  connectionError: (data: ConnectionError) => void;
};

/** `createConversation`'s options. */
export interface CreateConversationOptions {
  attributes?: JSONValue;
  friendlyName?: string;
  uniqueName?: string;
  /** Accepted and ignored. */
  access?: string;
}

/** A Confab client. */
export class Client extends EventEmitter<ClientEvents> {
  static readonly conversationAdded: "conversationAdded";
  static readonly conversationJoined: "conversationJoined";
  static readonly conversationLeft: "conversationLeft";
  static readonly conversationRemoved: "conversationRemoved";
  static readonly conversationUpdated: "conversationUpdated";
  static readonly participantJoined: "participantJoined";
  static readonly participantLeft: "participantLeft";
  static readonly participantUpdated: "participantUpdated";
  static readonly messageAdded: "messageAdded";
  static readonly messageRemoved: "messageRemoved";
  static readonly messageUpdated: "messageUpdated";
  static readonly tokenAboutToExpire: "tokenAboutToExpire";
  static readonly tokenExpired: "tokenExpired";
  static readonly typingEnded: "typingEnded";
  static readonly typingStarted: "typingStarted";
  static readonly userSubscribed: "userSubscribed";
  static readonly userUnsubscribed: "userUnsubscribed";
  static readonly userUpdated: "userUpdated";
  static readonly stateChanged: "stateChanged";
  static readonly initialized: "initialized";
  static readonly initFailed: "initFailed";
  static readonly connectionStateChanged: "connectionStateChanged";
  static readonly connectionError: "connectionError";
  static readonly version: string;
  /** Resolves once initialized; rejects if initialization fails. */
  static create(token: string, options?: ClientOptions | null): Promise<Client>;
  /** Starts connecting at once. Outside a browser `options.url` is required. */
  constructor(token: string, options?: ClientOptions | null);
  readonly version: string;
  connectionState: ConnectionState;
  /** `initialized` | `failed` once decided (Confab's own). */
  readonly state: State | undefined;
  get user(): User;
  get reachabilityEnabled(): boolean;
  get token(): string;
  shutdown(): Promise<void>;
  updateToken(token: string): Promise<Client>;
  getConversationBySid(conversationSid: string): Promise<Conversation>;
  /** Confab shows a conversation only to its participants: another rejects with 20403. */
  peekConversationBySid(conversationSid: string): Promise<Conversation>;
  getConversationByUniqueName(uniqueName: string): Promise<Conversation>;
  /** `pageSize` is Confab's addition (1 to 50, default 50). */
  getSubscribedConversations(pageSize?: number): Promise<Paginator<Conversation>>;
  createConversation(options?: CreateConversationOptions): Promise<Conversation>;
  getUser(identity: string): Promise<User>;
  getSubscribedUsers(): Promise<Array<User>>;
  /** Joins a conversation the user is not in, by SID or unique name (Confab's own). */
  joinConversation(conversation: string): Promise<Conversation>;
  /** Tries again now with a fresh reconnection window (Confab's own). */
  reconnect(): void;
  /** Calls a realtime method of docs/PROTOCOL.md (Confab's own). */
  request(method: string, params?: Record<string, unknown>): Promise<any>;
  /** Temporary content URLs of media by SID, at once. */
  getTemporaryContentUrlsForMediaSids(mediaSids: string[]): CancellablePromise<Map<string, string>>;
  getTemporaryContentUrlsForMedia(contentSet: Media[]): CancellablePromise<Map<string, string>>;
}

/** Each realtime method's name on the wire. */
export declare const Method: Readonly<Record<string, string>>;
/** This SDK's version. */
export declare const VERSION: string;
