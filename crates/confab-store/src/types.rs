use std::sync::Arc;

use confab_protocol::entity::{
    Conversation, ConversationState, Millis, NotificationLevel, Participant, Role, Service, Timers,
    User,
};
use confab_protocol::sid::Sid;

/// The account-wide configuration (`/v1/Configuration`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    /// The service that unscoped paths and tokens without a service use.
    pub default_chat_service_sid: Sid,
    /// Kept as given, for compatibility.
    pub default_messaging_service_sid: Option<String>,
    /// ISO 8601 duration, kept as given.
    pub default_inactive_timer: Option<String>,
    /// ISO 8601 duration, kept as given.
    pub default_closed_timer: Option<String>,
}

/// Changes to the configuration; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigurationUpdate {
    /// New default service (must exist).
    pub default_chat_service_sid: Option<String>,
    /// New default messaging service.
    pub default_messaging_service_sid: Option<String>,
    /// New default inactive timer.
    pub default_inactive_timer: Option<String>,
    /// New default closed timer.
    pub default_closed_timer: Option<String>,
}

/// A stream of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Stream {
    /// A conversation's log.
    Conversation(Sid),
    /// An identity's membership log within a service.
    User {
        /// The service.
        service: Sid,
        /// The identity.
        identity: String,
    },
}

/// An event as committed: its stream, its `seq` there, and the encoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// Where it was logged.
    pub stream: Stream,
    /// Its sequence number in that stream.
    pub seq: i64,
    /// The encoded frame, shared among all recipients.
    pub frame: Arc<[u8]>,
}

/// A row read back from a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Sequence number.
    pub seq: i64,
    /// The encoded frame.
    pub frame: Arc<[u8]>,
}

/// The result of a committed write: the resource as stored, and the events written with it,
/// in the order they were logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed<T> {
    /// The resource after the change.
    pub value: T,
    /// The events of the same transaction.
    pub events: Vec<LogEvent>,
}

impl<T> Committed<T> {
    /// A write that logged one event.
    pub fn one(value: T, event: LogEvent) -> Committed<T> {
        Committed {
            value,
            events: vec![event],
        }
    }
}

/// Count limits the store enforces inside the transaction, where counting is race-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountLimits {
    /// Participants per conversation.
    pub participants_per_conversation: u32,
    /// Conversations per identity.
    pub conversations_per_identity: u32,
}

/// Filters of the conversation list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    /// Created at or after.
    pub start: Option<Millis>,
    /// Created before.
    pub end: Option<Millis>,
    /// In this state.
    pub state: Option<ConversationState>,
}

/// A participant to add, with the SID its user gets if this is the identity's first
/// appearance in the service (users are created on first use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParticipant {
    /// The participant as it will be stored.
    pub participant: confab_protocol::entity::Participant,
    /// `US…` for a user created by this addition.
    pub user_sid: Sid,
}

/// A message to add. The store assigns `index` and `participant_sid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// `IM…`, chosen by the caller.
    pub sid: Sid,
    /// The conversation: its SID or unique name, resolved inside the write transaction.
    pub conversation: String,
    /// Author.
    pub author: String,
    /// Text.
    pub body: Option<String>,
    /// JSON text.
    pub attributes: String,
    /// Creation time.
    pub date_created: Millis,
    /// Last change time.
    pub date_updated: Millis,
    /// The client's idempotency key: a second message with the same (conversation, author,
    /// op_id) returns the first instead of adding another.
    pub op_id: Option<String>,
    /// The author must be a participant (a user's own message): checked inside the write, so
    /// that a permission checked a moment before cannot outlive the membership it rests on.
    /// Without one the write fails with [`crate::StoreError::NotParticipant`].
    pub participant_only: bool,
    /// Uploaded media (`ME…`) the message takes, in order: each must be unattached, neither
    /// expired by `now` nor condemned, and the author's own upload when `participant_only`;
    /// checked inside the write, so two messages never take the same file.
    pub media: Vec<Sid>,
    /// The time of the write, which uploads' expiry is read against (not `date_created`, which
    /// an app backend may set to any date).
    pub now: Millis,
}

/// An upload to record ([`crate::Store::add_media`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMedia {
    /// `ME…`, chosen by the caller, who stores the bytes under it.
    pub sid: Sid,
    /// Who uploaded it.
    pub author: String,
    /// `media`, `body` or `history`.
    pub category: String,
    /// Its MIME type, as the uploader said.
    pub content_type: String,
    /// Its file name, if given.
    pub filename: Option<String>,
    /// Its size in bytes.
    pub size: i64,
    /// Upload time.
    pub date_created: Millis,
    /// If no message has taken it by then, it is swept (record and bytes).
    pub expires: Millis,
}

/// A media file whose bytes are to go ([`crate::Store::condemn_media`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweptMedia {
    /// Its service.
    pub service_sid: Sid,
    /// `ME…`
    pub sid: Sid,
}

/// Changes to a conversation; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationPatch {
    /// Friendly name.
    pub friendly_name: Option<Option<String>>,
    /// Unique name (must stay unique in the service).
    pub unique_name: Option<Option<String>>,
    /// Attributes JSON.
    pub attributes: Option<String>,
    /// State.
    pub state: Option<ConversationState>,
    /// Timers to set; a timer left `None` keeps its value.
    pub timers: Option<Timers>,
    /// Messaging service.
    pub messaging_service_sid: Option<String>,
    /// Bindings to merge, per channel and field.
    pub bindings: Option<serde_json::Value>,
    /// Creation time override.
    pub date_created: Option<Millis>,
    /// Time of this change.
    pub date_updated: Millis,
}

/// Changes to a participant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParticipantPatch {
    /// Attributes JSON.
    pub attributes: Option<String>,
    /// Role.
    pub role_sid: Option<Sid>,
    /// Messaging binding fields to merge.
    pub messaging_binding: Option<serde_json::Value>,
    /// Read horizon; `Some(None)` clears it.
    pub last_read_message_index: Option<Option<i64>>,
    /// Read timestamp.
    pub last_read_timestamp: Option<String>,
    /// The user's notification level for the conversation.
    pub notification_level: Option<NotificationLevel>,
    /// Creation time override.
    pub date_created: Option<Millis>,
    /// Time of this change.
    pub date_updated: Millis,
}

/// Changes to a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessagePatch {
    /// Body.
    pub body: Option<String>,
    /// Attributes JSON.
    pub attributes: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// Creation time override.
    pub date_created: Option<Millis>,
    /// Time of this change.
    pub date_updated: Millis,
}

/// The four roles every service starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultRoles {
    /// Service scope, for administrators.
    pub service_admin: Role,
    /// Service scope, given to every user by default.
    pub service_user: Role,
    /// Conversation scope, given to a conversation's creator.
    pub conversation_admin: Role,
    /// Conversation scope, given to every participant by default.
    pub conversation_user: Role,
}

/// A service to create, with its default roles (which become its configuration's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewService {
    /// The service.
    pub service: Service,
    /// Its default roles.
    pub roles: DefaultRoles,
}

/// A service's configuration (`/v1/Services/{ChatServiceSid}/Configuration`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfiguration {
    /// The service.
    pub chat_service_sid: Sid,
    /// Conversation role given to a conversation's creator.
    pub default_conversation_creator_role_sid: Sid,
    /// Conversation role given to participants.
    pub default_conversation_role_sid: Sid,
    /// Service role given to users.
    pub default_chat_service_role_sid: Sid,
    /// Whether user reachability (online state) is reported.
    pub reachability_enabled: bool,
}

/// Changes to a service's configuration; roles must exist in the service with the right scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceConfigurationUpdate {
    /// New creator role.
    pub default_conversation_creator_role_sid: Option<Sid>,
    /// New participant role.
    pub default_conversation_role_sid: Option<Sid>,
    /// New user role.
    pub default_chat_service_role_sid: Option<Sid>,
    /// Reachability on or off.
    pub reachability_enabled: Option<bool>,
}

/// Changes to a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    /// Display name.
    pub friendly_name: Option<String>,
    /// Attributes JSON.
    pub attributes: Option<String>,
    /// Service role.
    pub role_sid: Option<Sid>,
    /// Time of this change.
    pub date_updated: Millis,
}

/// A conversation as one user sees it: their participant and the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserConversation {
    /// The user.
    pub user_sid: Sid,
    /// The user's participant in the conversation.
    pub participant: Participant,
    /// The conversation.
    pub conversation: Conversation,
    /// Index of the conversation's last message, if it has any.
    pub last_message_index: Option<i64>,
    /// Messages the conversation holds now (removed ones not counted).
    pub messages_count: i64,
    /// Participants the conversation has now.
    pub participants_count: i64,
    /// When the conversation last had activity for this user: its newest message, or the
    /// user's joining if that came later (unix ms).
    pub last_activity: Millis,
}

/// A place in a user's conversations listed by last activity, newest first: the listing
/// continues with conversations older than `at`, or as old with a smaller `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityKey {
    /// Last activity (unix ms).
    pub at: Millis,
    /// The participant's row key, which breaks ties.
    pub id: i64,
}

impl ActivityKey {
    /// The key as a page token (`RA<at>_<id>`).
    pub fn to_token(self) -> String {
        format!("RA{}_{}", self.at, self.id)
    }

    /// Reads a page token made by [`ActivityKey::to_token`]; `None` for anything else.
    pub fn from_token(t: &str) -> Option<ActivityKey> {
        let (at, id) = t.strip_prefix("RA")?.split_once('_')?;
        Some(ActivityKey {
            at: at.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// A page of a user's conversations by last activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentPage {
    /// The conversations, most recently active first.
    pub items: Vec<UserConversation>,
    /// Where the next page starts, if there is one.
    pub next: Option<ActivityKey>,
}

impl RecentPage {
    /// Builds the page from up to `size + 1` `(row key, item)` pairs in listing order.
    pub fn from_rows(mut rows: Vec<(i64, UserConversation)>, size: u32) -> RecentPage {
        let more = rows.len() > size as usize;
        rows.truncate(size as usize);
        let next = rows.last().filter(|_| more).map(|(id, uc)| ActivityKey {
            at: uc.last_activity,
            id: *id,
        });
        RecentPage {
            items: rows.into_iter().map(|(_, uc)| uc).collect(),
            next,
        }
    }
}

impl UserConversation {
    /// Messages after the user's read horizon; `None` until the user has set one.
    pub fn unread_messages_count(&self) -> Option<i64> {
        let read = self.participant.last_read_message_index?;
        Some(
            self.last_message_index
                .map_or(0, |last| (last - read).max(0)),
        )
    }
}

/// A conversation found through one of its participants (`ParticipantConversations`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantConversation {
    /// The participant.
    pub participant: Participant,
    /// The participant's user, for a chat participant.
    pub user_sid: Option<Sid>,
    /// The conversation.
    pub conversation: Conversation,
}

/// Whom `ParticipantConversations` looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParticipantQuery {
    /// A chat identity.
    Identity(String),
    /// A non-chat address (phone number, `whatsapp:` address).
    Address(String),
}

/// A change of a participant's read horizon (see [`crate::Store::set_read_horizon`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadHorizon {
    /// The last message read; `None`: nothing read.
    pub index: Option<i64>,
    /// Only move forward.
    pub advance_only: bool,
    /// `last_read_timestamp` to record.
    pub timestamp: String,
}

/// Where an identity's streams stand (see [`crate::Store::memberships`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memberships {
    /// The head of the identity's user log (0 when it has none).
    pub user_seq: i64,
    /// Each conversation the identity participates in, with its head `seq`.
    pub conversations: Vec<(Sid, i64)>,
}

/// What decides a user's access to a conversation, read together in one store call: the
/// realtime path checks it for every message a user sends, and reading the four rows one call
/// at a time cost four hops to the store's threads per message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessFacts {
    /// The conversation.
    pub conversation: Conversation,
    /// The identity's participant in it (looked up by identity only), if any.
    pub participant: Option<Participant>,
    /// The identity's user in the service, if it has one.
    pub user: Option<User>,
    /// The service's configuration (its default roles).
    pub configuration: Option<ServiceConfiguration>,
}
