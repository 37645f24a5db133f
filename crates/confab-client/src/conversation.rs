//! A conversation as the app works with it: the client's one object for it, with every
//! operation on it and its own stream of events, pages of messages, and the per-user view of
//! a conversation (counts, read state).

use std::sync::Arc;

use confab_protocol::entity::{Conversation, Message, Participant};
use confab_protocol::method::{self as m, JoinedConversation};
use confab_protocol::sid::Sid;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::Value;

use crate::client::{ClientError, Link, Update, conversation_ref, read_index};
use crate::entity::{EventStream, same};
use crate::events::ClientEvent;
use crate::media::{MediaLimits, MediaUpload};
use crate::message::MessageHandle;
use crate::paginator::{Paginator, Step};
use crate::participant::ParticipantHandle;
use crate::snapshot::{ConversationShared, ConversationSnapshot, ConversationStatus, LastMessage};

/// One of the user's conversations as the user sees it (an item of
/// [`crate::Client::subscribed_conversations`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConversationSummary {
    /// The conversation.
    pub conversation: Conversation,
    /// The user's participant in it.
    pub participant: Participant,
    /// Its last message's index, if it has messages.
    pub last_message_index: Option<i64>,
    /// Messages after the user's read horizon; `None` until the user has set one.
    pub unread_messages_count: Option<i64>,
    /// `default` or `muted`.
    pub notification_level: String,
    /// Messages it holds.
    pub messages_count: i64,
    /// Participants it has.
    pub participants_count: i64,
    /// Its newest message, or the user's joining if later (unix ms): the order of
    /// [`crate::Client::subscribed_conversations`].
    pub last_activity: i64,
}

impl From<JoinedConversation> for ConversationSummary {
    fn from(j: JoinedConversation) -> Self {
        ConversationSummary {
            conversation: j.conversation,
            participant: j.participant,
            last_message_index: j.last_message_index,
            unread_messages_count: j.unread_messages_count,
            notification_level: j.notification_level.as_str().to_owned(),
            messages_count: j.messages_count,
            participants_count: j.participants_count,
            last_activity: j.last_activity,
        }
    }
}

/// Which way [`ConversationHandle::messages`] pages from its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// The anchor and older messages (the usual way to open a chat); `prev_page` goes on.
    #[default]
    Backwards,
    /// The anchor and newer messages; `next_page` goes on.
    Forwards,
}

/// The events of one conversation, in order: those of [`ClientEvent`] whose
/// [`ClientEvent::conversation_sid`] is this conversation. Ends when the client is gone or
/// the user is no longer in the conversation.
pub type ConversationEvents = EventStream<ClientEvent>;

/// A conversation: the client's one object for it (from events, [`crate::Client::handle`], the
/// lookups and pages), updated in place, with every operation on it and its own stream of
/// events. Cheap to clone; every call goes through the client's connection, with the user's
/// permissions.
#[derive(Clone)]
pub struct ConversationHandle {
    pub(crate) link: Link,
    pub(crate) sid: Sid,
    pub(crate) shared: Arc<ConversationShared>,
}

impl PartialEq for ConversationHandle {
    fn eq(&self, other: &Self) -> bool {
        same(&self.shared, &other.shared)
    }
}

impl std::fmt::Debug for ConversationHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ConversationHandle")
            .field(&self.snapshot())
            .finish()
    }
}

impl ConversationHandle {
    pub(crate) fn new(link: &Link, sid: Sid, shared: Arc<ConversationShared>) -> Self {
        ConversationHandle {
            link: link.clone(),
            sid,
            shared,
        }
    }

    /// The conversation's SID.
    pub fn sid(&self) -> &Sid {
        &self.sid
    }

    /// The conversation as the client last heard of it.
    pub fn snapshot(&self) -> ConversationSnapshot {
        self.shared.with(|d| d.snapshot.clone())
    }

    /// Its fields as last heard; `None` until the client has heard of them.
    pub fn cached(&self) -> Option<Conversation> {
        self.shared.with(|d| d.snapshot.conversation.clone())
    }

    /// Its friendly name.
    pub fn friendly_name(&self) -> Option<String> {
        self.shared
            .with(|d| d.snapshot.conversation.as_ref()?.friendly_name.clone())
    }

    /// Its unique name.
    pub fn unique_name(&self) -> Option<String> {
        self.shared
            .with(|d| d.snapshot.conversation.as_ref()?.unique_name.clone())
    }

    /// Whether the user is a participant.
    pub fn status(&self) -> ConversationStatus {
        self.shared.with(|d| d.snapshot.status)
    }

    /// The user's read horizon.
    pub fn last_read_message_index(&self) -> Option<i64> {
        self.shared.with(|d| d.snapshot.last_read_message_index)
    }

    /// Its newest message, as far as the client knows.
    pub fn last_message(&self) -> Option<LastMessage> {
        self.shared.with(|d| d.snapshot.last_message)
    }

    /// The conversation's events from now on (each call makes a new, independent stream;
    /// it ends when the user is no longer in the conversation, or the client is gone).
    pub fn events(&self) -> ConversationEvents {
        self.link.store.subscribe(&self.shared)
    }

    fn conversation(&self) -> m::ConversationRef {
        conversation_ref(self.sid.as_str())
    }

    /// Reads the conversation now (the object is updated too).
    pub async fn fetch(&self) -> Result<Conversation, ClientError> {
        Ok(self.summary().await?.conversation)
    }

    /// The conversation as the user sees it now: counts, read state, notification level
    /// (the object is updated too).
    pub async fn summary(&self) -> Result<ConversationSummary, ClientError> {
        let (_, joined) = self.link.summary(self.sid.as_str()).await?;
        Ok(joined.into())
    }

    /// How many messages it holds.
    pub async fn messages_count(&self) -> Result<i64, ClientError> {
        Ok(self.summary().await?.messages_count)
    }

    /// How many participants it has.
    pub async fn participants_count(&self) -> Result<i64, ClientError> {
        Ok(self.summary().await?.participants_count)
    }

    /// Messages after the user's read horizon (`None` until it has one).
    pub async fn unread_messages_count(&self) -> Result<Option<i64>, ClientError> {
        Ok(self.summary().await?.unread_messages_count)
    }

    /// Joins it as the client's identity.
    pub async fn join(&self) -> Result<Participant, ClientError> {
        self.link.join(self.sid.as_str()).await
    }

    /// Leaves it.
    pub async fn leave(&self) -> Result<Participant, ClientError> {
        self.link
            .call::<m::ConversationLeave>(self.conversation())
            .await
    }

    /// Deletes it (`deleteConversation`).
    pub async fn delete(&self) -> Result<(), ClientError> {
        self.link
            .call::<m::ConversationDelete>(self.conversation())
            .await
            .map(|_| ())
    }

    async fn update(&self, fields: m::ConversationFields) -> Result<Conversation, ClientError> {
        self.link
            .call::<m::ConversationUpdate>(m::ConversationUpdateParams {
                conversation: self.sid.as_str().to_owned(),
                fields,
            })
            .await
    }

    /// Changes its friendly name.
    pub async fn update_friendly_name(&self, name: &str) -> Result<Conversation, ClientError> {
        self.update(m::ConversationFields {
            friendly_name: Some(name.to_owned()),
            ..Default::default()
        })
        .await
    }

    /// Changes its unique name (`""` clears it).
    pub async fn update_unique_name(&self, name: &str) -> Result<Conversation, ClientError> {
        self.update(m::ConversationFields {
            unique_name: Some(name.to_owned()),
            ..Default::default()
        })
        .await
    }

    /// Replaces its attributes (any JSON value).
    pub async fn update_attributes(&self, attributes: Value) -> Result<Conversation, ClientError> {
        self.update(m::ConversationFields {
            attributes: Some(attributes),
            ..Default::default()
        })
        .await
    }

    /// Mutes it (`muted`) or not (`default`) for the user.
    pub async fn set_notification_level(
        &self,
        level: &str,
    ) -> Result<ConversationSummary, ClientError> {
        let joined = self
            .link
            .call::<m::ConversationSetNotificationLevel>(m::NotificationLevelParams {
                conversation: self.sid.as_str().to_owned(),
                level: level.to_owned(),
            })
            .await?;
        self.link
            .apply(Update::Summaries(vec![joined.clone()]))
            .await;
        Ok(joined.into())
    }

    /// Adds a user as a participant (`addParticipant`).
    pub async fn add_participant(
        &self,
        identity: &str,
        attributes: Option<Value>,
    ) -> Result<Participant, ClientError> {
        self.link
            .call::<m::ParticipantAdd>(m::ParticipantAddParams {
                conversation: self.sid.as_str().to_owned(),
                identity: identity.to_owned(),
                attributes,
            })
            .await
    }

    /// A participant, by SID or identity, read from the server (the object is updated too).
    pub async fn participant(&self, participant: &str) -> Result<ParticipantHandle, ClientError> {
        let p = self
            .link
            .call::<m::ParticipantGet>(self.participant_ref(participant))
            .await?;
        Ok(self.link.store.participant(&self.link, &p))
    }

    fn participant_ref(&self, participant: &str) -> m::ParticipantRef {
        m::ParticipantRef {
            conversation: self.sid.as_str().to_owned(),
            participant: participant.to_owned(),
        }
    }

    async fn lookup(
        &self,
        sid: Option<&str>,
        identity: Option<&str>,
    ) -> Result<Option<ParticipantHandle>, ClientError> {
        if let Some(known) = self
            .link
            .store
            .known_participant(&self.link, &self.sid, sid, identity)
        {
            return Ok(Some(known));
        }
        match self.participant(sid.or(identity).unwrap_or_default()).await {
            Ok(p) => Ok(Some(p)),
            Err(e) if e.code == confab_protocol::ErrorCode::NotFound.code() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A participant by SID (`getParticipantBySid`): the client's object if it knows it,
    /// else read from the server; `None` if there is none.
    pub async fn participant_by_sid(
        &self,
        sid: &str,
    ) -> Result<Option<ParticipantHandle>, ClientError> {
        self.lookup(Some(sid), None).await
    }

    /// A participant by identity (`getParticipantByIdentity`); `None` if there is none.
    pub async fn participant_by_identity(
        &self,
        identity: &str,
    ) -> Result<Option<ParticipantHandle>, ClientError> {
        self.lookup(None, Some(identity)).await
    }

    /// Every participant, oldest first.
    pub async fn participants(&self) -> Result<Vec<ParticipantHandle>, ClientError> {
        let mut all = vec![];
        let mut page_token = None;
        loop {
            let params = m::ParticipantPage {
                conversation: self.sid.as_str().to_owned(),
                page_size: Some(100),
                page_token,
                order: None,
            };
            let page = self.link.call::<m::ParticipantList>(params).await?;
            for p in &page.items {
                all.push(self.link.store.participant(&self.link, p));
            }
            page_token = page.next_page_token;
            if page_token.is_none() {
                return Ok(all);
            }
        }
    }

    /// Replaces a participant's attributes (one's own: `editOwnParticipantAttributes`;
    /// another's: `editAnyParticipantAttributes`).
    pub async fn update_participant_attributes(
        &self,
        participant: &str,
        attributes: Value,
    ) -> Result<Participant, ClientError> {
        self.link
            .call::<m::ParticipantUpdate>(m::ParticipantUpdateParams {
                conversation: self.sid.as_str().to_owned(),
                participant: participant.to_owned(),
                attributes: Some(attributes),
            })
            .await
    }

    /// Removes a participant (`removeParticipant`; oneself: `leaveConversation`).
    pub async fn remove_participant(&self, participant: &str) -> Result<Participant, ClientError> {
        self.link
            .call::<m::ParticipantRemove>(self.participant_ref(participant))
            .await
    }

    /// Sends a text message; resolves with the stored message once committed.
    pub async fn send_message(&self, body: &str) -> Result<Message, ClientError> {
        self.link.send_message(self.sid.as_str(), body, None).await
    }

    /// Sends a text message with attributes (any JSON value).
    pub async fn send_message_with(
        &self,
        body: &str,
        attributes: Value,
    ) -> Result<Message, ClientError> {
        self.link
            .call::<m::MessageSend>(m::MessageSendParams {
                conversation: self.sid.as_str().to_owned(),
                body: Some(body.to_owned()),
                attributes: Some(attributes),
                media: Vec::new(),
            })
            .await
    }

    /// A message to put together: a body, attributes and files (uploaded when it is sent).
    pub fn prepare_message(&self) -> MessageBuilder {
        MessageBuilder {
            conversation: self.clone(),
            body: None,
            attributes: None,
            media: Vec::new(),
        }
    }

    /// Sends one file as a message of its own (uploaded first, then attached).
    pub async fn send_media(&self, file: MediaUpload) -> Result<Message, ClientError> {
        self.prepare_message().add_media(file).send().await
    }

    /// What one message may carry, once a first connection has told the limits.
    pub async fn limits(&self) -> Result<MediaLimits, ClientError> {
        self.link.media_limits().await
    }

    /// A page of messages from `anchor` (a message index, included; `None`: the newest when
    /// going backwards, the oldest going forwards), `page_size` at most 100. Every page is
    /// in ascending index order, whichever the direction: [`Paginator::prev_page`] holds
    /// older messages, [`Paginator::next_page`] newer ones.
    pub async fn messages(
        &self,
        anchor: Option<i64>,
        direction: Direction,
        page_size: u32,
    ) -> Result<Paginator<MessageHandle>, ClientError> {
        let mut params = m::MessagePage {
            conversation: self.sid.as_str().to_owned(),
            page_size: Some(page_size),
            ..Default::default()
        };
        let forwards = direction == Direction::Forwards;
        match anchor {
            None => params.order = Some(if forwards { "asc" } else { "desc" }.into()),
            Some(a) => {
                params.anchor = Some(a);
                params.direction = Some(if forwards { "forwards" } else { "backwards" }.into());
            }
        }
        message_page(self.link.clone(), params, forwards).await
    }

    /// A message, by SID (the object is updated too).
    pub async fn message(&self, message: &str) -> Result<MessageHandle, ClientError> {
        let msg = self
            .link
            .call::<m::MessageGet>(self.message_ref(message))
            .await?;
        Ok(self.link.store.message(&self.link, &msg))
    }

    fn message_ref(&self, message: &str) -> m::MessageRef {
        m::MessageRef {
            conversation: self.sid.as_str().to_owned(),
            message: message.to_owned(),
        }
    }

    async fn update_message(
        &self,
        message: &str,
        body: Option<&str>,
        attributes: Option<Value>,
    ) -> Result<Message, ClientError> {
        self.link
            .call::<m::MessageUpdate>(m::MessageUpdateParams {
                conversation: self.sid.as_str().to_owned(),
                message: message.to_owned(),
                body: body.map(str::to_owned),
                attributes,
            })
            .await
    }

    /// Changes a message's body (one's own: `editOwnMessage`; another's: `editAnyMessage`).
    pub async fn update_message_body(
        &self,
        message: &str,
        body: &str,
    ) -> Result<Message, ClientError> {
        self.update_message(message, Some(body), None).await
    }

    /// Replaces a message's attributes.
    pub async fn update_message_attributes(
        &self,
        message: &str,
        attributes: Value,
    ) -> Result<Message, ClientError> {
        self.update_message(message, None, Some(attributes)).await
    }

    /// Removes a message (one's own: `deleteOwnMessage`; another's: `deleteAnyMessage`).
    pub async fn remove_message(&self, message: &str) -> Result<Message, ClientError> {
        self.link
            .call::<m::MessageRemove>(self.message_ref(message))
            .await
    }

    /// Says the user is typing (see [`crate::Client::typing`]).
    pub fn typing(&self) {
        self.link.typing(self.sid.as_str());
    }

    /// Sets the read horizon to message `index`; returns the unread count left.
    pub async fn set_last_read(&self, index: i64) -> Result<Option<i64>, ClientError> {
        self.link
            .read::<m::ConversationSetLastRead>(
                self.sid.as_str(),
                read_index(self.sid.as_str(), index),
            )
            .await
    }

    /// Moves the read horizon forward to `index`, never back.
    pub async fn advance_last_read(&self, index: i64) -> Result<Option<i64>, ClientError> {
        self.link
            .read::<m::ConversationAdvanceLastRead>(
                self.sid.as_str(),
                read_index(self.sid.as_str(), index),
            )
            .await
    }

    /// Marks every message read.
    pub async fn set_all_read(&self) -> Result<Option<i64>, ClientError> {
        self.link
            .read::<m::ConversationSetAllRead>(self.sid.as_str(), self.conversation())
            .await
    }

    /// Clears the read horizon.
    pub async fn set_all_unread(&self) -> Result<Option<i64>, ClientError> {
        self.link
            .read::<m::ConversationSetAllUnread>(self.sid.as_str(), self.conversation())
            .await
    }
}

/// A page of messages in ascending index order, with steps to the older and newer pages.
fn message_page(
    link: Link,
    params: m::MessagePage,
    forwards: bool,
) -> BoxFuture<'static, Result<Paginator<MessageHandle>, ClientError>> {
    Box::pin(async move {
        let page = link.call::<m::MessageList>(params.clone()).await?;
        let mut items: Vec<MessageHandle> = page
            .items
            .iter()
            .map(|msg| link.store.message(&link, msg))
            .collect();
        if !forwards {
            items.reverse();
        }
        let step = |token: Option<String>| -> Option<Step<MessageHandle>> {
            let token = token?;
            let (link, mut params) = (link.clone(), params.clone());
            // The token carries on from the anchor, in the page's own direction.
            params.anchor = None;
            params.page_token = Some(token);
            Some(Arc::new(move || {
                message_page(link.clone(), params.clone(), forwards)
            }))
        };
        // The server walks in the page's own direction: its next page is newer going
        // forwards, older going backwards.
        let (newer, older) = if forwards {
            (page.next_page_token, page.previous_page_token)
        } else {
            (page.previous_page_token, page.next_page_token)
        };
        Ok(Paginator::new(items, step(newer), step(older)))
    })
}

/// A message being put together ([`ConversationHandle::prepare_message`]).
#[must_use = "a prepared message is sent by send()"]
pub struct MessageBuilder {
    conversation: ConversationHandle,
    body: Option<String>,
    attributes: Option<Value>,
    media: Vec<MediaUpload>,
}

impl MessageBuilder {
    /// Sets the body.
    pub fn body(mut self, body: impl Into<String>) -> MessageBuilder {
        self.body = Some(body.into());
        self
    }

    /// Sets the attributes (any JSON value).
    pub fn attributes(mut self, attributes: Value) -> MessageBuilder {
        self.attributes = Some(attributes);
        self
    }

    /// Adds a file, uploaded when the message is sent.
    pub fn add_media(mut self, file: MediaUpload) -> MessageBuilder {
        self.media.push(file);
        self
    }

    /// Uploads the files (checked against the limits first; each retried on 429, 502, 503,
    /// 504 and lost connections, with backoff), then sends the message; resolves with it
    /// once stored.
    pub async fn send(self) -> Result<Message, ClientError> {
        let c = self.conversation;
        c.link
            .send_with_media(c.sid.as_str(), self.body, self.attributes, self.media)
            .await
    }
}
