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
    /// Who created it: a user's identity, or `system` for an app backend.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Creation time.
    pub date_created: Millis,
    /// Last change.
    pub date_updated: Millis,
}

/// Whether a user hears about a conversation's new messages (push notifications).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationLevel {
    /// Notified (the default).
    #[default]
    Default,
    /// Not notified.
    Muted,
}

impl NotificationLevel {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationLevel::Default => "default",
            NotificationLevel::Muted => "muted",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "default" => Some(NotificationLevel::Default),
            "muted" => Some(NotificationLevel::Muted),
            _ => None,
        }
    }
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
    /// The participant's user's notification level for this conversation.
    #[serde(default)]
    pub notification_level: NotificationLevel,
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
    /// The files attached to it, in the order given; `None` for a text message. Absent from
    /// a frame when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Vec<MessageMedia>>,
}

/// A file attached to a message, as the message lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMedia {
    /// `ME…`
    pub sid: Sid,
    /// `media` (an attachment), `body` or `history` (an email's).
    pub category: String,
    /// Its MIME type, as the uploader said.
    pub content_type: String,
    /// Its file name, if the uploader gave one.
    pub filename: Option<String>,
    /// Its size in bytes.
    pub size: i64,
}

/// An uploaded file: the record of its bytes, attached to one message or waiting to be (until
/// it expires, or its message goes, and it is swept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// `ME…`
    pub sid: Sid,
    /// The service it belongs to.
    pub service_sid: Sid,
    /// The conversation of its message, once attached.
    pub conversation_sid: Option<Sid>,
    /// Its message, once attached.
    pub message_sid: Option<Sid>,
    /// Who uploaded it: an identity, or the empty string for the app backend (shown as
    /// `system`).
    pub author: String,
    /// `media`, `body` or `history`.
    pub category: String,
    /// Its MIME type, as the uploader said.
    pub content_type: String,
    /// Its file name, if the uploader gave one.
    pub filename: Option<String>,
    /// Its size in bytes.
    pub size: i64,
    /// Upload time.
    pub date_created: Millis,
    /// Last change (its attaching).
    pub date_updated: Millis,
}

impl Media {
    /// How its message lists it.
    pub fn listed(&self) -> MessageMedia {
        MessageMedia {
            sid: self.sid.clone(),
            category: self.category.clone(),
            content_type: self.content_type.clone(),
            filename: self.filename.clone(),
            size: self.size,
        }
    }
}

/// The scope of a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleType {
    /// Assigned to users: what they may do in the service.
    Service,
    /// Assigned to participants: what they may do in a conversation.
    Conversation,
}

impl RoleType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleType::Service => "service",
            RoleType::Conversation => "conversation",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "service" => Some(RoleType::Service),
            "conversation" => Some(RoleType::Conversation),
            _ => None,
        }
    }
}

/// A role: a named list of permissions in one scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// `RL…`
    pub sid: Sid,
    /// The service.
    pub chat_service_sid: Sid,
    /// Name, at most 64 characters.
    pub friendly_name: String,
    /// Scope.
    #[serde(rename = "type")]
    pub role_type: RoleType,
    /// Permission names.
    pub permissions: Vec<String>,
    /// Creation time.
    pub date_created: Millis,
    /// Last change.
    pub date_updated: Millis,
}

/// A user of a service, identified by its identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// `US…`
    pub sid: Sid,
    /// The service.
    pub chat_service_sid: Sid,
    /// The identity its access tokens carry.
    pub identity: String,
    /// Display name.
    pub friendly_name: Option<String>,
    /// JSON text; `{}` when unset.
    pub attributes: String,
    /// Service-level role.
    pub role_sid: Option<Sid>,
    /// Creation time.
    pub date_created: Millis,
    /// Last change.
    pub date_updated: Millis,
}
