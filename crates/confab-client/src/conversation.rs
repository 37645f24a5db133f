//! A conversation as the app works with it: a handle with every operation on it and its own
//! stream of events, pages of messages and conversations, and the per-user view of a
//! conversation (counts, read state).

use confab_protocol::entity::{Conversation, Message, Participant};
use confab_protocol::method::{self as m, JoinedConversation, Method};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::client::{Client, ClientError, conversation_ref};
use crate::events::ClientEvent;

/// One of the user's conversations as the user sees it (an item of
/// [`Client::subscribed_conversations`]).
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
    /// [`Client::subscribed_conversations`].
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

/// One page of a listing, with the way to the next.
#[derive(Debug, Clone)]
pub struct Paginator<T> {
    /// The items of this page.
    pub items: Vec<T>,
    next: Option<String>,
    client: Client,
    method: &'static str,
    params: Value,
}

impl<T: DeserializeOwned> Paginator<T> {
    /// The first page of list method `M` (whose pages carry `T`s).
    pub(crate) async fn first<M: Method>(
        client: &Client,
        params: M::Params,
    ) -> Result<Paginator<T>, ClientError> {
        let method = M::NAME;
        let params = serde_json::to_value(params).map_err(|e| ClientError {
            code: confab_protocol::ErrorCode::InvalidParameter.code(),
            message: format!("params of {method}: {e}"),
        })?;
        let page = client.request(method, params.clone()).await?;
        Self::from_answer(client, method, params, page)
    }

    fn from_answer(
        client: &Client,
        method: &'static str,
        params: Value,
        page: Value,
    ) -> Result<Paginator<T>, ClientError> {
        let items = serde_json::from_value(page["items"].clone()).map_err(|e| ClientError {
            code: confab_protocol::ErrorCode::Internal.code(),
            message: format!("unexpected page from {method}: {e}"),
        })?;
        Ok(Paginator {
            items,
            next: page["next_page_token"].as_str().map(str::to_owned),
            client: client.clone(),
            method,
            params,
        })
    }

    /// Whether a next page exists.
    pub fn has_next_page(&self) -> bool {
        self.next.is_some()
    }

    /// The next page (an empty last page if there is none).
    pub async fn next_page(&self) -> Result<Paginator<T>, ClientError> {
        let Some(token) = &self.next else {
            return Ok(Paginator {
                items: vec![],
                next: None,
                client: self.client.clone(),
                method: self.method,
                params: self.params.clone(),
            });
        };
        let mut params = self.params.clone();
        params["pageToken"] = json!(token);
        // The anchor was for the first page; the token carries on from there.
        if let Some(p) = params.as_object_mut() {
            p.remove("anchor");
        }
        let page = self.client.request(self.method, params).await?;
        Self::from_answer(&self.client, self.method, self.params.clone(), page)
    }
}

/// Which way [`ConversationHandle::messages`] pages from its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// The anchor and older messages, newest first (the usual way to open a chat).
    #[default]
    Backwards,
    /// The anchor and newer messages, oldest first.
    Forwards,
}

/// The events of one conversation, in order: those of [`ClientEvent`] whose
/// [`ClientEvent::conversation_sid`] is this conversation. Ends when the client is gone.
#[derive(Debug)]
pub struct ConversationEvents {
    pub(crate) rx: mpsc::UnboundedReceiver<ClientEvent>,
}

impl ConversationEvents {
    /// The next event of the conversation; `None` once the client is gone.
    pub async fn next(&mut self) -> Option<ClientEvent> {
        self.rx.recv().await
    }
}

/// A conversation to act on, by SID (from [`Client::conversation_handle`] or
/// [`Client::handle`]). Cheap to clone;
/// every call goes through the client's connection, with the user's permissions.
#[derive(Debug, Clone)]
pub struct ConversationHandle {
    pub(crate) client: Client,
    pub(crate) sid: String,
}

impl ConversationHandle {
    /// The conversation's SID.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// The conversation as the client last heard of it (from its cache), if it has.
    pub fn cached(&self) -> Option<Conversation> {
        self.client.cache().conversation(&self.sid)
    }

    /// The conversation's events from now on (each call makes a new, independent stream).
    pub fn events(&self) -> ConversationEvents {
        self.client.watch_conversation(&self.sid)
    }

    fn conversation(&self) -> m::ConversationRef {
        conversation_ref(&self.sid)
    }

    /// Fetches the conversation now.
    pub async fn fetch(&self) -> Result<Conversation, ClientError> {
        self.client.conversation(&self.sid).await
    }

    /// The conversation as the user sees it now: counts, read state, notification level.
    pub async fn summary(&self) -> Result<ConversationSummary, ClientError> {
        let joined = self
            .client
            .call::<m::ConversationSummary>(self.conversation())
            .await?;
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
        self.client.join(&self.sid).await
    }

    /// Leaves it.
    pub async fn leave(&self) -> Result<Participant, ClientError> {
        self.client
            .call::<m::ConversationLeave>(self.conversation())
            .await
    }

    /// Deletes it (`deleteConversation`).
    pub async fn delete(&self) -> Result<(), ClientError> {
        self.client
            .call::<m::ConversationDelete>(self.conversation())
            .await
            .map(|_| ())
    }

    async fn update(&self, fields: m::ConversationFields) -> Result<Conversation, ClientError> {
        self.client
            .call::<m::ConversationUpdate>(m::ConversationUpdateParams {
                conversation: self.sid.clone(),
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
            .client
            .call::<m::ConversationSetNotificationLevel>(m::NotificationLevelParams {
                conversation: self.sid.clone(),
                level: level.to_owned(),
            })
            .await?;
        Ok(joined.into())
    }

    /// Adds a user as a participant (`addParticipant`).
    pub async fn add_participant(
        &self,
        identity: &str,
        attributes: Option<Value>,
    ) -> Result<Participant, ClientError> {
        self.client
            .call::<m::ParticipantAdd>(m::ParticipantAddParams {
                conversation: self.sid.clone(),
                identity: identity.to_owned(),
                attributes,
            })
            .await
    }

    /// A participant, by SID or identity.
    pub async fn participant(&self, participant: &str) -> Result<Participant, ClientError> {
        self.client
            .call::<m::ParticipantGet>(self.participant_ref(participant))
            .await
    }

    fn participant_ref(&self, participant: &str) -> m::ParticipantRef {
        m::ParticipantRef {
            conversation: self.sid.clone(),
            participant: participant.to_owned(),
        }
    }

    /// Every participant, oldest first.
    pub async fn participants(&self) -> Result<Vec<Participant>, ClientError> {
        let params = m::ParticipantPage {
            conversation: self.sid.clone(),
            page_size: Some(100),
            page_token: None,
            order: None,
        };
        let mut page: Paginator<Participant> =
            Paginator::first::<m::ParticipantList>(&self.client, params).await?;
        let mut all = std::mem::take(&mut page.items);
        while page.has_next_page() {
            page = page.next_page().await?;
            all.append(&mut page.items);
        }
        Ok(all)
    }

    /// Replaces a participant's attributes (one's own: `editOwnParticipantAttributes`;
    /// another's: `editAnyParticipantAttributes`).
    pub async fn update_participant_attributes(
        &self,
        participant: &str,
        attributes: Value,
    ) -> Result<Participant, ClientError> {
        self.client
            .call::<m::ParticipantUpdate>(m::ParticipantUpdateParams {
                conversation: self.sid.clone(),
                participant: participant.to_owned(),
                attributes: Some(attributes),
            })
            .await
    }

    /// Removes a participant (`removeParticipant`; oneself: `leaveConversation`).
    pub async fn remove_participant(&self, participant: &str) -> Result<Participant, ClientError> {
        self.client
            .call::<m::ParticipantRemove>(self.participant_ref(participant))
            .await
    }

    /// Sends a text message; resolves with the stored message once committed.
    pub async fn send_message(&self, body: &str) -> Result<Message, ClientError> {
        self.client.send_message(&self.sid, body).await
    }

    /// Sends a text message with attributes (any JSON value).
    pub async fn send_message_with(
        &self,
        body: &str,
        attributes: Value,
    ) -> Result<Message, ClientError> {
        self.client
            .call::<m::MessageSend>(m::MessageSendParams {
                conversation: self.sid.clone(),
                body: Some(body.to_owned()),
                attributes: Some(attributes),
            })
            .await
    }

    /// A page of messages from `anchor` (a message index, included; `None`: the newest) in
    /// `direction`, `page_size` at most 100. Later pages continue the same way.
    pub async fn messages(
        &self,
        anchor: Option<i64>,
        direction: Direction,
        page_size: u32,
    ) -> Result<Paginator<Message>, ClientError> {
        let mut params = m::MessagePage {
            conversation: self.sid.clone(),
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
        Paginator::first::<m::MessageList>(&self.client, params).await
    }

    /// A message, by SID.
    pub async fn message(&self, message: &str) -> Result<Message, ClientError> {
        self.client
            .call::<m::MessageGet>(self.message_ref(message))
            .await
    }

    fn message_ref(&self, message: &str) -> m::MessageRef {
        m::MessageRef {
            conversation: self.sid.clone(),
            message: message.to_owned(),
        }
    }

    async fn update_message(
        &self,
        message: &str,
        body: Option<&str>,
        attributes: Option<Value>,
    ) -> Result<Message, ClientError> {
        self.client
            .call::<m::MessageUpdate>(m::MessageUpdateParams {
                conversation: self.sid.clone(),
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
        self.client
            .call::<m::MessageRemove>(self.message_ref(message))
            .await
    }

    /// Says the user is typing (see [`Client::typing`]).
    pub fn typing(&self) {
        self.client.typing(&self.sid);
    }

    /// Sets the read horizon to message `index`; returns the unread count left.
    pub async fn set_last_read(&self, index: i64) -> Result<Option<i64>, ClientError> {
        self.client.set_last_read(&self.sid, index).await
    }

    /// Moves the read horizon forward to `index`, never back.
    pub async fn advance_last_read(&self, index: i64) -> Result<Option<i64>, ClientError> {
        self.client.advance_last_read(&self.sid, index).await
    }

    /// Marks every message read.
    pub async fn set_all_read(&self) -> Result<Option<i64>, ClientError> {
        self.client.set_all_read(&self.sid).await
    }

    /// Clears the read horizon.
    pub async fn set_all_unread(&self) -> Result<Option<i64>, ClientError> {
        self.client.set_all_unread(&self.sid).await
    }
}
