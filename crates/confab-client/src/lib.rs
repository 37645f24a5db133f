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
//! The SDK has the object model of the JavaScript SDK (and of `@twilio/conversations`), in
//! Rust's idiom: one object per conversation ([`ConversationHandle`]), message
//! ([`MessageHandle`]), participant ([`ParticipantHandle`]) and user ([`UserHandle`]),
//! whichever way the app reaches it (an event, a lookup such as
//! [`Client::conversation_by_sid`], a page), updated in place. A handle reads its state
//! (`snapshot()` and getters), acts on its entity, and has a stream of the entity's own events
//! (`events()`); each `…Updated` event carries its reasons ([`ConversationUpdateReason`],
//! ...). Listings come as [`Paginator`]s: [`Client::subscribed_conversations`] by last
//! activity, and [`ConversationHandle::messages`] from an anchor, each page of messages oldest
//! first with the pages on either side.
//!
//! All decisions (states, deadlines, backoff, cursors, de-duplication) are made by
//! `confab-client-core`; this crate only moves bytes and time and keeps the objects: `driver`
//! pumps the core with a WebSocket (tokio-tungstenite) and tokio timers, `store` turns each
//! core output into events on the objects it keeps (`entity` is one object and its streams;
//! `snapshot` what a conversation holds), `client` is the API the app holds, and
//! `conversation`, `message`, `participant`, `user` and `paginator` the handles and pages.

mod client;
mod conversation;
mod driver;
mod entity;
mod events;
mod media;
mod message;
mod options;
mod paginator;
mod participant;
mod snapshot;
mod store;
mod user;

pub use client::{Client, ClientError, Events};
pub use confab_client_core::{ClientState, ConnectionState};
pub use confab_protocol::entity::MessageMedia;
pub use confab_protocol::entity::{Conversation, Message, NotificationLevel, Participant, User};
pub use confab_protocol::event::UserInfo;
pub use confab_protocol::sid::Sid;
pub use conversation::{
    ConversationEvents, ConversationHandle, ConversationSummary, Direction, MessageBuilder,
};
pub use entity::EventStream;
pub use events::ClientEvent;
pub use media::{MediaCategory, MediaLimits, MediaUpload, MessageType};
pub use message::{MessageEvent, MessageHandle, MessageUpdateReason};
pub use options::{ClientOptions, LogLevel, TokenProvider};
pub use paginator::Paginator;
pub use participant::{ParticipantEvent, ParticipantHandle, ParticipantUpdateReason};
pub use snapshot::{
    ConversationSnapshot, ConversationStatus, ConversationUpdateReason, LastMessage,
};
pub use user::{UserEvent, UserHandle, UserUpdateReason};
