//! What the client knows of a conversation between calls (the reference `Conversation`'s
//! properties), and what each change to it is called.

use std::collections::HashMap;
use std::sync::Arc;

use confab_protocol::entity::{Conversation, Millis, NotificationLevel};
use confab_protocol::method::JoinedConversation;
use confab_protocol::sid::Sid;

use crate::entity::Shared;
use crate::events::ClientEvent;
use crate::participant::ParticipantShared;

/// Whether the user takes part in a conversation (the reference's `ConversationStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConversationStatus {
    /// The user is a participant.
    Joined,
    /// The user is not (or no longer) a participant.
    #[default]
    NotParticipating,
}

/// A conversation's newest message, as far as the client knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastMessage {
    /// Its index.
    pub index: i64,
    /// When it was sent (unix ms), when the client heard the message itself.
    pub date_created: Option<Millis>,
}

/// A conversation as the client last heard of it ([`crate::ConversationHandle::snapshot`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationSnapshot {
    /// Its SID.
    pub sid: Sid,
    /// Its fields; `None` until the client has heard of them (a handle made by SID alone).
    pub conversation: Option<Conversation>,
    /// Whether the user is a participant.
    pub status: ConversationStatus,
    /// The user's read horizon (`None`: nothing read yet).
    pub last_read_message_index: Option<i64>,
    /// Its newest message.
    pub last_message: Option<LastMessage>,
    /// The user's notification level in it.
    pub notification_level: NotificationLevel,
}

/// What changed in a conversation (the reference's `ConversationUpdateReason`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversationUpdateReason {
    /// Its attributes were replaced.
    Attributes,
    /// Its creator changed (a backend import).
    CreatedBy,
    /// Its creation date changed (a backend import).
    DateCreated,
    /// It was changed at all.
    DateUpdated,
    /// Its friendly name changed.
    FriendlyName,
    /// The user's read horizon moved.
    LastReadMessageIndex,
    /// Its state (active, inactive, closed) changed.
    State,
    /// The user joined or stopped taking part.
    Status,
    /// Its unique name changed.
    UniqueName,
    /// The user's notification level changed.
    NotificationLevel,
    /// A newer message arrived.
    LastMessage,
    /// Its messaging bindings changed.
    Bindings,
}

impl ConversationUpdateReason {
    /// The reference's name (`friendlyName`, `lastMessage`, ...).
    pub fn as_str(self) -> &'static str {
        use ConversationUpdateReason as R;
        match self {
            R::Attributes => "attributes",
            R::CreatedBy => "createdBy",
            R::DateCreated => "dateCreated",
            R::DateUpdated => "dateUpdated",
            R::FriendlyName => "friendlyName",
            R::LastReadMessageIndex => "lastReadMessageIndex",
            R::State => "state",
            R::Status => "status",
            R::UniqueName => "uniqueName",
            R::NotificationLevel => "notificationLevel",
            R::LastMessage => "lastMessage",
            R::Bindings => "bindings",
        }
    }
}

/// A conversation's shared state.
pub(crate) struct ConversationData {
    pub snapshot: ConversationSnapshot,
    /// The app has heard `ConversationAdded` for it (and not since `ConversationRemoved`).
    pub announced: bool,
    /// Its newest message or the user's joining (unix ms): the order of
    /// [`crate::Client::conversations`].
    pub last_activity: Millis,
    /// The participants the client knows of, by SID.
    pub participants: HashMap<String, Arc<ParticipantShared>>,
}

/// A conversation's events go to the streams of [`crate::ConversationHandle::events`].
pub(crate) type ConversationShared = Shared<ConversationData, ClientEvent>;

impl ConversationData {
    pub fn new(sid: Sid) -> ConversationData {
        ConversationData {
            snapshot: ConversationSnapshot {
                sid,
                conversation: None,
                status: ConversationStatus::NotParticipating,
                last_read_message_index: None,
                last_message: None,
                notification_level: NotificationLevel::Default,
            },
            announced: false,
            last_activity: 0,
            participants: HashMap::new(),
        }
    }

    /// Takes the conversation's fields; returns what changed (every field it has, the
    /// first time).
    pub fn apply(&mut self, next: &Conversation) -> Vec<ConversationUpdateReason> {
        use ConversationUpdateReason as R;
        let mut r = vec![];
        let old = self.snapshot.conversation.as_ref();
        let mut differs = |changed: bool, reason| {
            if changed {
                r.push(reason);
            }
        };
        differs(
            old.is_none_or(|o| o.friendly_name != next.friendly_name),
            R::FriendlyName,
        );
        differs(
            old.is_none_or(|o| o.unique_name != next.unique_name),
            R::UniqueName,
        );
        differs(
            old.is_none_or(|o| o.attributes != next.attributes),
            R::Attributes,
        );
        differs(old.is_none_or(|o| o.state != next.state), R::State);
        differs(
            old.is_none_or(|o| o.created_by != next.created_by),
            R::CreatedBy,
        );
        differs(
            old.is_none_or(|o| o.date_created != next.date_created),
            R::DateCreated,
        );
        differs(
            old.is_none_or(|o| o.date_updated != next.date_updated),
            R::DateUpdated,
        );
        differs(old.is_none_or(|o| o.bindings != next.bindings), R::Bindings);
        self.snapshot.conversation = Some(next.clone());
        r
    }

    /// Takes an item of the user's listing (or a `conversation.summary`).
    pub fn apply_summary(&mut self, j: &JoinedConversation) -> Vec<ConversationUpdateReason> {
        let mut r = self.apply(&j.conversation);
        r.extend(self.set_status(ConversationStatus::Joined));
        r.extend(self.set_read(j.participant.last_read_message_index));
        r.extend(self.set_level(j.notification_level));
        if let Some(index) = j.last_message_index {
            r.extend(self.set_last(index, None));
        }
        self.last_activity = self.last_activity.max(j.last_activity);
        r
    }

    pub fn set_status(&mut self, status: ConversationStatus) -> Option<ConversationUpdateReason> {
        (self.snapshot.status != status).then(|| {
            self.snapshot.status = status;
            ConversationUpdateReason::Status
        })
    }

    pub fn set_read(&mut self, index: Option<i64>) -> Option<ConversationUpdateReason> {
        (self.snapshot.last_read_message_index != index).then(|| {
            self.snapshot.last_read_message_index = index;
            ConversationUpdateReason::LastReadMessageIndex
        })
    }

    pub fn set_level(&mut self, level: NotificationLevel) -> Option<ConversationUpdateReason> {
        (self.snapshot.notification_level != level).then(|| {
            self.snapshot.notification_level = level;
            ConversationUpdateReason::NotificationLevel
        })
    }

    /// A message `index` exists: the last message moves forward, never back.
    pub fn set_last(
        &mut self,
        index: i64,
        date_created: Option<Millis>,
    ) -> Option<ConversationUpdateReason> {
        if let Some(last) = self.snapshot.last_message
            && (last.index > index
                || (last.index == index
                    && (date_created.is_none() || last.date_created == date_created)))
        {
            return None;
        }
        self.snapshot.last_message = Some(LastMessage {
            index,
            date_created,
        });
        if let Some(at) = date_created {
            self.last_activity = self.last_activity.max(at);
        }
        Some(ConversationUpdateReason::LastMessage)
    }
}
