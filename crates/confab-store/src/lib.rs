//! The storage boundary: one trait, [`Store`], whose methods are whole operations (each one
//! transaction), so that every backend keeps the same guarantees and the domain service never
//! strings statements together.
//!
//! Rules every backend keeps (the conformance suite in `testing/confab-store-suite` checks them):
//! - A write returns only after its transaction committed.
//! - Every durable change of a conversation appends its encoded event to the conversation's log
//!   under the conversation's next `seq`, in the same transaction; `seq` and message `index` are
//!   gapless and unique per conversation under any number of concurrent writers.
//! - Membership changes also append to the identity's user log (`user_seq`, gapless per user).
//! - Removing a message scrubs its body and attributes from the log too.
//! - The events of each committed write go to the [`CommitListener`] (when one is set) after
//!   the commit, in commit order, before the write returns, whatever becomes of its caller.
//!
//! [`patch`] holds the pure parts both backends share (applying updates, building events), so a
//! backend only says how to read and write rows.

mod error;
pub mod page;
pub mod patch;
mod types;

use async_trait::async_trait;
use confab_protocol::entity::{
    Conversation, Media, Message, Millis, Participant, Role, Service, User,
};
use confab_protocol::sid::Sid;

pub use error::StoreError;
pub use page::{Cursor, Order, Page, PageRequest};
pub use types::*;

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Takes the events of every committed write, in commit order: how committed events reach
/// live delivery. A store calls it right after the commit and before the write's caller
/// hears of it, even if that caller has gone meanwhile, so a commit is never left
/// unpublished. It must not block.
pub trait CommitListener: Send + Sync + 'static {
    /// The events of one committed write, in `seq` order.
    fn committed(&self, events: &[LogEvent]);
}

/// Where a store keeps its listener: set once, read by every commit.
pub type ListenerSlot = std::sync::Arc<std::sync::OnceLock<std::sync::Arc<dyn CommitListener>>>;

/// The storage trait. See the crate docs for the rules every implementation keeps.
///
/// Methods that change a conversation return the events they committed, in `seq` order.
/// Conversations are named by SID or unique name where a method says so, by SID elsewhere.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// From now on the events of every committed write go to `listener` (a second call is
    /// ignored).
    fn listen(&self, listener: std::sync::Arc<dyn CommitListener>);

    /// Creates the default service (with its default roles) and the account configuration on
    /// first start; later calls return the existing configuration unchanged.
    async fn init_account(&self, default_service: NewService) -> StoreResult<Configuration>;
    /// The account configuration.
    async fn configuration(&self) -> StoreResult<Configuration>;
    /// Changes the account configuration. A named default service must exist.
    async fn update_configuration(&self, update: ConfigurationUpdate)
    -> StoreResult<Configuration>;

    /// Creates a service with its default roles and configuration.
    async fn create_service(&self, service: NewService) -> StoreResult<Service>;
    /// Fetches a service by SID.
    async fn service(&self, sid: &str) -> StoreResult<Option<Service>>;
    /// Lists services in creation order.
    async fn list_services(&self, page: &PageRequest) -> StoreResult<Page<Service>>;
    /// Deletes a service and everything in it. The account's default service cannot be
    /// deleted ([`StoreError::Conflict`]).
    async fn delete_service(&self, sid: &str) -> StoreResult<()>;
    /// A service's configuration.
    async fn service_configuration(
        &self,
        service: &str,
    ) -> StoreResult<Option<ServiceConfiguration>>;
    /// Changes a service's configuration.
    async fn update_service_configuration(
        &self,
        service: &str,
        update: ServiceConfigurationUpdate,
    ) -> StoreResult<ServiceConfiguration>;

    /// Creates a role.
    async fn create_role(&self, role: Role) -> StoreResult<Role>;
    /// Fetches a role.
    async fn role(&self, service: &str, sid: &str) -> StoreResult<Option<Role>>;
    /// Replaces a role's permissions.
    async fn update_role(
        &self,
        service: &str,
        sid: &str,
        permissions: Vec<String>,
        now: i64,
    ) -> StoreResult<Role>;
    /// Deletes a role; one still assigned (to a user, a participant, or as a service default)
    /// is a [`StoreError::Conflict`].
    async fn delete_role(&self, service: &str, sid: &str) -> StoreResult<()>;
    /// Lists a service's roles.
    async fn list_roles(&self, service: &str, page: &PageRequest) -> StoreResult<Page<Role>>;

    /// Creates a user; an identity already present is a [`StoreError::Conflict`].
    async fn create_user(&self, user: User) -> StoreResult<User>;
    /// Fetches a user by SID or identity.
    async fn user(&self, service: &str, sid_or_identity: &str) -> StoreResult<Option<User>>;
    /// Changes a user.
    async fn update_user(&self, service: &str, sid: &str, patch: UserPatch) -> StoreResult<User>;
    /// Deletes a user: it leaves every conversation (`participantLeft` in each log) and its
    /// user log goes with it.
    async fn delete_user(&self, service: &str, sid: &str) -> StoreResult<Committed<User>>;
    /// Lists a service's users.
    async fn list_users(&self, service: &str, page: &PageRequest) -> StoreResult<Page<User>>;
    /// The conversations a user (by SID or identity) participates in, in the order joined.
    async fn user_conversations(
        &self,
        service: &str,
        user: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<UserConversation>>;
    /// A chat identity's conversations by last activity ([`UserConversation::last_activity`]),
    /// newest first: at most `size` of them, after `after`. An identity without a user row
    /// has none. Activity moves conversations, so a walk may miss one that became active
    /// during it (the client hears of that activity live).
    async fn recent_conversations(
        &self,
        service: &str,
        identity: &str,
        size: u32,
        after: Option<ActivityKey>,
    ) -> StoreResult<RecentPage>;
    /// One of a user's conversations (by SID or unique name).
    async fn user_conversation(
        &self,
        service: &str,
        user: &str,
        conversation: &str,
    ) -> StoreResult<Option<UserConversation>>;
    /// The conversations a chat identity or a non-chat address participates in.
    async fn participant_conversations(
        &self,
        service: &str,
        query: &ParticipantQuery,
        page: &PageRequest,
    ) -> StoreResult<Page<ParticipantConversation>>;

    /// Creates a conversation; its log starts with `conversationAdded` at `seq` 1. A unique
    /// name already taken in the service is a [`StoreError::Conflict`].
    async fn create_conversation(
        &self,
        conversation: Conversation,
    ) -> StoreResult<Committed<Conversation>>;
    /// Creates a conversation and its participants in one transaction: all of it, or nothing.
    async fn create_conversation_with_participants(
        &self,
        conversation: Conversation,
        participants: Vec<NewParticipant>,
        limits: &CountLimits,
    ) -> StoreResult<Committed<(Conversation, Vec<Participant>)>>;
    /// Fetches a conversation of `service` by SID or unique name.
    async fn conversation(
        &self,
        service: &str,
        sid_or_name: &str,
    ) -> StoreResult<Option<Conversation>>;
    /// Applies `patch` to a conversation and logs `conversationUpdated`.
    async fn update_conversation(
        &self,
        service: &str,
        sid: &str,
        patch: ConversationPatch,
    ) -> StoreResult<Committed<Conversation>>;
    /// Deletes a conversation with its participants, messages and log; each identity
    /// participant's user log gets `conversationRemoved`.
    async fn delete_conversation(
        &self,
        service: &str,
        sid: &str,
    ) -> StoreResult<Committed<Conversation>>;
    /// Lists the conversations of a service, keyed by creation order.
    async fn list_conversations(
        &self,
        service: &str,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Conversation>>;

    /// Adds a participant (limits: participants per conversation, conversations per identity;
    /// an identity already present is a conflict). Logs `participantJoined` and, for an
    /// identity, `conversationJoined` in its user log.
    async fn add_participant(
        &self,
        service: &str,
        participant: NewParticipant,
        limits: &CountLimits,
    ) -> StoreResult<Committed<Participant>>;
    /// A conversation of `service` (by SID or unique name) with what decides `identity`'s
    /// access to it: its participant (by identity), its user, and the service's
    /// configuration, read together; `None` if there is no such conversation.
    async fn access_facts(
        &self,
        service: &str,
        conversation: &str,
        identity: &str,
    ) -> StoreResult<Option<AccessFacts>>;
    /// Fetches a participant by SID or identity.
    async fn participant(
        &self,
        service: &str,
        conversation: &str,
        sid_or_identity: &str,
    ) -> StoreResult<Option<Participant>>;
    /// Applies `patch` to a participant and logs `participantUpdated`.
    async fn update_participant(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
        patch: ParticipantPatch,
    ) -> StoreResult<Committed<Participant>>;
    /// Removes a participant; logs `participantLeft` and, for an identity, `conversationLeft`.
    async fn remove_participant(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
    ) -> StoreResult<Committed<Participant>>;
    /// Moves a participant's read horizon without logging an event (read horizons are
    /// broadcast live, coalesced, not kept in the conversation log). `index` is clamped to
    /// the conversation's last message; with `advance_only` the horizon never moves back;
    /// `None` clears it (all unread). Returns the participant and the conversation's last
    /// message index.
    async fn set_read_horizon(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
        horizon: ReadHorizon,
    ) -> StoreResult<(Participant, Option<i64>)>;
    /// Lists participants in the order they joined.
    async fn list_participants(
        &self,
        service: &str,
        conversation: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Participant>>;

    /// Adds a message under the conversation's next `index`; logs `messageAdded`. The
    /// `index` and `participant_sid` of `new` are assigned here.
    async fn add_message(&self, service: &str, new: NewMessage) -> StoreResult<Committed<Message>>;
    /// Fetches a message by SID.
    async fn message(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
    ) -> StoreResult<Option<Message>>;
    /// Applies `patch` to a message and logs `messageUpdated`. A new author maps to its
    /// participant (or none) as in [`Store::add_message`].
    async fn update_message(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
        patch: MessagePatch,
    ) -> StoreResult<Committed<Message>>;
    /// Removes a message, scrubs its text from every log row that carries it, logs
    /// `messageRemoved`.
    async fn remove_message(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
    ) -> StoreResult<Committed<Message>>;
    /// Lists messages keyed by `index`.
    async fn list_messages(
        &self,
        service: &str,
        conversation: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Message>>;

    /// Records an upload, unattached until a message takes it ([`NewMessage::media`]).
    async fn add_media(&self, service: &str, new: NewMedia) -> StoreResult<Media>;
    /// Fetches a media record by SID; a condemned one is gone already.
    async fn media(&self, service: &str, sid: &str) -> StoreResult<Option<Media>>;
    /// Condemns the uploads never attached and expired by `now` (they can no longer be
    /// attached) and returns at most `limit` of all condemned media, oldest first: those and
    /// the media of every message, conversation and service deleted (condemned in the same
    /// transaction). They stay condemned, and are returned again, until
    /// [`Store::forget_media`]: a crash between deleting bytes and forgetting records only
    /// repeats work.
    async fn condemn_media(&self, now: Millis, limit: u32) -> StoreResult<Vec<SweptMedia>>;
    /// Forgets condemned media records whose bytes are gone.
    async fn forget_media(&self, sids: &[Sid]) -> StoreResult<()>;

    /// Reads a conversation's log after `after_seq`, at most `limit` rows, in `seq` order.
    async fn conversation_log(
        &self,
        conversation: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<LogEntry>>;
    /// The head `seq` of each of `conversations` (SIDs), in the order given; a conversation
    /// that does not exist (any more) reads as 0. For a node checking what it heard against
    /// the log (the bus between nodes is only a hint).
    async fn conversation_heads(&self, conversations: &[String])
    -> StoreResult<Vec<(String, i64)>>;
    /// The head `seq` of each of `identities`' user logs in `service`, in the order given; an
    /// identity without a user row reads as 0. The user-stream counterpart of
    /// [`Store::conversation_heads`].
    async fn user_heads(
        &self,
        service: &str,
        identities: &[String],
    ) -> StoreResult<Vec<(String, i64)>>;
    /// Where an identity's streams stand: its user log's head and every conversation it
    /// participates in with that conversation's head `seq`, in one consistent read. An
    /// identity without a user row has head 0 and no conversations.
    async fn memberships(&self, service: &str, identity: &str) -> StoreResult<Memberships>;
    /// Deletes conversation log rows written before `before` (unix ms), at most `limit` of
    /// them; returns how many went. A client whose cursor is older than what is left gets
    /// `conversationReset` instead of a replay.
    async fn prune_conversation_logs(&self, before: i64, limit: u32) -> StoreResult<u64>;
    /// Stops taking writes, commits those already queued, and releases the database. Later
    /// calls fail with [`StoreError::Backend`]. A server calls it last on shutdown.
    async fn close(&self);

    /// Reads an identity's user log after `after_seq`, at most `limit` rows, in order.
    async fn user_log(
        &self,
        service: &str,
        identity: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<LogEntry>>;
}
