//! A message as the app holds it: one shared object per message, updated in place.

use std::collections::HashMap;
use std::sync::Arc;

use confab_protocol::entity::{Message, MessageMedia};
use confab_protocol::sid::Sid;
use serde_json::Value;

use crate::client::{ClientError, Link};
use crate::conversation::ConversationHandle;
use crate::entity::{EventStream, Shared, same};
use crate::media::{MediaCategory, MessageType};

/// What changed in a message (the reference's `MessageUpdateReason`s that Confab has).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageUpdateReason {
    /// Its body was edited.
    Body,
    /// Its attributes were replaced.
    Attributes,
    /// Its author changed (a backend import).
    Author,
    /// Its creation date changed (a backend import).
    DateCreated,
    /// It was changed at all.
    DateUpdated,
}

impl MessageUpdateReason {
    /// The reference's name (`body`, `attributes`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageUpdateReason::Body => "body",
            MessageUpdateReason::Attributes => "attributes",
            MessageUpdateReason::Author => "author",
            MessageUpdateReason::DateCreated => "dateCreated",
            MessageUpdateReason::DateUpdated => "dateUpdated",
        }
    }

    /// The reasons `next` differs from `old` for.
    pub(crate) fn between(old: &Message, next: &Message) -> Vec<MessageUpdateReason> {
        let mut r = vec![];
        if old.body != next.body {
            r.push(MessageUpdateReason::Body);
        }
        if old.attributes != next.attributes {
            r.push(MessageUpdateReason::Attributes);
        }
        if old.author != next.author {
            r.push(MessageUpdateReason::Author);
        }
        if old.date_created != next.date_created {
            r.push(MessageUpdateReason::DateCreated);
        }
        if old.date_updated != next.date_updated {
            r.push(MessageUpdateReason::DateUpdated);
        }
        r
    }
}

/// An event of one message ([`MessageHandle::events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageEvent {
    /// `updated`: it changed, for these reasons.
    Updated(Vec<MessageUpdateReason>),
    /// It was removed from its conversation; its streams end.
    Removed,
}

pub(crate) type MessageShared = Shared<Message, MessageEvent>;

/// A message. Every handle on one message (from events, pages, lookups) is the same object:
/// [`MessageHandle::snapshot`] reads it as the client last heard of it. Cheap to clone.
#[derive(Clone)]
pub struct MessageHandle {
    pub(crate) link: Link,
    pub(crate) sid: Sid,
    pub(crate) conversation_sid: Sid,
    pub(crate) shared: Arc<MessageShared>,
}

impl MessageHandle {
    /// Its SID.
    pub fn sid(&self) -> &Sid {
        &self.sid
    }

    /// Its conversation's SID.
    pub fn conversation_sid(&self) -> &Sid {
        &self.conversation_sid
    }

    /// The message as the client last heard of it.
    pub fn snapshot(&self) -> Message {
        self.shared.with(Message::clone)
    }

    /// Its index in the conversation.
    pub fn index(&self) -> i64 {
        self.shared.with(|m| m.index)
    }

    /// Its body.
    pub fn body(&self) -> Option<String> {
        self.shared.with(|m| m.body.clone())
    }

    /// Its author's identity.
    pub fn author(&self) -> String {
        self.shared.with(|m| m.author.clone())
    }

    /// Its events from now on (each call makes a new, independent stream). The stream keeps
    /// the message alive while it is read.
    pub fn events(&self) -> EventStream<MessageEvent> {
        self.link.store.subscribe(&self.shared)
    }

    /// Its conversation.
    pub fn conversation(&self) -> ConversationHandle {
        self.link.conversation(self.conversation_sid.clone())
    }

    /// [`MessageType::Media`] when it carries files.
    pub fn message_type(&self) -> MessageType {
        if self
            .shared
            .with(|m| m.media.as_ref().is_some_and(|l| !l.is_empty()))
        {
            MessageType::Media
        } else {
            MessageType::Text
        }
    }

    /// Its attachments (files of category [`MediaCategory::Media`]; not an email's body or
    /// history), in order; empty for a text message.
    pub fn attached_media(&self) -> Vec<MessageMedia> {
        self.media_by_categories(&[MediaCategory::Media])
    }

    /// The files it carries of the given categories, in order.
    pub fn media_by_categories(&self, categories: &[MediaCategory]) -> Vec<MessageMedia> {
        self.shared.with(|m| {
            m.media
                .iter()
                .flatten()
                .filter(|f| categories.contains(&MediaCategory::of(f)))
                .cloned()
                .collect()
        })
    }

    /// Temporary content URLs (a few minutes each) of its attachments, by SID.
    pub async fn temporary_content_urls(&self) -> Result<HashMap<String, String>, ClientError> {
        let sids: Vec<String> = self
            .attached_media()
            .iter()
            .map(|f| f.sid.as_str().to_owned())
            .collect();
        if sids.is_empty() {
            return Ok(HashMap::new());
        }
        self.link.temporary_urls(&sids).await
    }

    /// Changes its body (one's own: `editOwnMessage`; another's: `editAnyMessage`).
    pub async fn update_body(&self, body: &str) -> Result<Message, ClientError> {
        self.conversation()
            .update_message_body(self.sid.as_str(), body)
            .await
    }

    /// Replaces its attributes (any JSON value).
    pub async fn update_attributes(&self, attributes: Value) -> Result<Message, ClientError> {
        self.conversation()
            .update_message_attributes(self.sid.as_str(), attributes)
            .await
    }

    /// Removes it (one's own: `deleteOwnMessage`; another's: `deleteAnyMessage`).
    pub async fn remove(&self) -> Result<Message, ClientError> {
        self.conversation().remove_message(self.sid.as_str()).await
    }
}

impl PartialEq for MessageHandle {
    fn eq(&self, other: &Self) -> bool {
        same(&self.shared, &other.shared)
    }
}

impl std::fmt::Debug for MessageHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MessageHandle")
            .field(&self.snapshot())
            .finish()
    }
}
