//! The handle an app holds: requests and token renewal go to the driver task as commands,
//! states come back through watch channels, events through [`Events`].

use confab_client_core::{ClientState, ConnectionState};
use confab_protocol::entity::{Conversation, Message, Participant, User};
use confab_protocol::event::UserInfo;
use confab_protocol::method::{self as m, Method};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use crate::cache::Cache;
use crate::conversation::{ConversationEvents, ConversationHandle, ConversationSummary, Paginator};
use crate::driver::Driver;
use crate::events::ClientEvent;
use crate::options::ClientOptions;

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
}

/// The events of one client, in order. Ends when the client has shut down.
#[derive(Debug)]
pub struct Events {
    pub(crate) rx: mpsc::UnboundedReceiver<ClientEvent>,
}

impl Events {
    /// The next event; `None` once the client is gone.
    pub async fn next(&mut self) -> Option<ClientEvent> {
        self.rx.recv().await
    }
}

/// A Confab client. Cheap to clone; the connection lives until [`Client::shutdown`] or until
/// every clone is dropped.
#[derive(Clone, Debug)]
pub struct Client {
    cmd: mpsc::UnboundedSender<Command>,
    conn: watch::Receiver<ConnectionState>,
    state: watch::Receiver<Option<ClientState>>,
    cache: Cache,
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
        let cache = Cache::new(options.cache_capacity);
        let driver = Driver::new(
            token.into(),
            options,
            cmd_rx,
            events_tx,
            conn_tx,
            state_tx,
            cache.clone(),
        );
        tokio::spawn(driver.run());
        (
            Client {
                cmd: cmd_tx,
                conn: conn_rx,
                state: state_rx,
                cache,
            },
            Events { rx: events_rx },
        )
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

    /// Calls a realtime method (`docs/PROTOCOL.md`) and returns its result. Made while
    /// offline, it waits for the connection (within the request timeout); a mutation carries
    /// an `op_id`, so a resend after a lost link never acts twice.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.cmd
            .send(Command::Request {
                method: method.to_owned(),
                params,
                reply,
            })
            .map_err(|_| ClientError::gone())?;
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
        self.call::<m::ConversationCreate>(m::ConversationFields {
            friendly_name: friendly_name.map(str::to_owned),
            unique_name: unique_name.map(str::to_owned),
            attributes,
        })
        .await
    }

    /// Fetches a conversation by SID or unique name (the user must be a participant).
    pub async fn conversation(
        &self,
        sid_or_name: impl AsRef<str>,
    ) -> Result<Conversation, ClientError> {
        let c = self
            .call::<m::ConversationGet>(conversation_ref(sid_or_name.as_ref()))
            .await?;
        self.cache.put_conversation(&c);
        Ok(c)
    }

    /// A handle on a conversation by SID or unique name, for every operation on it and its
    /// own events. Fetches it once (the user must be a participant).
    pub async fn conversation_handle(
        &self,
        sid_or_name: impl AsRef<str>,
    ) -> Result<ConversationHandle, ClientError> {
        let c = self.conversation(sid_or_name).await?;
        Ok(self.handle(c.sid.as_str()))
    }

    /// A handle on a conversation by SID, without a round trip (for a conversation the
    /// user is about to join, or one it knows from an event).
    pub fn handle(&self, sid: impl Into<String>) -> ConversationHandle {
        ConversationHandle {
            client: self.clone(),
            sid: sid.into(),
        }
    }

    /// The user's conversations, most recently active first (a new message, or the user's
    /// joining, makes a conversation active), `page_size` (1 to 50; more reads as 50) at a time.
    pub async fn subscribed_conversations(
        &self,
        page_size: u32,
    ) -> Result<Paginator<ConversationSummary>, ClientError> {
        let params = m::ConversationPage {
            page_size: Some(page_size),
            order: Some("recent".into()),
            ..Default::default()
        };
        let page: Paginator<ConversationSummary> =
            Paginator::first::<m::ConversationsList>(self, params).await?;
        for s in &page.items {
            self.cache.put_conversation(&s.conversation);
        }
        Ok(page)
    }

    /// The conversations the client holds in its cache (at most
    /// [`ClientOptions::cache_capacity`]), most recently heard of first: the first page at
    /// initialization, then every conversation it hears of.
    pub fn cached_conversations(&self) -> Vec<Conversation> {
        self.cache.conversations()
    }

    /// A user: the client's own, or one that shares a conversation with it (anyone else is
    /// unknown, 20404), with its reachability. The client then keeps it among
    /// [`Client::subscribed_users`] and updates it from `UserUpdated`.
    pub async fn user(&self, identity: impl AsRef<str>) -> Result<UserInfo, ClientError> {
        let online = self
            .call::<m::UserGet>(m::UserRef {
                identity: Some(identity.as_ref().to_owned()),
            })
            .await?;
        let info = UserInfo {
            identity: online.user.identity,
            friendly_name: online.user.friendly_name,
            attributes: online.user.attributes,
            is_online: online.is_online,
        };
        self.cache.put_user(&info);
        Ok(info)
    }

    /// The users the client has looked up or heard from (`UserUpdated`), most recent first,
    /// as last heard (at most [`ClientOptions::cache_capacity`]).
    pub fn subscribed_users(&self) -> Vec<UserInfo> {
        self.cache.users()
    }

    pub(crate) fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The events of one conversation, from now on.
    pub(crate) fn watch_conversation(&self, sid: &str) -> ConversationEvents {
        ConversationEvents {
            rx: self.cache.watch(sid),
        }
    }

    /// Joins a conversation as the client's identity.
    pub async fn join(&self, conversation: impl AsRef<str>) -> Result<Participant, ClientError> {
        self.call::<m::ConversationJoin>(conversation_ref(conversation.as_ref()))
            .await
    }

    /// Sends a text message; resolves with the stored message (its `index`) once committed.
    /// The sender also gets its `MessageAdded`, once.
    pub async fn send_message(
        &self,
        conversation: impl AsRef<str>,
        body: &str,
    ) -> Result<Message, ClientError> {
        self.call::<m::MessageSend>(m::MessageSendParams {
            conversation: conversation.as_ref().to_owned(),
            body: Some(body.to_owned()),
            attributes: None,
        })
        .await
    }

    /// Changes the user's own friendly name and attributes (JSON); the users who share a
    /// conversation with it hear `UserUpdated`.
    pub async fn update_user(
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

    /// Sets the user's read horizon in a conversation to message `index` (clamped to the
    /// last message); returns the unread count it leaves (`None` without a horizon).
    pub async fn set_last_read(
        &self,
        conversation: impl AsRef<str>,
        index: i64,
    ) -> Result<Option<i64>, ClientError> {
        let state = self
            .call::<m::ConversationSetLastRead>(read_index(conversation.as_ref(), index))
            .await?;
        Ok(state.unread_messages_count)
    }

    /// Moves the read horizon forward to `index`, never back.
    pub async fn advance_last_read(
        &self,
        conversation: impl AsRef<str>,
        index: i64,
    ) -> Result<Option<i64>, ClientError> {
        let state = self
            .call::<m::ConversationAdvanceLastRead>(read_index(conversation.as_ref(), index))
            .await?;
        Ok(state.unread_messages_count)
    }

    /// Marks every message read.
    pub async fn set_all_read(
        &self,
        conversation: impl AsRef<str>,
    ) -> Result<Option<i64>, ClientError> {
        let state = self
            .call::<m::ConversationSetAllRead>(conversation_ref(conversation.as_ref()))
            .await?;
        Ok(state.unread_messages_count)
    }

    /// Clears the read horizon (nothing read).
    pub async fn set_all_unread(
        &self,
        conversation: impl AsRef<str>,
    ) -> Result<Option<i64>, ClientError> {
        let state = self
            .call::<m::ConversationSetAllUnread>(conversation_ref(conversation.as_ref()))
            .await?;
        Ok(state.unread_messages_count)
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
        let _ = self.cmd.send(Command::Typing {
            conversation: conversation.as_ref().to_owned(),
        });
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

/// A conversation's params, by SID or unique name.
pub(crate) fn conversation_ref(conversation: &str) -> m::ConversationRef {
    m::ConversationRef {
        conversation: conversation.to_owned(),
    }
}

fn read_index(conversation: &str, index: i64) -> m::ReadIndex {
    m::ReadIndex {
        conversation: conversation.to_owned(),
        index,
    }
}
