//! A participant as the app holds it: one shared object per participant, updated in place,
//! typing or not.

use std::sync::Arc;

use confab_protocol::entity::Participant;
use confab_protocol::sid::Sid;
use serde_json::Value;

use crate::client::{ClientError, Link};
use crate::conversation::ConversationHandle;
use crate::entity::{EventStream, Shared, same};
use crate::user::UserHandle;

/// What changed in a participant (the reference's `ParticipantUpdateReason`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParticipantUpdateReason {
    /// Its attributes were replaced.
    Attributes,
    /// Its joining date changed (a backend import).
    DateCreated,
    /// It was changed at all.
    DateUpdated,
    /// Its role changed.
    RoleSid,
    /// Its read horizon moved.
    LastReadMessageIndex,
    /// The time of its read horizon changed.
    LastReadTimestamp,
    /// Its messaging binding changed (SMS, WhatsApp).
    Bindings,
}

impl ParticipantUpdateReason {
    /// The reference's name (`attributes`, `lastReadMessageIndex`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantUpdateReason::Attributes => "attributes",
            ParticipantUpdateReason::DateCreated => "dateCreated",
            ParticipantUpdateReason::DateUpdated => "dateUpdated",
            ParticipantUpdateReason::RoleSid => "roleSid",
            ParticipantUpdateReason::LastReadMessageIndex => "lastReadMessageIndex",
            ParticipantUpdateReason::LastReadTimestamp => "lastReadTimestamp",
            ParticipantUpdateReason::Bindings => "bindings",
        }
    }

    /// The reasons `next` differs from `old` for.
    pub(crate) fn between(old: &Participant, next: &Participant) -> Vec<ParticipantUpdateReason> {
        use ParticipantUpdateReason as R;
        let mut r = vec![];
        let mut differs = |changed: bool, reason| {
            if changed {
                r.push(reason);
            }
        };
        differs(old.attributes != next.attributes, R::Attributes);
        differs(old.date_created != next.date_created, R::DateCreated);
        differs(old.date_updated != next.date_updated, R::DateUpdated);
        differs(old.role_sid != next.role_sid, R::RoleSid);
        differs(
            old.last_read_message_index != next.last_read_message_index,
            R::LastReadMessageIndex,
        );
        differs(
            old.last_read_timestamp != next.last_read_timestamp,
            R::LastReadTimestamp,
        );
        differs(old.messaging_binding != next.messaging_binding, R::Bindings);
        r
    }
}

/// An event of one participant ([`ParticipantHandle::events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParticipantEvent {
    /// `updated`: it changed, for these reasons.
    Updated(Vec<ParticipantUpdateReason>),
    /// `typingStarted`.
    TypingStarted,
    /// `typingEnded`.
    TypingEnded,
    /// It left the conversation (or was removed); its streams end.
    Left,
}

/// A participant's state.
#[derive(Debug, Clone)]
pub(crate) struct ParticipantData {
    pub participant: Participant,
    pub typing: bool,
    /// Only its SID and identity are known yet (met through a typing or read-horizon event).
    pub partial: bool,
}

pub(crate) type ParticipantShared = Shared<ParticipantData, ParticipantEvent>;

/// A participant of a conversation. Every handle on one participant (from events, lookups,
/// listings) is the same object, kept by its conversation while it takes part. Cheap to
/// clone.
#[derive(Clone)]
pub struct ParticipantHandle {
    pub(crate) link: Link,
    pub(crate) sid: Sid,
    pub(crate) conversation_sid: Sid,
    pub(crate) shared: Arc<ParticipantShared>,
}

impl ParticipantHandle {
    /// Its SID.
    pub fn sid(&self) -> &Sid {
        &self.sid
    }

    /// Its conversation's SID.
    pub fn conversation_sid(&self) -> &Sid {
        &self.conversation_sid
    }

    /// The participant as the client last heard of it. One first met through a typing or
    /// read-horizon event has only its SID, identity and read horizon until the client reads
    /// the rest (at once, in the background).
    pub fn snapshot(&self) -> Participant {
        self.shared.with(|p| p.participant.clone())
    }

    /// Its identity (`None` for an SMS or WhatsApp participant).
    pub fn identity(&self) -> Option<String> {
        self.shared.with(|p| p.participant.identity.clone())
    }

    /// The last message it has read.
    pub fn last_read_message_index(&self) -> Option<i64> {
        self.shared.with(|p| p.participant.last_read_message_index)
    }

    /// Whether it is typing now.
    pub fn is_typing(&self) -> bool {
        self.shared.with(|p| p.typing)
    }

    /// Its events from now on (each call makes a new, independent stream). The stream keeps
    /// the participant alive while it is read.
    pub fn events(&self) -> EventStream<ParticipantEvent> {
        self.link.store.subscribe(&self.shared)
    }

    /// Its conversation.
    pub fn conversation(&self) -> ConversationHandle {
        self.link.conversation(self.conversation_sid.clone())
    }

    /// Its user (a chat participant's), read from the server the first time.
    pub async fn user(&self) -> Result<UserHandle, ClientError> {
        let Some(identity) = self.identity() else {
            return Err(ClientError::invalid(
                "the participant has no identity (an SMS or WhatsApp participant has no user)",
            ));
        };
        self.link.user(&identity).await
    }

    /// Replaces its attributes (one's own: `editOwnParticipantAttributes`; another's:
    /// `editAnyParticipantAttributes`).
    pub async fn update_attributes(&self, attributes: Value) -> Result<Participant, ClientError> {
        self.conversation()
            .update_participant_attributes(self.sid.as_str(), attributes)
            .await
    }

    /// Removes it from the conversation (`removeParticipant`; oneself: `leaveConversation`).
    pub async fn remove(&self) -> Result<Participant, ClientError> {
        self.conversation()
            .remove_participant(self.sid.as_str())
            .await
    }
}

impl PartialEq for ParticipantHandle {
    fn eq(&self, other: &Self) -> bool {
        same(&self.shared, &other.shared)
    }
}

impl std::fmt::Debug for ParticipantHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ParticipantHandle")
            .field(&self.snapshot())
            .finish()
    }
}
