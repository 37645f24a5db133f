//! The resources the server keeps, in the shape both doors expose them: the realtime protocol
//! sends these as they are (times as unix milliseconds); the REST API adds `account_sid`, `url`
//! and `links` and formats times as ISO 8601.

use serde::{Deserialize, Serialize};

use crate::sid::Sid;

/// Unix time in milliseconds.
pub type Millis = i64;

/// A conversation service: the tenant every conversation, user and role belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// `IS…`
    pub sid: Sid,
    /// Human-readable name.
    pub friendly_name: String,
    /// Creation time.
    pub date_created: Millis,
    /// Last change.
    pub date_updated: Millis,
}

/// Lifecycle state of a conversation, as the reference product names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationState {
    /// Being set up.
    Initializing,
    /// In use (the default).
    Active,
    /// Idle.
    Inactive,
    /// Closed for good.
    Closed,
}

impl ConversationState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Initializing => "initializing",
            ConversationState::Active => "active",
            ConversationState::Inactive => "inactive",
            ConversationState::Closed => "closed",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "initializing" => ConversationState::Initializing,
            "active" => ConversationState::Active,
            "inactive" => ConversationState::Inactive,
            "closed" => ConversationState::Closed,
            _ => return None,
        })
    }
}

/// When a conversation is due to go inactive or closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timers {
    /// Time the conversation becomes `inactive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_inactive: Option<Millis>,
    /// Time the conversation becomes `closed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_closed: Option<Millis>,
}

/// A conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// `CH…`
    pub sid: Sid,
    /// The service it belongs to.
    pub chat_service_sid: Sid,
    /// Messaging service, kept as given for compatibility.
    pub messaging_service_sid: Option<String>,
    /// Human-readable name.
    pub friendly_name: Option<String>,
    /// Application-chosen name, unique in the service.
    pub unique_name: Option<String>,
    /// JSON text; `{}` when unset.
    pub attributes: String,
    /// Lifecycle state.
    pub state: ConversationState,
    /// State timers.
    pub timers: Timers,
    /// Bindings (e.g. email defaults), kept as given.
    pub bindings: Option<serde_json::Value>,
    /// Creation time.
    pub date_created: Millis,
    /// Last change.
    pub date_updated: Millis,
}

/// A participant of a conversation: a chat identity or a messaging binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// `MB…`
    pub sid: Sid,
    /// The conversation.
    pub conversation_sid: Sid,
    /// Chat identity; `None` for a non-chat (SMS, WhatsApp) participant.
    pub identity: Option<String>,
    /// JSON text; `{}` when unset.
    pub attributes: String,
    /// Non-chat address, proxy address and the like.
    pub messaging_binding: Option<serde_json::Value>,
    /// Conversation-level role.
    pub role_sid: Option<Sid>,
    /// Index of the last message this participant has read.
    pub last_read_message_index: Option<i64>,
    /// When that read horizon was last set, ISO 8601 text as given.
    pub last_read_timestamp: Option<String>,
    /// Creation time.
    pub date_created: Millis,
    /// Last change.
    pub date_updated: Millis,
}

/// A message in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `IM…`
    pub sid: Sid,
    /// The conversation.
    pub conversation_sid: Sid,
    /// Gapless per-conversation position, from 0.
    pub index: i64,
    /// Author: the sender's identity, or what the app backend gave (default `system`).
    pub author: String,
    /// Text; `None` once removed from an event log.
    pub body: Option<String>,
    /// JSON text; `{}` when unset.
    pub attributes: String,
    /// The author's participant, when the author is one.
    pub participant_sid: Option<Sid>,
    /// Creation time.
    pub date_created: Millis,
    /// Last change.
    pub date_updated: Millis,
}
