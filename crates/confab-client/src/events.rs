//! The one enum of everything an app hears from its client.

use std::time::Duration;

use confab_client_core::{ClientState, ConnectionState, Output};
use confab_protocol::entity::{Conversation, Message, Participant};
use confab_protocol::event::{EventBody, Horizon, Membership, Typing, UserInfo};
use confab_protocol::sid::Sid;

/// What happened. Conversation events arrive exactly once and in order per conversation,
/// across any number of reconnects.
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
    /// `conversationAdded`: one of the user's conversations, from its listing (the first page
    /// before `Initialized`, the rest a page at a time after it).
    ConversationAdded(Box<Conversation>),
    /// `conversationUpdated`.
    ConversationUpdated(Box<Conversation>),
    /// `conversationJoined`: the user became a participant.
    ConversationJoined(Box<Membership>),
    /// `conversationLeft`: the user stopped being a participant.
    ConversationLeft(Box<Membership>),
    /// `conversationRemoved`: a conversation of the user's was deleted.
    ConversationRemoved(Box<Membership>),
    /// `conversationReset`: the client was away longer than the server keeps events; reload
    /// the conversation (its later events follow).
    ConversationReset {
        /// The conversation.
        conversation: Sid,
        /// Events after this `seq` follow.
        seq: i64,
    },
    /// `messageAdded`.
    MessageAdded(Box<Message>),
    /// `messageUpdated`.
    MessageUpdated(Box<Message>),
    /// `messageRemoved`.
    MessageRemoved(Box<Message>),
    /// `participantJoined`.
    ParticipantJoined(Box<Participant>),
    /// `participantUpdated`.
    ParticipantUpdated(Box<Participant>),
    /// `participantLeft`.
    ParticipantLeft(Box<Participant>),
    /// `typingStarted`: another participant is typing.
    TypingStarted(Box<Typing>),
    /// `typingEnded`: it stopped (sent its message, or the typing timeout passed).
    TypingEnded(Box<Typing>),
    /// A participant's read horizon moved (this user's own too, from its other devices).
    ReadHorizon(Box<Horizon>),
    /// `userUpdated`: a user sharing a conversation came online, went offline, or changed its
    /// friendly name or attributes.
    UserUpdated(Box<UserInfo>),
}

impl ClientEvent {
    /// The conversation an event is about; `None` for client-wide events (states, tokens,
    /// `UserUpdated`, which concerns a user whatever conversations it shares).
    pub fn conversation_sid(&self) -> Option<&Sid> {
        Some(match self {
            ClientEvent::ConversationAdded(c) | ClientEvent::ConversationUpdated(c) => &c.sid,
            ClientEvent::ConversationJoined(m)
            | ClientEvent::ConversationLeft(m)
            | ClientEvent::ConversationRemoved(m) => &m.conversation_sid,
            ClientEvent::ConversationReset { conversation, .. } => conversation,
            ClientEvent::MessageAdded(m)
            | ClientEvent::MessageUpdated(m)
            | ClientEvent::MessageRemoved(m) => &m.conversation_sid,
            ClientEvent::ParticipantJoined(p)
            | ClientEvent::ParticipantUpdated(p)
            | ClientEvent::ParticipantLeft(p) => &p.conversation_sid,
            ClientEvent::TypingStarted(t) | ClientEvent::TypingEnded(t) => &t.conversation_sid,
            ClientEvent::ReadHorizon(h) => &h.conversation_sid,
            ClientEvent::StateChanged(_)
            | ClientEvent::ConnectionStateChanged(_)
            | ClientEvent::ConnectionError { .. }
            | ClientEvent::TokenAboutToExpire { .. }
            | ClientEvent::TokenExpired
            | ClientEvent::UserUpdated(_) => return None,
        })
    }

    /// The app-facing event for a core output; `None` for outputs the driver handles itself.
    pub(crate) fn from_output(o: Output) -> Option<ClientEvent> {
        Some(match o {
            Output::StateChanged(s) => ClientEvent::StateChanged(s),
            Output::ConnectionStateChanged(s) => ClientEvent::ConnectionStateChanged(s),
            Output::ConnectionError {
                terminal,
                code,
                message,
            } => ClientEvent::ConnectionError {
                terminal,
                code,
                message,
            },
            Output::TokenAboutToExpire { remaining_ms } => ClientEvent::TokenAboutToExpire {
                remaining: Duration::from_millis(remaining_ms),
            },
            Output::TokenExpired => ClientEvent::TokenExpired,
            Output::ConversationAdded(j) => {
                ClientEvent::ConversationAdded(Box::new(j.conversation))
            }
            Output::Event(e) => {
                let stream = e.stream;
                match e.body {
                    EventBody::ConversationAdded(c) => ClientEvent::ConversationAdded(Box::new(c)),
                    EventBody::ConversationUpdated(c) => {
                        ClientEvent::ConversationUpdated(Box::new(c))
                    }
                    EventBody::ParticipantJoined(p) => ClientEvent::ParticipantJoined(Box::new(p)),
                    EventBody::ParticipantUpdated(p) => {
                        ClientEvent::ParticipantUpdated(Box::new(p))
                    }
                    EventBody::ParticipantLeft(p) => ClientEvent::ParticipantLeft(Box::new(p)),
                    EventBody::MessageAdded(m) => ClientEvent::MessageAdded(Box::new(m)),
                    EventBody::MessageUpdated(m) => ClientEvent::MessageUpdated(Box::new(m)),
                    EventBody::MessageRemoved(m) => ClientEvent::MessageRemoved(Box::new(m)),
                    EventBody::ConversationJoined(m) => {
                        ClientEvent::ConversationJoined(Box::new(m))
                    }
                    EventBody::ConversationLeft(m) => ClientEvent::ConversationLeft(Box::new(m)),
                    EventBody::ConversationRemoved(m) => {
                        ClientEvent::ConversationRemoved(Box::new(m))
                    }
                    EventBody::ConversationReset(r) => ClientEvent::ConversationReset {
                        conversation: Sid::from_trusted(stream),
                        seq: r.seq,
                    },
                    EventBody::TypingStarted(t) => ClientEvent::TypingStarted(Box::new(t)),
                    EventBody::TypingEnded(t) => ClientEvent::TypingEnded(Box::new(t)),
                    EventBody::ReadHorizon(h) => ClientEvent::ReadHorizon(Box::new(h)),
                    EventBody::UserUpdated(u) => ClientEvent::UserUpdated(Box::new(u)),
                }
            }
            Output::Response { .. } => return None,
        })
    }
}
