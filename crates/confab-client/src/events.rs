//! The one enum of everything an app hears from its client.

use std::time::Duration;

use confab_client_core::{ClientState, ConnectionState};
use confab_protocol::sid::Sid;

use crate::conversation::ConversationHandle;
use crate::message::{MessageHandle, MessageUpdateReason};
use crate::participant::{ParticipantHandle, ParticipantUpdateReason};
use crate::snapshot::ConversationUpdateReason;
use crate::user::{UserHandle, UserUpdateReason};

/// What happened. Conversation events arrive exactly once and in order per conversation,
/// across any number of reconnects. They carry handles on the client's one object per
/// entity, already updated: reading the handle tells the state after the event.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// `stateChanged`: `Initialized` once connected with the first page loaded, or `Failed`.
    StateChanged(ClientState),
    /// `connectionStateChanged`.
    ConnectionStateChanged(ConnectionState),
    /// `connectionError`.
    ConnectionError {
        /// Whether the client stopped trying (a refused or expired token).
        terminal: bool,
        /// The numeric code.
        code: u32,
        /// What happened.
        message: String,
    },
    /// `tokenAboutToExpire`: renew with [`crate::Client::update_token`] now.
    TokenAboutToExpire {
        /// Time left.
        remaining: Duration,
    },
    /// `tokenExpired`.
    TokenExpired,
    /// `conversationAdded`: one of the user's conversations, once each: from its listing (the
    /// first page before `Initialized`, the rest a page at a time after it), or on joining.
    ConversationAdded(ConversationHandle),
    /// `conversationUpdated`: it changed, for these reasons (also when the user's read
    /// horizon, notification level or the last message moved).
    ConversationUpdated {
        /// The conversation.
        conversation: ConversationHandle,
        /// What changed.
        reasons: Vec<ConversationUpdateReason>,
    },
    /// `conversationJoined`: the user became a participant (after its `ConversationAdded`).
    ConversationJoined(ConversationHandle),
    /// `conversationLeft`: the user stopped being a participant (it left, was removed, or the
    /// conversation was deleted); `ConversationRemoved` follows.
    ConversationLeft(ConversationHandle),
    /// `conversationRemoved`: the conversation is no longer among the user's; its streams
    /// end.
    ConversationRemoved(ConversationHandle),
    /// `conversationReset`: the client was away longer than the server keeps events; reload
    /// the conversation (its later events follow).
    ConversationReset {
        /// The conversation.
        conversation: ConversationHandle,
        /// Events after this `seq` follow.
        seq: i64,
    },
    /// `messageAdded`.
    MessageAdded(MessageHandle),
    /// `messageUpdated`, with what changed (empty when the client had not held the message, or
    /// a page or lookup had already brought its new content).
    MessageUpdated {
        /// The message.
        message: MessageHandle,
        /// What changed.
        reasons: Vec<MessageUpdateReason>,
    },
    /// `messageRemoved`.
    MessageRemoved(MessageHandle),
    /// `participantJoined`.
    ParticipantJoined(ParticipantHandle),
    /// `participantUpdated`: it changed (its attributes, its read horizon, ...).
    ParticipantUpdated {
        /// The participant.
        participant: ParticipantHandle,
        /// What changed.
        reasons: Vec<ParticipantUpdateReason>,
    },
    /// `participantLeft`.
    ParticipantLeft(ParticipantHandle),
    /// `typingStarted`: another participant is typing.
    TypingStarted(ParticipantHandle),
    /// `typingEnded`: it stopped (sent its message, or the typing timeout passed).
    TypingEnded(ParticipantHandle),
    /// `userUpdated`: a user sharing a conversation came online, went offline, or changed its
    /// friendly name or attributes. For a user the client follows ([`crate::Client::user`])
    /// the handle is its one object and the reasons what changed; for another it is a new
    /// object each time and every reason is given (what changed is unknown).
    UserUpdated {
        /// The user.
        user: UserHandle,
        /// What changed.
        reasons: Vec<UserUpdateReason>,
    },
}

impl ClientEvent {
    /// The conversation an event is about; `None` for client-wide events (states, tokens,
    /// `UserUpdated`, which concerns a user whatever conversations it shares).
    pub fn conversation_sid(&self) -> Option<&Sid> {
        Some(match self {
            ClientEvent::ConversationAdded(c)
            | ClientEvent::ConversationUpdated {
                conversation: c, ..
            }
            | ClientEvent::ConversationJoined(c)
            | ClientEvent::ConversationLeft(c)
            | ClientEvent::ConversationRemoved(c)
            | ClientEvent::ConversationReset {
                conversation: c, ..
            } => c.sid(),
            ClientEvent::MessageAdded(m)
            | ClientEvent::MessageUpdated { message: m, .. }
            | ClientEvent::MessageRemoved(m) => m.conversation_sid(),
            ClientEvent::ParticipantJoined(p)
            | ClientEvent::ParticipantUpdated { participant: p, .. }
            | ClientEvent::ParticipantLeft(p)
            | ClientEvent::TypingStarted(p)
            | ClientEvent::TypingEnded(p) => p.conversation_sid(),
            ClientEvent::StateChanged(_)
            | ClientEvent::ConnectionStateChanged(_)
            | ClientEvent::ConnectionError { .. }
            | ClientEvent::TokenAboutToExpire { .. }
            | ClientEvent::TokenExpired
            | ClientEvent::UserUpdated { .. } => return None,
        })
    }
}
