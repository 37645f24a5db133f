// Confab's SDK against the reference's own declarations (`@twilio/conversations` 3.0.1, a
// types-only dev dependency: never bundled, never shipped). `tsc -p tsconfig.twilio.json`
// fails when a Confab class lacks a member of the reference's, or has one of another type,
// or when an event's payload differs, unless the member is listed below as an exception
// with the issue that removes it. An exception that no longer fails fails too, so the lists
// only shrink.

import type * as T from "@twilio/conversations";
import type { EventEmitter as NodeEmitter } from "node:events";
import type * as C from "../sdk/confab.js";

// ---- the exceptions: members that need what later issues bring ----

type ClientExceptions =
  | "setPushRegistrationId" // push, issue 25
  | "unsetPushRegistrationId" // push, issue 25
  | "removePushRegistrations" // push, issue 25
  | "handlePushNotification" // push, issue 25
  | "parsePushNotification" // push, issue 25
  | "getContentTemplates"; // content templates: Confab has none, no issue plans them
type ClientStaticExceptions =
  | "pushNotification" // push, issue 25
  | "parsePushNotification" // push, issue 25
  | "populateInitRegistrations"; // push registrations, issue 25
type ClientEventExceptions = "pushNotification"; // push, issue 25
type ConversationExceptions = never;
type MessageExceptions =
  | "aggregatedDeliveryReceipt" // delivery receipts, issue 25
  | "getDetailedDeliveryReceipts" // delivery receipts, issue 25
  | "contentSid" // content templates
  | "getContentData"; // content templates
type MessageBuilderExceptions =
  | "setContentTemplate"; // content templates
type UnsentMessageExceptions = never;
type UserExceptions = "isNotifiable"; // push reachability, issue 25
type ParticipantExceptions = never;
type PaginatorExceptions = never;

// ---- the reference's types, with each of its classes read as the Confab class for it ----

type Tr<X> = X extends string | number | boolean | null | undefined | T.JSONObject | T.JSONArray
  ? X
  : X extends T.Client
  ? C.Client
  : X extends T.Conversation
    ? C.Conversation
    : X extends T.Message
      ? C.Message
      : X extends T.Media
      ? C.Media
    : X extends T.Participant
        ? C.Participant
        : X extends T.User
          ? C.User
          : X extends T.MessageBuilder
            ? C.MessageBuilder
            : X extends T.UnsentMessage
              ? C.UnsentMessage
              : X extends T.CancellablePromise<infer U>
                ? C.CancellablePromise<Tr<U>>
                : X extends Promise<infer U>
                  ? Promise<Tr<U>>
                  : X extends T.Paginator<infer U>
                    ? C.Paginator<Tr<U>>
                    : X extends Buffer
                      ? Uint8Array // Node's Buffer is one; the SDK's types do not need Node's
                    : X extends Date | Blob | FormData | Uint8Array
                      ? X
                      : X extends (...args: infer A) => infer R
                        ? (...args: TrAll<A>) => Tr<R>
                        : X extends object
                          ? { [K in keyof X]: Tr<X[K]> }
                          : X;
type TrAll<A> = { [K in keyof A]: Tr<A[K]> };

/** The members an app can use: not `_`-prefixed internals, not optional ones. */
type Api<X> = {
  [K in keyof X as K extends `_${string}` ? never : {} extends Pick<X, K> ? never : K]: X[K];
};
/** The emitter methods, checked per event below (their generic signatures cannot be
 * compared member by member), and `User.entityName`, a setter without a getter that the
 * reference sets on itself (an app cannot read it). */
type Emitter = keyof NodeEmitter | "addListenerWithReplay" | "onWithReplay" | "onceWithReplay" | "entityName";

/** Members of the reference's `Theirs` that Confab's `Ours` lacks or types otherwise. */
type Failing<Ours, Theirs> = {
  [K in Exclude<keyof Api<Theirs>, Emitter>]: K extends keyof Ours ? (Ours[K] extends Tr<Theirs[K]> ? never : K) : K;
}[Exclude<keyof Api<Theirs>, Emitter>];

/** `true` when exactly the `Allowed` members fail; else the members to look at. */
type Only<Fails, Allowed> = [Exclude<Fails, Allowed>] extends [never]
  ? [Exclude<Allowed, Fails>] extends [never]
    ? true
    : { exceptionNoLongerNeeded: Exclude<Allowed, Fails> }
  : { failing: Exclude<Fails, Allowed> };

export const client: Only<Failing<C.Client, T.Client>, ClientExceptions> = true;
export const conversation: Only<Failing<C.Conversation, T.Conversation>, ConversationExceptions> = true;
export const message: Only<Failing<C.Message, T.Message>, MessageExceptions> = true;
export const participant: Only<Failing<C.Participant, T.Participant>, ParticipantExceptions> = true;
export const user: Only<Failing<C.User, T.User>, UserExceptions> = true;
export const builder: Only<Failing<C.MessageBuilder, T.MessageBuilder>, MessageBuilderExceptions> = true;
export const unsent: Only<Failing<C.UnsentMessage, T.UnsentMessage>, UnsentMessageExceptions> = true;
export const media: Only<Failing<C.Media, T.Media>, never> = true;
export const paginator: Only<Failing<C.Paginator<C.Message>, T.Paginator<T.Message>>, PaginatorExceptions> = true;

// ---- statics and constructors ----

type Statics<X> = Exclude<keyof X, "prototype" | keyof typeof NodeEmitter>;
type FailingStatics<Ours, Theirs> = {
  [K in Statics<Theirs>]: K extends keyof Ours ? (Ours[K] extends Tr<Theirs[K]> ? never : K) : K;
}[Statics<Theirs>];

export const clientStatics: Only<FailingStatics<typeof C.Client, typeof T.Client>, ClientStaticExceptions> = true;
export const conversationStatics: Only<FailingStatics<typeof C.Conversation, typeof T.Conversation>, never> = true;
export const messageStatics: Only<FailingStatics<typeof C.Message, typeof T.Message>, never> = true;
export const participantStatics: Only<FailingStatics<typeof C.Participant, typeof T.Participant>, never> = true;

/** What a porting app passes to `new Client(...)` Confab takes. */
export const construct: ConstructorParameters<typeof T.Client> extends ConstructorParameters<typeof C.Client> ? true : false = true;

// ---- events: a listener written for the reference's payload listens to Confab's ----

/** An event's listener in Confab's map `M` (never for an event Confab lacks). */
type Ours<M, K> = M[K & keyof M];

// The reference's event maps are not exported: each is read from its class's `on`, by name
// (the generic `on` is instantiated per event).
declare const tClient: T.Client;
declare const tConversation: T.Conversation;
declare const tMessage: T.Message;
declare const tParticipant: T.Participant;
declare const tUser: T.User;
type ClientNames = Parameters<T.Client["on"]>[0];
type ConversationNames = Parameters<T.Conversation["on"]>[0];
type MessageNames = Parameters<T.Message["on"]>[0];
type ParticipantNames = Parameters<T.Participant["on"]>[0];
type UserNames = Parameters<T.User["on"]>[0];

export const clientEvents: Only<
  { [K in ClientNames]: Tr<Parameters<typeof tClient.on<K>>[1]> extends Ours<C.ClientEvents, K> ? never : K }[ClientNames],
  ClientEventExceptions
> = true;
export const conversationEvents: Only<
  { [K in ConversationNames]: Tr<Parameters<typeof tConversation.on<K>>[1]> extends Ours<C.ConversationEvents, K> ? never : K }[ConversationNames],
  never
> = true;
export const messageEvents: Only<
  { [K in MessageNames]: Tr<Parameters<typeof tMessage.on<K>>[1]> extends Ours<C.MessageEvents, K> ? never : K }[MessageNames],
  never
> = true;
export const participantEvents: Only<
  { [K in ParticipantNames]: Tr<Parameters<typeof tParticipant.on<K>>[1]> extends Ours<C.ParticipantEvents, K> ? never : K }[ParticipantNames],
  never
> = true;
export const userEvents: Only<
  { [K in UserNames]: Tr<Parameters<typeof tUser.on<K>>[1]> extends Ours<C.UserEvents, K> ? never : K }[UserNames],
  never
> = true;

/** Each Confab class emits its own map's events. */
declare const cClient: C.Client;
export const emitsItsMap: Parameters<typeof cClient.on<"conversationUpdated">>[1] extends C.ClientEvents["conversationUpdated"] ? true : false = true;

/** The event names were read: an empty list would pass every check above. */
export const eventNamesRead: [ClientNames] extends [never] ? false : "conversationUpdated" extends ClientNames ? true : false = true;

// ---- the exported names: every one of the reference's classes an app constructs or
// compares against has a Confab export of the same name ----

type Exported = "Client" | "Conversation" | "Message" | "Participant" | "User" | "MessageBuilder" | "UnsentMessage" | "CancellablePromise";
export const exported: Exclude<Exported, keyof typeof import("../sdk/confab.js")> extends never ? true : false = true;
