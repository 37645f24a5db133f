//! The realtime methods, each declared once: its name on the wire, its params, its result,
//! whether it changes something (and so carries an `op_id`), and what it does.
//!
//! Both ends route from this table. The server reads a `req` into a [`Request`] (the method
//! and its typed params, or 20011 for a name not here) and answers with the method's
//! [`Method::Result`]; the client core sends an `op_id` exactly when [`Method::MUTATES`]; the
//! Rust SDK calls methods by type; the browser SDK's names come from `web/sdk/methods.js`,
//! which a test of this crate keeps equal to [`METHODS`].
//!
//! Params are JSON objects with camelCase keys (unknown keys are ignored); results are the
//! entities of [`crate::entity`] and the shapes below, with snake_case keys.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::entity::{Conversation, Message, NotificationLevel, Participant, User};

/// A realtime method.
pub trait Method {
    /// The name on the wire.
    const NAME: &'static str;
    /// Whether it changes something: a mutation carries an `op_id`, and a resend with the
    /// same `op_id` gets the first answer instead of acting twice.
    const MUTATES: bool;
    /// What it takes.
    type Params: Serialize + DeserializeOwned + Send + 'static;
    /// What it answers.
    type Result: Serialize + DeserializeOwned + Send + 'static;
}

/// A method as the table lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    /// The name on the wire.
    pub name: &'static str,
    /// Whether it changes something (see [`Method::MUTATES`]).
    pub mutates: bool,
    /// What it does.
    pub doc: &'static str,
}

/// The table's entry for `name`, if there is one.
pub fn info(name: &str) -> Option<&'static MethodInfo> {
    METHODS.iter().find(|m| m.name == name)
}

/// Why a `req` could not be read into a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// No method has this name (20011).
    Unknown(String),
    /// The params do not fit the method (20001), and why.
    Params(String),
}

fn parse<P: DeserializeOwned>(params: Value) -> Result<P, RequestError> {
    let params = if params.is_null() {
        Value::Object(Default::default())
    } else {
        params
    };
    serde_json::from_value(params).map_err(|e| RequestError::Params(format!("params: {e}")))
}

macro_rules! methods {
    ($(
        $(#[doc = $doc:literal])*
        $ty:ident = $name:literal, mutates: $mutates:literal, $params:ty => $result:ty;
    )*) => {
        $(
            $(#[doc = $doc])*
            #[derive(Debug)]
            pub enum $ty {}

            impl Method for $ty {
                const NAME: &'static str = $name;
                const MUTATES: bool = $mutates;
                type Params = $params;
                type Result = $result;
            }
        )*

        /// Every method, in the order of `docs/PROTOCOL.md`.
        pub const METHODS: &[MethodInfo] = &[
            $(MethodInfo { name: $name, mutates: $mutates, doc: concat!($($doc, "\n"),*) },)*
        ];

        /// A `req` as the server reads it: the method, with its params.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Request {
            $(
                $(#[doc = $doc])*
                $ty($params),
            )*
        }

        impl Request {
            /// Reads the params of the method called `name`.
            pub fn parse(name: &str, params: Value) -> Result<Request, RequestError> {
                match name {
                    $($name => parse(params).map(Request::$ty),)*
                    other => Err(RequestError::Unknown(other.to_owned())),
                }
            }

            /// The method's name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Request::$ty(_) => $name,)*
                }
            }

            /// Whether the method changes something.
            pub fn mutates(&self) -> bool {
                match self {
                    $(Request::$ty(_) => $mutates,)*
                }
            }
        }
    };
}

methods! {
    /// Creates a conversation; the caller is not made a participant (`conversation.join`).
    ConversationCreate = "conversation.create", mutates: true, ConversationFields => Conversation;
    /// A conversation the caller participates in.
    ConversationGet = "conversation.get", mutates: false, ConversationRef => Conversation;
    /// Changes a conversation's friendly name, unique name or attributes.
    ConversationUpdate = "conversation.update", mutates: true, ConversationUpdateParams => Conversation;
    /// Deletes a conversation, its participants and messages.
    ConversationDelete = "conversation.delete", mutates: true, ConversationRef => Empty;
    /// Makes the caller a participant.
    ConversationJoin = "conversation.join", mutates: true, ConversationRef => Participant;
    /// Removes the caller from the conversation.
    ConversationLeave = "conversation.leave", mutates: true, ConversationRef => Participant;
    /// The caller's conversations: by joining order (`asc`, `desc`) or by last activity
    /// (`recent`, newest first).
    ConversationsList = "conversations.list", mutates: false, ConversationPage => Page<JoinedConversation>;
    /// One of the caller's conversations with its counts and the caller's participant.
    ConversationSummary = "conversation.summary", mutates: false, ConversationRef => JoinedConversation;
    /// The caller's notification level in a conversation (`default` or `muted`).
    ConversationSetNotificationLevel = "conversation.setNotificationLevel", mutates: true, NotificationLevelParams => JoinedConversation;
    /// Tells the other participants that the caller is typing (never queued while offline).
    ConversationTyping = "conversation.typing", mutates: false, ConversationRef => Empty;
    /// Sets the caller's read horizon to a message index.
    ConversationSetLastRead = "conversation.setLastRead", mutates: true, ReadIndex => ReadState;
    /// Moves the caller's read horizon forward to a message index (never back).
    ConversationAdvanceLastRead = "conversation.advanceLastRead", mutates: true, ReadIndex => ReadState;
    /// Marks every message read.
    ConversationSetAllRead = "conversation.setAllRead", mutates: true, ConversationRef => ReadState;
    /// Marks every message unread.
    ConversationSetAllUnread = "conversation.setAllUnread", mutates: true, ConversationRef => ReadState;
    /// Adds a chat participant by identity.
    ParticipantAdd = "participant.add", mutates: true, ParticipantAddParams => Participant;
    /// A participant, by SID or identity.
    ParticipantGet = "participant.get", mutates: false, ParticipantRef => Participant;
    /// Changes a participant's attributes.
    ParticipantUpdate = "participant.update", mutates: true, ParticipantUpdateParams => Participant;
    /// Removes a participant, by SID or identity.
    ParticipantRemove = "participant.remove", mutates: true, ParticipantRef => Participant;
    /// A conversation's participants, oldest first.
    ParticipantList = "participant.list", mutates: false, ParticipantPage => Page<Participant>;
    /// Sends a message as the caller.
    MessageSend = "message.send", mutates: true, MessageSendParams => Message;
    /// A message, by SID.
    MessageGet = "message.get", mutates: false, MessageRef => Message;
    /// Changes a message's body or attributes.
    MessageUpdate = "message.update", mutates: true, MessageUpdateParams => Message;
    /// Removes a message (its text is scrubbed from the log).
    MessageRemove = "message.remove", mutates: true, MessageRef => Message;
    /// A page of messages: by `pageToken` and `order`, or from an `anchor` in a `direction`.
    MessageList = "message.list", mutates: false, MessagePage => Page<Message>;
    /// A user the caller may see (itself, or one it shares a conversation with), with
    /// reachability.
    UserGet = "user.get", mutates: false, UserRef => OnlineUser;
    /// Changes the caller's own friendly name or attributes.
    UserUpdate = "user.update", mutates: true, UserUpdateParams => User;
    /// Renews the session's access token in place (same identity and service).
    TokenUpdate = "token.update", mutates: false, TokenParams => TokenRenewed;
}

/// No params, or no result: `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// A conversation, by SID or unique name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRef {
    /// SID or unique name.
    pub conversation: String,
}

/// `conversation.create`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConversationFields {
    /// A name to show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    /// A name to find it by, unique in the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    /// JSON attributes: any value (a string is taken as the JSON text it holds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Value>,
}

/// `conversation.update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationUpdateParams {
    /// SID or unique name.
    pub conversation: String,
    /// The new values; absent ones stay.
    #[serde(flatten)]
    pub fields: ConversationFields,
}

/// A page request of `conversations.list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConversationPage {
    /// Items per page (1 to 50, default 50; more reads as 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// From a page's `next_page_token` or `previous_page_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// `asc` (default) or `desc` by joining; `recent` by last activity, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

/// `conversation.setNotificationLevel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationLevelParams {
    /// SID or unique name.
    pub conversation: String,
    /// `default` or `muted`.
    pub level: String,
}

/// `conversation.setLastRead`, `conversation.advanceLastRead`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadIndex {
    /// SID or unique name.
    pub conversation: String,
    /// A message index.
    pub index: i64,
}

/// `participant.add`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantAddParams {
    /// SID or unique name.
    pub conversation: String,
    /// Whom to add.
    pub identity: String,
    /// JSON attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Value>,
}

/// A participant of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantRef {
    /// SID or unique name.
    pub conversation: String,
    /// Participant SID or identity.
    pub participant: String,
}

/// `participant.update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantUpdateParams {
    /// SID or unique name.
    pub conversation: String,
    /// Participant SID or identity.
    pub participant: String,
    /// JSON attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Value>,
}

/// A page request of `participant.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantPage {
    /// SID or unique name.
    pub conversation: String,
    /// Items per page (1 to 100, default 50; more reads as 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// From a page's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// Checked (`asc` or `desc`) but participants come oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

/// `message.send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSendParams {
    /// SID or unique name.
    pub conversation: String,
    /// The text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// JSON attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Value>,
    /// Uploads (`ME…`, from the media service) to attach, in order; with them the body may
    /// be left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<String>,
}

/// A message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRef {
    /// SID or unique name.
    pub conversation: String,
    /// Message SID.
    pub message: String,
}

/// `message.update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageUpdateParams {
    /// SID or unique name.
    pub conversation: String,
    /// Message SID.
    pub message: String,
    /// The new text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// New JSON attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Value>,
}

/// A page request of `message.list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    /// SID or unique name.
    pub conversation: String,
    /// Items per page (1 to 100, default 50; more reads as 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// From a page's tokens (with the same `order`, or the `direction` it stands for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// `asc` (default) or `desc`, by index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// A message index to page from (included), with `direction`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<i64>,
    /// `backwards` (the default: that message and older, newest first) or `forwards`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
}

/// `user.get`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserRef {
    /// Whom; absent: the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// `user.update`: at least one of the two.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserUpdateParams {
    /// A name to show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    /// JSON attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Value>,
}

/// `token.update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenParams {
    /// The new access token.
    pub token: String,
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `pageToken` for the next page; `null` on the last.
    pub next_page_token: Option<String>,
    /// Pass as `pageToken` for the previous page; `null` on the first.
    pub previous_page_token: Option<String>,
}

/// One of the caller's conversations, with its counts and the caller's participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinedConversation {
    /// The conversation.
    pub conversation: Conversation,
    /// The caller as its participant.
    pub participant: Participant,
    /// The newest message's index.
    pub last_message_index: Option<i64>,
    /// Messages after the caller's read horizon; `null` while it has none.
    pub unread_messages_count: Option<i64>,
    /// The caller's notification level.
    pub notification_level: NotificationLevel,
    /// Messages in the conversation.
    pub messages_count: i64,
    /// Participants in the conversation.
    pub participants_count: i64,
    /// The last message's time, or the caller's joining (unix ms).
    pub last_activity: i64,
}

/// The caller's read horizon after a read-horizon method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadState {
    /// The index read up to.
    pub last_read_message_index: Option<i64>,
    /// Messages after it; `null` while there is no horizon.
    pub unread_messages_count: Option<i64>,
}

/// A user, with whether it is connected now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnlineUser {
    /// The user.
    #[serde(flatten)]
    pub user: User,
    /// Whether it has a session open now (on any node).
    pub is_online: bool,
}

/// The answer to `token.update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRenewed {
    /// The new token's `exp`, unix milliseconds.
    pub token_expires_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_lookups_find_each() {
        let mut names: Vec<_> = METHODS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METHODS.len());
        for m in METHODS {
            assert_eq!(info(m.name), Some(m));
            assert!(!m.doc.is_empty(), "{} has no doc", m.name);
        }
        assert_eq!(info("conversation.teleport"), None);
    }

    #[test]
    fn requests_read_their_params_and_refuse_what_does_not_fit() {
        let r = Request::parse(
            "message.send",
            serde_json::json!({"conversation": "CH1", "body": "hi", "extra": 1}),
        )
        .unwrap();
        assert_eq!(r.name(), MessageSend::NAME);
        assert!(r.mutates());
        assert!(matches!(
            Request::parse("message.send", serde_json::json!({"body": "hi"})),
            Err(RequestError::Params(_))
        ));
        assert_eq!(
            Request::parse("user.get", Value::Null).unwrap(),
            Request::UserGet(UserRef::default())
        );
        assert_eq!(
            Request::parse("conversation.teleport", Value::Null),
            Err(RequestError::Unknown("conversation.teleport".into()))
        );
    }
}
