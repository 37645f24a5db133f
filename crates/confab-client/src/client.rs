//! The handle an app holds: requests and token renewal go to the driver task as commands,
//! states come back through watch channels, events through [`Events`].

use std::sync::Arc;

use confab_client_core::{ClientState, ConnectionState};
use confab_protocol::entity::{Conversation, Message, Participant, User};
use confab_protocol::event::UserInfo;
use confab_protocol::method::{self as m, JoinedConversation, Method};
use confab_protocol::sid::Sid;
use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use crate::conversation::ConversationHandle;
use crate::driver::Driver;
use crate::entity::EventStream;
use crate::events::ClientEvent;
use crate::options::ClientOptions;
use crate::paginator::{Paginator, Step};
use crate::snapshot::ConversationStatus;
use crate::store::Store;
use crate::user::UserHandle;

/// A failed call: the server's error code and message, or the client's own (20408 for a
/// timeout, 20503 when the client is offline for good or shut down, 20106 for a token with
/// another identity).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ClientError {
    /// The numeric code (`docs/PROTOCOL.md`).
    pub code: u32,
    /// What went wrong.
    pub message: String,
}

impl ClientError {
    pub(crate) fn gone() -> ClientError {
        ClientError {
            code: confab_protocol::ErrorCode::Unavailable.code(),
            message: "the client has shut down".into(),
        }
    }

    pub(crate) fn invalid(message: &str) -> ClientError {
        ClientError {
            code: confab_protocol::ErrorCode::InvalidParameter.code(),
            message: message.to_owned(),
        }
    }
}

pub(crate) enum Command {
    Request {
        method: String,
        params: Value,
        reply: oneshot::Sender<Result<Value, ClientError>>,
    },
    UpdateToken {
        token: String,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    Reconnect,
    Typing {
        conversation: String,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
    /// What an answer told of the client's objects, applied by the driver in turn with the
    /// events (so the app hears each change once, in order).
    Apply {
        update: Update,
        reply: oneshot::Sender<()>,
    },
    /// What an upload needs of the session: the media service, the token, the origin.
    Media {
        reply: oneshot::Sender<crate::media::MediaAccess>,
    },
}

/// What an answer (not an event) told of the client's objects.
pub(crate) enum Update {
    /// Conversations as the user's (a lookup, a page, a summary read).
    Summaries(Vec<JoinedConversation>),
    /// The user's read horizon in a conversation (by SID), after a read-horizon method.
    Read {
        conversation: String,
        index: Option<i64>,
    },
}

/// The events of one client, in order. Ends when the client has shut down.
pub type Events = EventStream<ClientEvent>;

/// What every handle acts through: the driver's command queue (held weakly, so handles do
/// not keep a client alive that the app has dropped) and the client's objects.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    cmd: mpsc::WeakUnboundedSender<Command>,
    pub(crate) store: Store,
    /// For the media service.
    pub(crate) http: reqwest::Client,
}

impl Link {
    /// What an upload needs of the session, from the driver.
    pub(crate) async fn media(&self) -> Result<crate::media::MediaAccess, ClientError> {
        let cmd = self.cmd.upgrade().ok_or_else(ClientError::gone)?;
        let (reply, answer) = oneshot::channel();
        cmd.send(Command::Media { reply })
            .map_err(|_| ClientError::gone())?;
        drop(cmd);
        answer.await.map_err(|_| ClientError::gone())
    }

    /// Calls a realtime method; see [`Client::request`].
    pub(crate) async fn request(&self, method: &str, params: Value) -> Result<Value, ClientError> {
        let cmd = self.cmd.upgrade().ok_or_else(ClientError::gone)?;
        let (reply, answer) = oneshot::channel();
        cmd.send(Command::Request {
            method: method.to_owned(),
            params,
            reply,
        })
        .map_err(|_| ClientError::gone())?;
        drop(cmd);
        answer.await.map_err(|_| ClientError::gone())?
    }

    /// Calls method `M` of the table (`confab_protocol::method`) with typed params.
    pub(crate) async fn call<M: Method>(
        &self,
        params: M::Params,
    ) -> Result<M::Result, ClientError> {
        let params = serde_json::to_value(params).map_err(|e| ClientError {
            code: confab_protocol::ErrorCode::InvalidParameter.code(),
            message: format!("params of {}: {e}", M::NAME),
        })?;
        let v = self.request(M::NAME, params).await?;
        serde_json::from_value(v).map_err(|e| ClientError {
            code: confab_protocol::ErrorCode::Internal.code(),
            message: format!("unexpected answer to {}: {e}", M::NAME),
        })
    }

    /// Applies what an answer told, through the driver; returns once applied (at once if the
    /// client has stopped).
    pub(crate) async fn apply(&self, update: Update) {
        let Some(cmd) = self.cmd.upgrade() else {
            return;
        };
        let (reply, done) = oneshot::channel();
        if cmd.send(Command::Apply { update, reply }).is_ok() {
            drop(cmd);
            let _ = done.await;
        }
    }

    /// Reads one of the user's conversations (by SID or unique name) into its object.
    pub(crate) async fn summary(
        &self,
        conversation: &str,
    ) -> Result<(ConversationHandle, JoinedConversation), ClientError> {
        let joined = self
            .call::<m::ConversationSummary>(conversation_ref(conversation))
            .await?;
        let sid = joined.conversation.sid.clone();
        self.apply(Update::Summaries(vec![joined.clone()])).await;
        Ok((self.conversation(sid), joined))
    }

    /// The one object of conversation `sid`.
    pub(crate) fn conversation(&self, sid: Sid) -> ConversationHandle {
        self.store.conversation(self, sid)
    }

    /// A user, read from the server; the client follows it from then on.
    pub(crate) async fn user(&self, identity: &str) -> Result<UserHandle, ClientError> {
        let online = self
            .call::<m::UserGet>(m::UserRef {
                identity: Some(identity.to_owned()),
            })
            .await?;
        let info = UserInfo {
            identity: online.user.identity,
            friendly_name: online.user.friendly_name,
            attributes: online.user.attributes,
            is_online: online.is_online,
        };
        Ok(self.store.user(self, &info))
    }

    pub(crate) async fn update_user(
        &self,
        friendly_name: Option<&str>,
        attributes: Option<Value>,
    ) -> Result<User, ClientError> {
        self.call::<m::UserUpdate>(m::UserUpdateParams {
            friendly_name: friendly_name.map(str::to_owned),
            attributes,
        })
        .await
    }

    pub(crate) async fn join(&self, conversation: &str) -> Result<Participant, ClientError> {
        self.call::<m::ConversationJoin>(conversation_ref(conversation))
            .await
    }

    pub(crate) async fn send_message(
        &self,
        conversation: &str,
        body: &str,
        attributes: Option<Value>,
    ) -> Result<Message, ClientError> {
        self.call::<m::MessageSend>(m::MessageSendParams {
            conversation: conversation.to_owned(),
            body: Some(body.to_owned()),
            attributes,
            media: Vec::new(),
        })
        .await
    }

    /// A read-horizon method on `conversation`; the object takes the new horizon. Returns the
    /// unread count it leaves.
    pub(crate) async fn read<M>(
        &self,
        conversation: &str,
        params: M::Params,
    ) -> Result<Option<i64>, ClientError>
    where
        M: Method<Result = m::ReadState>,
    {
        let state = self.call::<M>(params).await?;
        let update = Update::Read {
            conversation: conversation.to_owned(),
            index: state.last_read_message_index,
        };
        self.apply(update).await;
        Ok(state.unread_messages_count)
    }

    pub(crate) fn typing(&self, conversation: &str) {
        if let Some(cmd) = self.cmd.upgrade() {
            let _ = cmd.send(Command::Typing {
                conversation: conversation.to_owned(),
            });
        }
    }
}

/// A Confab client. Cheap to clone; the connection lives until [`Client::shutdown`] or until
/// every clone is dropped (handles on conversations, messages, participants and users do not
/// keep it alive: their calls then fail with 20503).
#[derive(Clone, Debug)]
pub struct Client {
    cmd: mpsc::UnboundedSender<Command>,
    conn: watch::Receiver<ConnectionState>,
    state: watch::Receiver<Option<ClientState>>,
    link: Link,
}

impl Client {
    /// Creates a client and starts connecting in the background (it must be called inside a
    /// tokio runtime). The outcome arrives on the returned [`Events`]: `StateChanged`
    /// (`Initialized` or `Failed`) and `ConnectionStateChanged`.
    pub fn new(token: impl Into<String>, options: ClientOptions) -> (Client, Events) {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (conn_tx, conn_rx) = watch::channel(ConnectionState::Connecting);
        let (state_tx, state_rx) = watch::channel(None);
        let link = Link {
            cmd: cmd_tx.downgrade(),
            store: Store::new(options.cache_capacity),
            http: crate::media::http_client(),
        };
        let driver = Driver::new(
            token.into(),
            options,
            cmd_rx,
            events_tx,
            conn_tx,
            state_tx,
            link.clone(),
        );
        tokio::spawn(driver.run());
        (
            Client {
                cmd: cmd_tx,
                conn: conn_rx,
                state: state_rx,
                link,
            },
            EventStream::new(events_rx),
        )
    }

    /// Temporary content URLs (a few minutes each) of media by SID, asked for at once.
    pub async fn temporary_content_urls(
        &self,
        media_sids: &[impl AsRef<str>],
    ) -> Result<std::collections::HashMap<String, String>, ClientError> {
        let sids: Vec<String> = media_sids.iter().map(|s| s.as_ref().to_owned()).collect();
        self.link.temporary_urls(&sids).await
    }

    /// The connection state now.
    pub fn connection_state(&self) -> ConnectionState {
        *self.conn.borrow()
    }

    /// The client state now (`None` until the first connection succeeds or fails).
    pub fn client_state(&self) -> Option<ClientState> {
        *self.state.borrow()
    }

    /// Watches the connection state.
    pub fn watch_connection_state(&self) -> watch::Receiver<ConnectionState> {
        self.conn.clone()
    }

    /// Watches the client state.
    pub fn watch_client_state(&self) -> watch::Receiver<Option<ClientState>> {
        self.state.clone()
    }

    /// The identity the token carries (`None` until a token has been read, with a token
    /// provider).
    pub fn identity(&self) -> Option<String> {
        self.link.store.identity()
    }

    /// Calls a realtime method (`docs/PROTOCOL.md`) and returns its result. Made while
    /// offline, it waits for the connection (within the request timeout); a mutation carries
    /// an `op_id`, so a resend after a lost link never acts twice.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, ClientError> {
        self.link.request(method, params).await
    }

    /// Creates a conversation (join it to take part).
    pub async fn create_conversation(
        &self,
        friendly_name: Option<&str>,
    ) -> Result<Conversation, ClientError> {
        self.create_conversation_with(friendly_name, None, None)
            .await
    }

    /// Creates a conversation with a friendly name, unique name and attributes.
    pub async fn create_conversation_with(
        &self,
        friendly_name: Option<&str>,
        unique_name: Option<&str>,
        attributes: Option<Value>,
    ) -> Result<Conversation, ClientError> {
        self.link
            .call::<m::ConversationCreate>(m::ConversationFields {
                friendly_name: friendly_name.map(str::to_owned),
                unique_name: unique_name.map(str::to_owned),
                attributes,
            })
            .await
    }

    /// One of the user's conversations, by SID or unique name, read in one request (with the
    /// user's counts and read state) into the client's object for it.
    async fn lookup(&self, conversation: &str) -> Result<ConversationHandle, ClientError> {
        Ok(self.link.summary(conversation).await?.0)
    }

    /// One of the user's conversations by SID (`getConversationBySid`): read from the server
    /// unless the client holds it complete; 20404 if the user is not in it.
    pub async fn conversation_by_sid(
        &self,
        sid: impl AsRef<str>,
    ) -> Result<ConversationHandle, ClientError> {
        if let Some(known) = self.peek_conversation_by_sid(sid.as_ref())
            && known.status() == ConversationStatus::Joined
            && known.cached().is_some()
        {
            return Ok(known);
        }
        self.lookup(sid.as_ref()).await
    }

    /// One of the user's conversations by unique name (`getConversationByUniqueName`),
    /// read from the server; 20404 if there is none the user is in.
    pub async fn conversation_by_unique_name(
        &self,
        unique_name: impl AsRef<str>,
    ) -> Result<ConversationHandle, ClientError> {
        self.lookup(unique_name.as_ref()).await
    }

    /// The client's object for conversation `sid`, if it holds one (`peekConversationBySid`:
    /// no request).
    pub fn peek_conversation_by_sid(&self, sid: impl AsRef<str>) -> Option<ConversationHandle> {
        self.link.store.peek(&self.link, sid.as_ref())
    }

    /// The client's object for conversation `sid`, made if it holds none, without a round
    /// trip (for a conversation the user is about to join, or one it knows from elsewhere);
    /// its fields come with its events, or [`ConversationHandle::fetch`].
    pub fn handle(&self, sid: impl Into<String>) -> ConversationHandle {
        self.link.conversation(Sid::from_trusted(sid.into()))
    }

    /// The user's conversations, from the server, most recently active first (a new
    /// message, or the user's joining, makes a conversation active), `page_size` (1 to 50;
    /// more reads as 50) at a time. The objects are updated too.
    pub async fn subscribed_conversations(
        &self,
        page_size: u32,
    ) -> Result<Paginator<ConversationHandle>, ClientError> {
        let params = m::ConversationPage {
            page_size: Some(page_size),
            order: Some("recent".into()),
            ..Default::default()
        };
        conversation_page(self.link.clone(), params).await
    }

    /// The user's conversations the client holds (every one, once the background walk of
    /// the listing is done), most recently active first; no request.
    pub fn conversations(&self) -> Vec<ConversationHandle> {
        self.link.store.joined(&self.link)
    }

    /// A user: the client's own, or one that shares a conversation with it (anyone else is
    /// unknown, 20404), with its reachability. The client then follows it (at most
    /// [`ClientOptions::cache_capacity`] users) and updates it in place.
    pub async fn user(&self, identity: impl AsRef<str>) -> Result<UserHandle, ClientError> {
        self.link.user(identity.as_ref()).await
    }

    /// The client's own user (`client.user`).
    pub async fn own_user(&self) -> Result<UserHandle, ClientError> {
        let identity = self
            .identity()
            .ok_or_else(|| ClientError::invalid("the client has no token with an identity yet"))?;
        self.user(identity).await
    }

    /// The users the client follows (looked up, or heard from through `UserUpdated`), most
    /// recently touched first.
    pub fn subscribed_users(&self) -> Vec<UserHandle> {
        self.link.store.users(&self.link)
    }

    /// Joins a conversation as the client's identity.
    pub async fn join(&self, conversation: impl AsRef<str>) -> Result<Participant, ClientError> {
        self.link.join(conversation.as_ref()).await
    }

    /// Sends a text message; resolves with the stored message (its `index`) once committed.
    /// The sender also gets its `MessageAdded`, once.
    pub async fn send_message(
        &self,
        conversation: impl AsRef<str>,
        body: &str,
    ) -> Result<Message, ClientError> {
        self.link
            .send_message(conversation.as_ref(), body, None)
            .await
    }

    /// Changes the user's own friendly name and attributes (JSON); the users who share a
    /// conversation with it hear `UserUpdated`.
    pub async fn update_user(
        &self,
        friendly_name: Option<&str>,
        attributes: Option<Value>,
    ) -> Result<User, ClientError> {
        self.link.update_user(friendly_name, attributes).await
    }

    /// Sets the user's read horizon in a conversation to message `index` (clamped to the
    /// last message); returns the unread count it leaves (`None` without a horizon).
    pub async fn set_last_read(
        &self,
        conversation: impl AsRef<str>,
        index: i64,
    ) -> Result<Option<i64>, ClientError> {
        self.link
            .read::<m::ConversationSetLastRead>(
                conversation.as_ref(),
                read_index(conversation.as_ref(), index),
            )
            .await
    }

    /// Moves the read horizon forward to `index`, never back.
    pub async fn advance_last_read(
        &self,
        conversation: impl AsRef<str>,
        index: i64,
    ) -> Result<Option<i64>, ClientError> {
        self.link
            .read::<m::ConversationAdvanceLastRead>(
                conversation.as_ref(),
                read_index(conversation.as_ref(), index),
            )
            .await
    }

    /// Marks every message read.
    pub async fn set_all_read(
        &self,
        conversation: impl AsRef<str>,
    ) -> Result<Option<i64>, ClientError> {
        self.link
            .read::<m::ConversationSetAllRead>(
                conversation.as_ref(),
                conversation_ref(conversation.as_ref()),
            )
            .await
    }

    /// Clears the read horizon (nothing read).
    pub async fn set_all_unread(
        &self,
        conversation: impl AsRef<str>,
    ) -> Result<Option<i64>, ClientError> {
        self.link
            .read::<m::ConversationSetAllUnread>(
                conversation.as_ref(),
                conversation_ref(conversation.as_ref()),
            )
            .await
    }

    /// Takes a new token: renewed in place on a live connection (no reconnect, no lost
    /// event); on a disconnected, denied or failed client it starts a new connection. The new
    /// token must carry the same identity (else 20106).
    pub async fn update_token(&self, token: impl Into<String>) -> Result<(), ClientError> {
        let (reply, answer) = oneshot::channel();
        self.cmd
            .send(Command::UpdateToken {
                token: token.into(),
                reply,
            })
            .map_err(|_| ClientError::gone())?;
        answer.await.map_err(|_| ClientError::gone())?
    }

    /// Tells the conversation's other participants that the user is typing (call it on
    /// keystrokes; the indicator ends by itself a few seconds after the last call, or when
    /// a message is sent). Dropped while offline: a late typing signal means nothing.
    pub fn typing(&self, conversation: impl AsRef<str>) {
        self.link.typing(conversation.as_ref());
    }

    /// Tries again now with a fresh reconnection window (after `Disconnected`, or to cut a
    /// backoff short).
    pub fn reconnect(&self) {
        let _ = self.cmd.send(Command::Reconnect);
    }

    /// Disconnects for good (`Disconnecting`, then `Disconnected`); pending requests fail.
    /// Returns once the client has stopped.
    pub async fn shutdown(&self) {
        let (reply, done) = oneshot::channel();
        if self.cmd.send(Command::Shutdown { reply }).is_ok() {
            let _ = done.await;
        }
    }
}

/// A page of the user's conversations (most recent first), with the step to the next.
fn conversation_page(
    link: Link,
    params: m::ConversationPage,
) -> BoxFuture<'static, Result<Paginator<ConversationHandle>, ClientError>> {
    Box::pin(async move {
        let page = link.call::<m::ConversationsList>(params.clone()).await?;
        let items = page
            .items
            .iter()
            .map(|j| link.conversation(j.conversation.sid.clone()))
            .collect();
        link.apply(Update::Summaries(page.items)).await;
        let next = page
            .next_page_token
            .map(|token| -> Step<ConversationHandle> {
                let mut params = params.clone();
                params.page_token = Some(token);
                Arc::new(move || conversation_page(link.clone(), params.clone()))
            });
        Ok(Paginator::new(items, next, None))
    })
}

/// A conversation's params, by SID or unique name.
pub(crate) fn conversation_ref(conversation: &str) -> m::ConversationRef {
    m::ConversationRef {
        conversation: conversation.to_owned(),
    }
}

pub(crate) fn read_index(conversation: &str, index: i64) -> m::ReadIndex {
    m::ReadIndex {
        conversation: conversation.to_owned(),
        index,
    }
}
