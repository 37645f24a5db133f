//! The Confab Rust SDK.
//!
//! ```no_run
//! # async fn demo(token: String) -> Result<(), confab_client::ClientError> {
//! use confab_client::{Client, ClientEvent, ClientOptions, ClientState};
//! let (client, mut events) = Client::new(token, ClientOptions::new("ws://127.0.0.1:8080"));
//! while let Some(event) = events.next().await {
//!     if let ClientEvent::StateChanged(ClientState::Initialized) = event {
//!         let conversation = client.create_conversation(Some("team")).await?;
//!         client.join(&conversation.sid).await?;
//!         client.send_message(&conversation.sid, "hello").await?;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! [`Client::new`] returns at once and connects in the background, like `new Client(token)` in
//! the browser; what happens arrives as [`ClientEvent`]s: `StateChanged` (`Initialized` or
//! `Failed`), `ConnectionStateChanged`, token warnings, and the conversation events, each
//! exactly once and in order across reconnects. The current states can also be read and
//! watched ([`Client::connection_state`], [`Client::watch_connection_state`]).
//!
//! Each conversation has a [`ConversationHandle`] ([`Client::conversation_handle`]) with
//! every operation on it and a stream of its own events; listings come as [`Paginator`]s
//! ([`Client::subscribed_conversations`] by last activity, [`ConversationHandle::messages`]
//! from an anchor).
//!
//! All decisions (states, deadlines, backoff, cursors, de-duplication) are made by
//! `confab-client-core`; this crate only moves bytes and time: `driver` pumps the core with
//! a WebSocket (tokio-tungstenite) and tokio timers, `client` is the API the app holds,
//! `conversation` its handles and pages, and `cache` the bounded cache of conversations and
//! users (and the per-conversation event streams) the driver keeps up to date.

mod cache;
mod client;
mod conversation;
mod driver;
mod events;
mod options;

pub use client::{Client, ClientError, Events};
pub use confab_client_core::{ClientState, ConnectionState};
pub use confab_protocol::entity::{Conversation, Message, Participant, User};
pub use confab_protocol::event::{Horizon, Membership, Typing, UserInfo};
pub use confab_protocol::sid::Sid;
pub use conversation::{
    ConversationEvents, ConversationHandle, ConversationSummary, Direction, Paginator,
};
pub use events::ClientEvent;
pub use options::{ClientOptions, LogLevel, TokenProvider};
