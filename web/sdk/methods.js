// The realtime methods of `confab_protocol::method::METHODS`, made by
// `CONFAB_BLESS=1 cargo test -p confab-protocol --test methods_js`: do not edit.

/** Each method's name on the wire, by the name the SDK calls it by. */
export const Method = Object.freeze({
  /** Creates a conversation; the caller is not made a participant (`conversation.join`). */
  conversationCreate: "conversation.create",
  /** A conversation the caller participates in. */
  conversationGet: "conversation.get",
  /** Changes a conversation's friendly name, unique name or attributes. */
  conversationUpdate: "conversation.update",
  /** Deletes a conversation, its participants and messages. */
  conversationDelete: "conversation.delete",
  /** Makes the caller a participant. */
  conversationJoin: "conversation.join",
  /** Removes the caller from the conversation. */
  conversationLeave: "conversation.leave",
  /** The caller's conversations: by joining order (`asc`, `desc`) or by last activity (`recent`, newest first). */
  conversationsList: "conversations.list",
  /** One of the caller's conversations with its counts and the caller's participant. */
  conversationSummary: "conversation.summary",
  /** The caller's notification level in a conversation (`default` or `muted`). */
  conversationSetNotificationLevel: "conversation.setNotificationLevel",
  /** Tells the other participants that the caller is typing (never queued while offline). */
  conversationTyping: "conversation.typing",
  /** Sets the caller's read horizon to a message index. */
  conversationSetLastRead: "conversation.setLastRead",
  /** Moves the caller's read horizon forward to a message index (never back). */
  conversationAdvanceLastRead: "conversation.advanceLastRead",
  /** Marks every message read. */
  conversationSetAllRead: "conversation.setAllRead",
  /** Marks every message unread. */
  conversationSetAllUnread: "conversation.setAllUnread",
  /** Adds a chat participant by identity. */
  participantAdd: "participant.add",
  /** A participant, by SID or identity. */
  participantGet: "participant.get",
  /** Changes a participant's attributes. */
  participantUpdate: "participant.update",
  /** Removes a participant, by SID or identity. */
  participantRemove: "participant.remove",
  /** A conversation's participants, oldest first. */
  participantList: "participant.list",
  /** Sends a message as the caller. */
  messageSend: "message.send",
  /** A message, by SID. */
  messageGet: "message.get",
  /** Changes a message's body or attributes. */
  messageUpdate: "message.update",
  /** Removes a message (its text is scrubbed from the log). */
  messageRemove: "message.remove",
  /** A page of messages: by `pageToken` and `order`, or from an `anchor` in a `direction`. */
  messageList: "message.list",
  /** A user the caller may see (itself, or one it shares a conversation with), with reachability. */
  userGet: "user.get",
  /** Changes the caller's own friendly name or attributes. */
  userUpdate: "user.update",
  /** Renews the session's access token in place (same identity and service). */
  tokenUpdate: "token.update",
});
